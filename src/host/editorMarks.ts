/**
 * Editor integration for scored records: a CodeLens above wrong-way pairs (margin < 0) that opens the heatmap,
 * and a gutter / overview-ruler mark on those lines. Both can be turned off (preflens.codeLens,
 * preflens.gutterMarks).
 */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import type { ScoreStore } from './scores.js';

export class WrongWayMarks implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;
  private readonly deco: vscode.TextEditorDecorationType;
  private readonly subs: vscode.Disposable[] = [];

  constructor(extensionUri: vscode.Uri, private readonly store: ScoreStore) {
    this.deco = vscode.window.createTextEditorDecorationType({
      gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', 'wrong-way.svg'),
      gutterIconSize: 'contain',
      overviewRulerColor: new vscode.ThemeColor('editorError.foreground'),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
    });
    this.subs.push(
      store.onDidChange(() => {
        this.emitter.fire();
        this.decorateAll();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorateAll()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('preflens')) {
          this.emitter.fire();
          this.decorateAll();
        }
      }),
    );
  }

  private wrongWay(uri: vscode.Uri): Array<{ line: number; sub: number; margin: number }> {
    return this.store
      .all(uri)
      .filter((r) => r.margin !== undefined && r.margin < 0)
      .map((r) => ({ line: r.line, sub: r.sub ?? 0, margin: r.margin ?? 0 }));
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('preflens').get<boolean>('codeLens', true)) return [];
    return this.wrongWay(doc.uri)
      .filter((w) => w.line - 1 < doc.lineCount)
      .map(
        (w) =>
          new vscode.CodeLens(new vscode.Range(w.line - 1, 0, w.line - 1, 0), {
            title: `$(arrow-swap) PrefLens: wrong-way pair (margin ${w.margin.toFixed(3)}) · open heatmap`,
            command: Command.openHeatmap,
            arguments: [doc.uri.toString(), w.line, w.sub],
          }),
      );
  }

  private decorateAll(): void {
    const on = vscode.workspace.getConfiguration('preflens').get<boolean>('gutterMarks', true);
    for (const ed of vscode.window.visibleTextEditors) {
      const ranges = on ? this.wrongWay(ed.document.uri).filter((w) => w.line - 1 < ed.document.lineCount).map((w) => new vscode.Range(w.line - 1, 0, w.line - 1, 0)) : [];
      ed.setDecorations(this.deco, ranges);
    }
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
    this.deco.dispose();
    this.emitter.dispose();
  }
}
