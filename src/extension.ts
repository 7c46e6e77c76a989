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
import { Models } from './host/models.js';
import { ScoreStore, Scorer } from './host/scores.js';
import { HeatmapPanel } from './host/heatmap.js';
import { DashboardPanel } from './host/dashboard.js';
import { WrongWayMarks } from './host/editorMarks.js';
import { exportFiltered } from './host/export.js';
import { recordAtLine } from './core/records.js';
import { join } from 'node:path';
import { Runs } from './host/runs.js';

/** The preference file the user worked on last (webview panels have no URI of their own). */
let lastPreferenceUri: vscode.Uri | undefined;

function trackActive(): void {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : vscode.window.activeTextEditor?.document.uri;
  if (uri && isCandidateFile(uri)) lastPreferenceUri = uri;
}

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
  if ((tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom) && isCandidateFile(tab.uri)) return tab.uri;
  const ed = vscode.window.activeTextEditor?.document.uri;
  if (ed && isCandidateFile(ed)) return ed;
  return lastPreferenceUri;
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PrefLens');
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath);
  const datasets = new DatasetManager(worker, context.workspaceState, log);
  const inspector = new InspectorProvider(context.extensionUri, datasets, worker);
  const view = new DatasetsView(datasets);
  const models = new Models();
  const store = new ScoreStore();
  const cacheDir = join(context.globalStorageUri.fsPath, 'cache');
  const distDir = vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath;
  const scorer = new Scorer(distDir, cacheDir, store, models, datasets, log);
  const heatmap = new HeatmapPanel(context.extensionUri, cacheDir, datasets, models, store);
  const dashboard = new DashboardPanel(context.extensionUri, store, heatmap);
  const marks = new WrongWayMarks(context.extensionUri, store);
  const runs = new Runs(context.extensionUri, cacheDir, models);
  // After a file changes on disk and is re-indexed, scores of records whose text changed are discarded.
  context.subscriptions.push(
    datasets.onDidChange((d) => {
      if (d.state === 'ready') {
        const n = store.revalidate(d.uri, (line, sub) => scorer.currentHash(d.uri, line, sub));
        if (n) log.appendLine(`${d.path}: ${n} scored records changed on disk; their numbers were discarded`);
      }
    }),
  );
  trackActive();
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(() => trackActive()),
    vscode.window.tabGroups.onDidChangeTabs(() => trackActive()),
    log,
    { dispose: () => worker.dispose() },
    datasets,
    new StatusBar(datasets),
    new Diagnostics(datasets),
    view,
    vscode.window.registerTreeDataProvider('preflens.datasets', view),
    vscode.languages.registerHoverProvider([{ scheme: 'file', pattern: '**/*.{jsonl,json,ndjson}' }], new HoverProvider(datasets, store)),
    models,
    store,
    heatmap,
    dashboard,
    marks,
    vscode.window.registerTreeDataProvider('preflens.models', models),
    runs,
    vscode.window.registerTreeDataProvider('preflens.runs', runs),
    vscode.commands.registerCommand('preflens.openRun', async (arg?: unknown) => {
      let dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
      if (!dir) {
        const pick = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'PrefLens: training output folder' });
        dir = pick?.[0]?.fsPath;
      }
      if (dir) runs.openRun(dir);
    }),
    vscode.commands.registerCommand('preflens.refreshRuns', () => runs.refresh()),
    vscode.languages.registerCodeLensProvider([{ scheme: 'file', pattern: '**/*.{jsonl,json,ndjson}' }], marks),
    vscode.commands.registerCommand('preflens.selectModels', () => models.select()),
    vscode.commands.registerCommand('preflens.scoreRecords', async (arg?: unknown, scope?: unknown) => {
      const uri = toUri(arg);
      if (!uri || !isCandidateFile(uri)) {
        void vscode.window.showInformationMessage('PrefLens: open a preference file first.');
        return;
      }
      const d = datasets.get(uri) ?? (await datasets.open(uri));
      const ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
      let lines: [number, number] | undefined;
      let pick = typeof scope === 'string' ? scope : undefined;
      if (!pick) {
        const options = ['Whole file'];
        if (ed && !ed.selection.isEmpty) options.push('Selected lines');
        if (ed) options.push('Current record');
        pick = options.length === 1 ? 'Whole file' : await vscode.window.showQuickPick(options, { title: 'PrefLens: score which records?' });
      }
      if (!pick) return;
      if (/^\d+-\d+$/.test(pick)) lines = pick.split('-').map(Number) as [number, number];
      else if (pick === 'Selected lines' && ed) lines = [ed.selection.start.line + 1, ed.selection.end.line + 1];
      else if (pick === 'Current record' && ed) {
        const cur = ed.selection.active.line + 1;
        const i = d?.result ? recordAtLine(d.result.index, cur) : -1;
        const line = i >= 0 && d?.result ? d.result.index.line[i] : cur;
        lines = [line, line];
      }
      await scorer.score(uri, lines);
    }),
    vscode.commands.registerCommand('preflens.openHeatmap', async (arg?: unknown, line?: unknown, sub?: unknown) => {
      const uri = toUri(arg);
      if (!uri) return;
      let l = typeof line === 'number' ? line : undefined;
      if (l === undefined) {
        const ed = vscode.window.activeTextEditor;
        const d = datasets.get(uri);
        if (ed && d?.result) {
          const i = recordAtLine(d.result.index, ed.selection.active.line + 1);
          if (i >= 0) l = d.result.index.line[i];
        }
        l ??= store.all(uri)[0]?.line;
      }
      if (l === undefined) {
        log.appendLine(`open heatmap: ${uri.toString()} has no scored records`);
        void vscode.window.showInformationMessage('PrefLens: no scored records yet: run "PrefLens: Score Records".');
        return;
      }
      await heatmap.open(uri, l, typeof sub === 'number' ? sub : 0);
    }),
    vscode.commands.registerCommand('preflens.openDashboard', (arg?: unknown) => {
      const uri = toUri(arg);
      if (uri) dashboard.open(uri);
    }),
    vscode.commands.registerCommand('preflens.exportFiltered', async (arg?: unknown) => {
      const uri = toUri(arg);
      if (uri && isCandidateFile(uri)) await exportFiltered(uri, datasets, store);
    }),
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
