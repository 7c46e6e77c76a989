/** Status-bar item for the active preference file: "HH pairs · 1,800 records · 30 problems". */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import type { Dataset, DatasetManager } from './datasets.js';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('preflens.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly datasets: DatasetManager) {
    this.item.name = 'PrefLens';
    this.subs.push(
      datasets.onDidChange(() => this.update()),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.window.tabGroups.onDidChangeTabs(() => this.update()),
    );
    this.update();
  }

  private activeUri(): vscode.Uri | undefined {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    const input = tab?.input;
    if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
    return vscode.window.activeTextEditor?.document.uri;
  }

  update(): void {
    const uri = this.activeUri();
    const d: Dataset | undefined = uri ? this.datasets.get(uri) : undefined;
    if (!d || d.state === 'not-preference') {
      this.item.hide();
      return;
    }
    if (d.state === 'scanning' && d.result?.partial) {
      this.item.text = `$(sync~spin) ${d.formatLabel} · ${d.result.records.toLocaleString('en-US')}+ records · scanning ${Math.round(d.progress * 100)}%`;
      this.item.tooltip = `PrefLens: the first ${d.result.records.toLocaleString('en-US')} records are ready; indexing the rest of ${d.name}`;
      this.item.command = { command: Command.openInspector, title: 'Open Inspector', arguments: [d.uri] };
    } else if (d.state === 'scanning') {
      this.item.text = `$(sync~spin) PrefLens: scanning ${Math.round(d.progress * 100)}%`;
      this.item.tooltip = `Indexing ${d.name} and running the dataset checks`;
      this.item.command = undefined;
    } else if (d.state === 'failed') {
      this.item.text = '$(error) PrefLens: cannot read file';
      this.item.tooltip = d.error ?? '';
      this.item.command = undefined;
    } else if (d.result) {
      const n = d.problemCount;
      this.item.text = `$(preview) ${d.formatLabel} · ${d.result.records.toLocaleString('en-US')} records · ${n.toLocaleString('en-US')} problem${n === 1 ? '' : 's'}`;
      this.item.tooltip = new vscode.MarkdownString(
        `**PrefLens** — ${d.name}\n\nformat \`${d.result.format}\` (${d.result.formatSource}), ${d.result.records.toLocaleString('en-US')} records, ${d.result.errorCount} malformed lines.\n\nClick to open the inspector.`,
      );
      this.item.command = { command: Command.openInspector, title: 'Open Inspector', arguments: [d.uri] };
    }
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}
