/** The Datasets view of the PrefLens sidebar: open preference files and their summaries. */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import type { Dataset, DatasetManager } from './datasets.js';
import { CHECK_DESCRIPTIONS, CHECK_NAMES, type CheckName } from '../core/checks/table.js';

type Node = { kind: 'dataset'; d: Dataset } | { kind: 'check'; d: Dataset; check: CheckName; count: number } | { kind: 'info'; d: Dataset; label: string; description?: string };

export class DatasetsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly datasets: DatasetManager) {
    this.sub = datasets.onDidChange(() => this.emitter.fire(undefined));
  }

  getChildren(n?: Node): Node[] {
    if (!n) return this.datasets.all().map((d) => ({ kind: 'dataset', d }));
    if (n.kind !== 'dataset') return [];
    const d = n.d;
    if (!d.result) return [{ kind: 'info', d, label: d.state === 'failed' ? `cannot read: ${d.error}` : 'scanning…' }];
    const r = d.result;
    const out: Node[] = [
      { kind: 'info', d, label: 'format', description: `${r.format} (${r.formatSource})` },
      { kind: 'info', d, label: 'records', description: r.records.toLocaleString('en-US') },
    ];
    if (r.lengths.chosenLongerShare !== null) out.push({ kind: 'info', d, label: 'chosen longer', description: `${(r.lengths.chosenLongerShare * 100).toFixed(1)}% of pairs` });
    if (r.errorCount) out.push({ kind: 'info', d, label: d.unit === 'row' ? 'unreadable rows' : 'malformed lines', description: String(r.errorCount) });
    // a Parquet file has no lines for the Problems panel: its unreadable rows are listed here (the first ten)
    if (d.unit === 'row') for (const e of r.errors.slice(0, 10)) out.push({ kind: 'info', d, label: `row ${e.line}`, description: e.message });
    for (const c of CHECK_NAMES) {
      const count = r.checks[c].length;
      if (count) out.push({ kind: 'check', d, check: c, count });
    }
    return out;
  }

  getTreeItem(n: Node): vscode.TreeItem {
    if (n.kind === 'dataset') {
      const item = new vscode.TreeItem(n.d.name, vscode.TreeItemCollapsibleState.Expanded);
      item.resourceUri = n.d.uri;
      item.description = n.d.result ? `${n.d.formatLabel} · ${n.d.result.records.toLocaleString('en-US')} records · ${n.d.problemCount} problems` : n.d.state;
      item.tooltip = n.d.uri.fsPath;
      item.contextValue = 'preflens.dataset';
      item.iconPath = new vscode.ThemeIcon('database');
      item.command = { command: Command.openInspector, title: 'Open Inspector', arguments: [n.d.uri] };
      return item;
    }
    if (n.kind === 'check') {
      const item = new vscode.TreeItem(n.check, vscode.TreeItemCollapsibleState.None);
      item.description = `${n.count} ${n.d.unit}${n.count === 1 ? '' : 's'}`;
      item.tooltip = CHECK_DESCRIPTIONS[n.check];
      item.iconPath = new vscode.ThemeIcon('warning');
      item.command = { command: Command.openInspector, title: 'Show in Inspector', arguments: [n.d.uri, n.check] };
      return item;
    }
    const item = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
    item.description = n.description;
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}
