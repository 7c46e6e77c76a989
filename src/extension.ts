/** PrefLens extension entry: wires the features, nothing else. */
import * as vscode from 'vscode';
import { DatasetManager, isCandidateFile } from './host/datasets.js';
import { WorkerClient } from './host/workerClient.js';
import { StatusBar } from './host/statusBar.js';
import { Diagnostics } from './host/diagnostics.js';
import { HoverProvider } from './host/hover.js';
import { DatasetsView } from './host/datasetsView.js';
import { InspectorProvider, INSPECTOR_VIEW_TYPE } from './host/inspector.js';
import { FORMAT_NAMES, type CheckName, type FormatName, CHECK_NAMES } from './core/types.js';
import { describeFormat } from './core/formats/normalize.js';

function toUri(v: unknown): vscode.Uri | undefined {
  if (v instanceof vscode.Uri) return v;
  if (typeof v === 'string') {
    try {
      return vscode.Uri.parse(v, true);
    } catch {
      return undefined;
    }
  }
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom) return tab.uri;
  return vscode.window.activeTextEditor?.document.uri;
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PrefLens');
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath);
  const datasets = new DatasetManager(worker, context.workspaceState, log);
  const inspector = new InspectorProvider(context.extensionUri, datasets, worker);
  const view = new DatasetsView(datasets);
  context.subscriptions.push(
    log,
    { dispose: () => worker.dispose() },
    datasets,
    new StatusBar(datasets),
    new Diagnostics(datasets),
    view,
    vscode.window.registerTreeDataProvider('preflens.datasets', view),
    vscode.languages.registerHoverProvider([{ scheme: 'file', pattern: '**/*.{jsonl,json,ndjson}' }], new HoverProvider(datasets)),
    vscode.window.registerCustomEditorProvider(INSPECTOR_VIEW_TYPE, inspector, {
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: false,
    }),
    vscode.commands.registerCommand('preflens.openInspector', async (arg?: unknown, check?: unknown, index?: unknown) => {
      const uri = toUri(arg);
      if (!uri || !isCandidateFile(uri)) {
        void vscode.window.showInformationMessage('PrefLens: open a .jsonl or .json preference file first.');
        return;
      }
      const c = typeof check === 'string' && (CHECK_NAMES as readonly string[]).includes(check) ? (check as CheckName) : undefined;
      await inspector.open(uri, c, typeof index === 'number' ? index : undefined);
    }),
    vscode.commands.registerCommand('preflens.rescan', async (arg?: unknown) => {
      const uri = toUri(arg);
      if (uri && isCandidateFile(uri)) await datasets.rescan(uri);
    }),
    vscode.commands.registerCommand('preflens.setFormat', async (arg?: unknown) => {
      const uri = toUri(arg);
      if (!uri || !isCandidateFile(uri)) return;
      const current = datasets.formatOverride(uri);
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'Detect automatically', format: undefined as FormatName | undefined, description: current ? '' : '(current)' },
          ...FORMAT_NAMES.map((f) => ({ label: f, format: f as FormatName | undefined, description: `${describeFormat(f)}${current === f ? ' (current)' : ''}` })),
        ],
        { title: 'PrefLens: format of this file' },
      );
      if (pick) await datasets.setFormatOverride(uri, pick.format);
    }),
  );
}

export function deactivate(): void {}
