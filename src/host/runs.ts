/**
 * Training runs in the extension: the Runs view (runs found in the workspace: folders with trainer_state.json,
 * trainer_log.jsonl or checkpoint-*), the run panel (curves with check markers, checkpoints, comparison) and the
 * SPINAL panel (traces of the reference and the checkpoints). Heavy work runs in dist/runWorker.js.
 */
import * as vscode from 'vscode';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { parseRun, type RunInfo } from '../core/runs/runs.js';
import { runModels } from '../core/runs/compare.js';
import { type JobEnd, startJob } from '../core/jobs.js';
import { type LineRange, parseLineRange } from '../core/records.js';
import type { RunJob, RunJobMessage, RunJobResult } from '../core/runs/runWorker.js';
import { parseRunRequest, type RunEvent, type RunView } from '../protocol/run.js';
import { parseSpinalRequest, type SpinalEvent } from '../protocol/spinal.js';
import { createPanel } from './webviewHtml.js';
import { Command } from './commands.js';
import type { Models, ScoringSettings } from './models.js';
import type { LengthLimits } from '../core/tokenize/encoder.js';

/** The tokenization of the scoring settings (convention and lengths), for SPINAL and checkpoint comparison too. */
function limitsOf(s: ScoringSettings): LengthLimits {
  return { convention: s.convention, maxPromptLength: s.maxPromptLength, maxCompletionLength: s.maxCompletionLength, maxLength: s.maxLength, truncationMode: s.truncationMode };
}

type Node = { kind: 'run'; dir: string; run: RunInfo | null; error?: string } | { kind: 'item'; label: string; description?: string; icon: string; tooltip?: string; command?: vscode.Command };

function toView(r: RunInfo): RunView {
  const clean = (s: Record<string, Array<[number, number]>>): Record<string, Array<[number, number | null]>> =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map(([x, y]) => [x, Number.isFinite(y) ? y : null] as [number, number | null])]));
  return { name: basename(r.dir), dir: r.dir, format: r.format, trainer: r.trainer, steps: r.steps, series: clean(r.series), eval: clean(r.eval), checkpoints: r.checkpoints, checks: r.checks, referenceModel: r.referenceModel, settings: r.settings, problems: r.problems };
}

export class Runs implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private dirs: string[] = [];
  private readonly subs: vscode.Disposable[] = [];
  private runPanel: vscode.WebviewPanel | null = null;
  private spinalPanel: vscode.WebviewPanel | null = null;
  private current: RunInfo | null = null;
  private lastSpinal: SpinalEvent | null = null;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheDir: string,
    private readonly models: Models,
    private readonly log: vscode.OutputChannel,
  ) {
    const w = vscode.workspace.createFileSystemWatcher('**/{trainer_state.json,trainer_log.jsonl}');
    this.subs.push(w, w.onDidCreate(() => void this.refresh()), w.onDidChange(() => void this.refresh()), w.onDidDelete(() => void this.refresh()));
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const files = await vscode.workspace.findFiles('**/{trainer_state.json,trainer_log.jsonl}', '**/node_modules/**', 500);
    const dirs = new Set<string>();
    for (const f of files) {
      const d = dirname(f.fsPath);
      if (/^checkpoint-\d+$/.test(basename(d)) && (existsSync(join(dirname(d), 'trainer_state.json')) || existsSync(join(dirname(d), 'trainer_log.jsonl')))) continue;
      dirs.add(d);
    }
    this.dirs = [...dirs].sort();
    this.emitter.fire(undefined);
  }

  getChildren(n?: Node): Node[] {
    if (!n)
      return this.dirs.map((dir) => {
        try {
          return { kind: 'run', dir, run: parseRun(dir) };
        } catch (e) {
          return { kind: 'run', dir, run: null, error: e instanceof Error ? e.message : String(e) };
        }
      });
    if (n.kind !== 'run' || !n.run) return n.kind === 'run' && n.error ? [{ kind: 'item', label: n.error, icon: 'error' }] : [];
    const r = n.run;
    const icon = { error: 'error', warning: 'warning', info: 'info' } as const;
    return [
      ...r.checks.map((c) => ({ kind: 'item' as const, label: c.id, description: c.message, icon: icon[c.severity], tooltip: `${c.message}\n${c.source}\nsteps ${c.steps.slice(0, 12).join(', ')}` })),
      ...r.checkpoints.map((c) => ({ kind: 'item' as const, label: `checkpoint-${c.step}`, description: [c.hasOnnx ? 'onnx' : '', c.hasSafetensors ? 'safetensors' : '', c.hasAdapter ? 'adapter' : ''].filter(Boolean).join(' · '), icon: 'package' })),
    ];
  }

  getTreeItem(n: Node): vscode.TreeItem {
    if (n.kind === 'run') {
      const i = new vscode.TreeItem(basename(n.dir), vscode.TreeItemCollapsibleState.Collapsed);
      i.description = n.run ? `${n.run.trainer} · ${n.run.steps} steps · ${n.run.checks.length} checks` : 'cannot read';
      i.tooltip = n.dir;
      i.iconPath = new vscode.ThemeIcon('pulse');
      i.command = { command: Command.openRun, title: 'Open Run', arguments: [n.dir] };
      i.contextValue = 'preflens.run';
      return i;
    }
    const i = new vscode.TreeItem(n.label);
    i.description = n.description;
    i.tooltip = n.tooltip;
    i.iconPath = new vscode.ThemeIcon(n.icon);
    return i;
  }

  /** PrefLens: Open Training Run…: the folder given (a path or a Uri), else one the user picks. */
  async command(arg?: unknown): Promise<void> {
    let dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
    if (!dir) {
      const pick = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'PrefLens: training output folder' });
      dir = pick?.[0]?.fsPath;
    }
    if (dir) this.openRun(dir);
  }

  openRun(dir: string): void {
    let run: RunInfo;
    try {
      run = parseRun(dir);
    } catch (e) {
      void vscode.window.showErrorMessage(`PrefLens: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.current = run;
    if (!this.runPanel) {
      const p = createPanel(this.extensionUri, 'preflens.run', 'PrefLens Run', vscode.ViewColumn.Active, 'run');
      p.webview.onDidReceiveMessage((m: unknown) => {
        const req = parseRunRequest(m);
        if (!req || !this.current) return;
        if (req.type === 'ready') this.post({ type: 'run', run: toView(this.current) });
        else if (req.type === 'spinal') void this.spinal(this.current);
        else if (req.type === 'compare') void this.compare(this.current);
        else {
          const cp = this.current.checkpoints.find((c) => c.step === req.step);
          if (cp) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(cp.path));
        }
      });
      p.onDidDispose(() => (this.runPanel = null));
      this.runPanel = p;
    } else this.runPanel.reveal();
    this.runPanel.title = `Run · ${basename(dir)}`;
    this.post({ type: 'run', run: toView(run) });
  }

  private post(e: RunEvent): void {
    void this.runPanel?.webview.postMessage(e);
  }

  private reference(run: RunInfo): string | undefined {
    return run.referenceModel && existsSync(run.referenceModel) ? run.referenceModel : this.models.settings().reference;
  }

  private async records(): Promise<{ file: string; lines: LineRange } | undefined> {
    const cfg = vscode.workspace.getConfiguration('preflens');
    let file = cfg.get<string>('runRecords.file') || undefined;
    if (!file || !existsSync(file)) {
      const pick = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Preference data': ['jsonl', 'json'] }, title: 'PrefLens: records to trace and compare (their response tokens)' });
      file = pick?.[0]?.fsPath;
    }
    if (!file) return undefined;
    return { file, lines: parseLineRange(cfg.get<string>('runRecords.lines', '1-32')) ?? [1, 32] };
  }

  /** Runs a run job in a worker with a cancellable progress notification; its progress also goes to the log. */
  private runJob(job: RunJob, title: string): Promise<JobEnd<RunJobResult>> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        this.log.appendLine(`${title}: started`);
        return startJob<RunJob, RunJobMessage, RunJobResult>(join(this.extensionUri.fsPath, 'dist', 'runWorker.js'), job, {
          signal: ac.signal,
          cancel: 'terminate',
          onMessage: (m) => {
            progress.report({ message: m.message, increment: (m.fraction - last) * 100 });
            this.log.appendLine(`${title}: ${m.message}`);
            last = m.fraction;
          },
        }).then((end) => {
          this.log.appendLine(`${title}: ${end.type === 'error' ? `failed: ${end.message}` : end.type}`);
          return end;
        });
      }),
    );
  }

  async spinal(run: RunInfo): Promise<void> {
    const ref = this.reference(run);
    const recs = await this.records();
    if (!recs) return;
    const s = this.models.settings();
    const models = [...(ref ? [{ label: 'reference', dir: ref }] : []), ...runModels(run).map((m) => ({ label: m.dir === run.dir ? `final (step ${m.step})` : `step ${m.step}`, dir: m.dir }))];
    const hidden = vscode.workspace.getConfiguration('preflens').get<string[]>('spinal.hiddenStates', []);
    const res = await this.runJob(
      { kind: 'spinal', file: recs.file, lines: recs.lines, models, limits: limitsOf(s), provider: s.provider, cacheDir: this.cacheDir, hiddenStates: hidden.length ? hidden : undefined },
      'PrefLens: SPINAL traces',
    );
    if (res.type !== 'done' || res.result.kind !== 'spinal') {
      if (res.type === 'error') {
        const pick = await vscode.window.showErrorMessage(`PrefLens SPINAL: ${res.message}`, 'Set tensor names…');
        if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'preflens.spinal.hiddenStates');
      }
      return;
    }
    if (!this.spinalPanel) {
      const p = createPanel(this.extensionUri, 'preflens.spinal', 'PrefLens SPINAL', vscode.ViewColumn.Beside, 'spinal');
      p.webview.onDidReceiveMessage((m: unknown) => {
        if (parseSpinalRequest(m) && this.lastSpinal) void p.webview.postMessage(this.lastSpinal);
      });
      p.onDidDispose(() => (this.spinalPanel = null));
      this.spinalPanel = p;
    } else this.spinalPanel.reveal();
    this.lastSpinal = { type: 'traces', traces: res.result.traces, reference: ref ?? '', file: basename(recs.file), lines: recs.lines };
    void this.spinalPanel.webview.postMessage(this.lastSpinal);
  }

  async compare(run: RunInfo): Promise<void> {
    const ref = this.reference(run);
    if (!ref) {
      void vscode.window.showErrorMessage('PrefLens: no reference model for this run (dpo_config.json reference_model, or preflens.referenceModel).');
      return;
    }
    const recs = await this.records();
    if (!recs) return;
    const s = this.models.settings();
    const res = await this.runJob(
      { kind: 'compare', file: recs.file, lines: recs.lines, run: run.dir, reference: ref, beta: s.beta, limits: limitsOf(s), provider: s.provider, cacheDir: this.cacheDir },
      'PrefLens: scoring the checkpoints',
    );
    if (res.type === 'done' && res.result.kind === 'compare') this.post({ type: 'comparison', comparison: res.result.comparison });
    else if (res.type === 'error') void vscode.window.showErrorMessage(`PrefLens: ${res.message}`);
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
    this.runPanel?.dispose();
    this.spinalPanel?.dispose();
    this.emitter.dispose();
  }
}
