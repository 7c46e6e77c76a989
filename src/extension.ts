/**
 * PrefLens extension entry: creates the features and wires them to VS Code, nothing else (docs/ARCHITECTURE.md,
 * "Commands"): each command's logic lives in the host module that owns it, its id in host/commands.ts.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import { DatasetManager } from './host/datasets.js';
import { WorkerClient } from './host/workerClient.js';
import { StatusBar } from './host/statusBar.js';
import { Diagnostics } from './host/diagnostics.js';
import { HoverProvider } from './host/hover.js';
import { DatasetsView } from './host/datasetsView.js';
import { InspectorProvider, INSPECTOR_VIEW_TYPE, PARQUET_INSPECTOR_VIEW_TYPE } from './host/inspector.js';
import { Models } from './host/models.js';
import { ScoreStore, Scorer } from './host/scores.js';
import { HeatmapPanel } from './host/heatmap.js';
import { DashboardPanel } from './host/dashboard.js';
import { WrongWayMarks } from './host/editorMarks.js';
import { exportFiltered, exportShown } from './host/export.js';
import { RefsCommand } from './host/refs.js';
import { Runs } from './host/runs.js';
import { RolloutsPanel } from './host/rollouts.js';
import { openHubDataset } from './host/hubDatasets.js';
import { ActiveFile } from './host/activeFile.js';
import { Command } from './host/commands.js';
import { isCheckName } from './core/checks/table.js';

const PREFERENCE_FILES: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/*.{jsonl,json,ndjson}' }];

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PrefLens');
  const distDir = vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath;
  const cacheDir = join(context.globalStorageUri.fsPath, 'cache');
  const worker = new WorkerClient(distDir);
  const active = new ActiveFile();
  const datasets = new DatasetManager(worker, context.workspaceState, log);
  const store = new ScoreStore();
  const inspector = new InspectorProvider(context.extensionUri, datasets, worker, (uri, shown) => exportShown(uri, shown, datasets, store, worker));
  const view = new DatasetsView(datasets);
  const models = new Models(worker);
  const scorer = new Scorer(distDir, cacheDir, store, models, datasets, worker, log);
  const refs = new RefsCommand(distDir, cacheDir, models, datasets, log);
  const heatmap = new HeatmapPanel(context.extensionUri, cacheDir, datasets, models, store, worker);
  const dashboard = new DashboardPanel(context.extensionUri, store, heatmap);
  const marks = new WrongWayMarks(context.extensionUri, store);
  const runs = new Runs(context.extensionUri, cacheDir, models, log);
  const rollouts = new RolloutsPanel(context.extensionUri, cacheDir, models, log);
  const noFile = (): void => void vscode.window.showInformationMessage('PrefLens: open a .jsonl or .json preference file first.');
  /** A command on a preference file: the one its argument names, or the active / last one. */
  const onFile = (run: (uri: vscode.Uri, ...rest: unknown[]) => unknown) => (arg?: unknown, ...rest: unknown[]) => {
    const uri = active.resolvePreferenceFile(arg);
    return uri ? run(uri, ...rest) : noFile();
  };
  context.subscriptions.push(
    log,
    { dispose: () => worker.dispose() },
    active,
    datasets,
    new StatusBar(datasets),
    new Diagnostics(datasets),
    view,
    models,
    store,
    scorer,
    heatmap,
    dashboard,
    marks,
    runs,
    vscode.window.registerTreeDataProvider('preflens.datasets', view),
    vscode.window.registerTreeDataProvider('preflens.models', models),
    (runs.view = vscode.window.createTreeView('preflens.runs', { treeDataProvider: runs, canSelectMany: true })),
    vscode.languages.registerHoverProvider(PREFERENCE_FILES, new HoverProvider(datasets, store)),
    vscode.languages.registerCodeLensProvider(PREFERENCE_FILES, marks),
    vscode.window.registerCustomEditorProvider(INSPECTOR_VIEW_TYPE, inspector, { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: false }),
    vscode.window.registerCustomEditorProvider(PARQUET_INSPECTOR_VIEW_TYPE, inspector, { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: false }),
    vscode.commands.registerCommand(Command.openRun, (arg?: unknown) => runs.command(arg)),
    vscode.commands.registerCommand(Command.refreshRuns, () => runs.refresh()),
    vscode.commands.registerCommand(Command.openHubDataset, () => openHubDataset(inspector)),
    vscode.commands.registerCommand(Command.openRollouts, (arg?: unknown) => rollouts.command(arg)),
    vscode.commands.registerCommand(Command.compareRuns, (arg?: unknown, selection?: unknown) => runs.compareCommand(arg, selection)),
    vscode.commands.registerCommand(Command.selectModels, () => models.select()),
    vscode.commands.registerCommand(Command.scoreRecords, onFile((uri, scope) => scorer.command(uri, scope))),
    vscode.commands.registerCommand(Command.openHeatmap, (arg?: unknown, line?: unknown, sub?: unknown) => {
      const uri = active.resolve(arg);
      if (uri) return heatmap.openAt(uri, typeof line === 'number' ? line : undefined, typeof sub === 'number' ? sub : undefined);
    }),
    vscode.commands.registerCommand(Command.openDashboard, (arg?: unknown) => {
      const uri = active.resolve(arg);
      if (uri) dashboard.open(uri);
    }),
    vscode.commands.registerCommand(Command.exportFiltered, onFile((uri) => exportFiltered(uri, datasets, store, worker))),
    vscode.commands.registerCommand(Command.computeRefs, onFile((uri) => refs.run(uri))),
    vscode.commands.registerCommand(
      Command.openInspector,
      onFile((uri, check, index) => inspector.open(uri, typeof check === 'string' && isCheckName(check) ? check : undefined, typeof index === 'number' ? index : undefined)),
    ),
    vscode.commands.registerCommand(Command.rescan, onFile((uri) => datasets.rescan(uri))),
    vscode.commands.registerCommand(Command.setFormat, onFile((uri) => datasets.pickFormat(uri))),
  );
}

export function deactivate(): void {}
