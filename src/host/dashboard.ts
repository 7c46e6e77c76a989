/** Margin dashboard panel: aggregates the scored records of a file (host side) and lets the webview draw them. */
import * as vscode from 'vscode';
import type { ScoreStore } from './scores.js';
import type { HeatmapPanel } from './heatmap.js';
import { revealLine } from './recordText.js';
import { parseDashboardRequest, type DashboardEvent } from '../protocol/dashboard.js';
import { createPanel } from './webviewHtml.js';
import { Command } from './commands.js';
import { columns, histogram, summarize } from '../core/metrics/dashboard.js';
import { FLAG_INFO } from '../core/metrics/pair.js';

export class DashboardPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private uri: vscode.Uri | null = null;
  private readonly sub: vscode.Disposable;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ScoreStore,
    private readonly heatmap: HeatmapPanel,
  ) {
    this.sub = store.onDidChange((u) => {
      if (this.panel && this.uri && u.toString() === this.uri.toString()) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.send(), 400);
      }
    });
  }

  open(uri: vscode.Uri): void {
    this.uri = uri;
    if (!this.panel) {
      const p = createPanel(this.extensionUri, 'preflens.dashboard', 'PrefLens Margins', vscode.ViewColumn.Active, 'dashboard');
      p.webview.onDidReceiveMessage((m: unknown) => {
        const req = parseDashboardRequest(m);
        if (!req || !this.uri) return;
        if (req.type === 'ready') this.send();
        else if (req.type === 'export') void vscode.commands.executeCommand(Command.exportFiltered, this.uri);
        else {
          const uri = this.uri;
          void this.heatmap.open(uri, req.line, req.sub).then(() => revealLine(uri, req.line));
        }
      });
      p.onDidDispose(() => (this.panel = null));
      this.panel = p;
    } else this.panel.reveal();
    this.panel.title = `Margins · ${uri.path.split('/').pop()}`;
    this.send();
  }

  private send(): void {
    if (!this.panel || !this.uri) return;
    const c = columns(this.store.all(this.uri));
    const ev: DashboardEvent = {
      type: 'data',
      file: this.uri.path.split('/').pop() ?? '',
      columns: c,
      summary: summarize(c),
      histograms: {
        margin: histogram(c.margin),
        chosenReward: histogram(c.chosenReward),
        rejectedReward: histogram(c.rejectedReward),
        chosenShift: histogram(c.chosenShift),
        rejectedShift: histogram(c.rejectedShift),
      },
      flagInfo: FLAG_INFO,
    };
    void this.panel.webview.postMessage(ev);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.sub.dispose();
    this.panel?.dispose();
  }
}
