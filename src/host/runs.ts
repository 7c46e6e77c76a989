/**
 * Training runs in the extension: the Runs view (runs found in the workspace: folders with trainer_state.json,
 * trainer_log.jsonl or TensorBoard event files; runs written in the last minutes marked live; several can be
 * selected and compared), the run panel (one run or several overlaid, curves with check markers, checkpoints,
 * comparison; live runs re-read incrementally every 500 ms in dist/liveWorker.js while it is open) and the SPINAL panel (traces of the
 * reference and the checkpoints). Heavy work runs in dist/runWorker.js.
 */
import * as vscode from 'vscode';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { LIVE_MS, type LiveReply, type LiveRequest } from '../core/runs/live.js';
import { isRunDir, runDirOf, RunReader, type RunInfo } from '../core/runs/runs.js';
import { hasRollouts } from '../core/rollouts/rollouts.js';
import { runModels } from '../core/runs/checkpoints.js';
import { type JobEnd, startJob } from '../core/jobs.js';
import { type LineRange, parseLineRange } from '../core/records.js';
import type { RunJob, RunJobMessage, RunJobResult } from '../workers/runWorker.js';
import { parseRunRequest, type RunEvent } from '../protocol/run.js';
import { parseSpinalRequest, type SpinalEvent } from '../protocol/spinal.js';
import { createPanel } from './webviewHtml.js';
import { Command } from './commands.js';
import { limitsOf, type Models, type ScoringSettings } from './models.js';

/** The files that make a folder a run (runs.ts isRunDir): the Trainer's state, LLaMA-Factory's log, event files. */
const RUN_FILES = '**/{trainer_state.json,trainer_log.jsonl,events.out.tfevents.*}';

type Node = { kind: 'run'; dir: string; run: RunInfo | null; live: boolean; error?: string } | { kind: 'item'; label: string; description?: string; icon: string; tooltip?: string; command?: vscode.Command };

/** A run's reference model: the one its config names when that folder exists, else preflens.referenceModel. */
export function runReference(run: RunInfo | null, s: ScoringSettings): string | undefined {
  return run?.referenceModel && existsSync(run.referenceModel) ? run.referenceModel : s.reference;
}

/** Runs a run job in dist/runWorker.js with a cancellable progress notification; its progress also goes to the log. */
export function runRunJob(extensionUri: vscode.Uri, log: vscode.OutputChannel, job: RunJob, title: string): Promise<JobEnd<RunJobResult>> {
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      let last = 0;
      log.appendLine(`${title}: started`);
      return startJob<RunJob, RunJobMessage, RunJobResult>(join(extensionUri.fsPath, 'dist', 'runWorker.js'), job, {
        signal: ac.signal,
        cancel: 'terminate',
        onMessage: (m) => {
          progress.report({ message: m.message, increment: (m.fraction - last) * 100 });
          log.appendLine(`${title}: ${m.message}`);
          last = m.fraction;
        },
      }).then((end) => {
        log.appendLine(`${title}: ${end.type === 'error' ? `failed: ${end.message}` : end.type}`);
        return end;
      });
    }),
  );
}

export class Runs implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private dirs: string[] = [];
  private readonly subs: vscode.Disposable[] = [];
  private runPanel: vscode.WebviewPanel | null = null;
  private spinalPanel: vscode.WebviewPanel | null = null;
  /** One incremental reader per run folder (the tree and the panel share them: a refresh reads only what is new). */
  private readonly readers = new Map<string, RunReader>();
  /** The runs the panel shows, overlaid. */
  private shown: string[] = [];
  /** The panel's worker (core/runs/liveWorker.ts), while the panel is open. */
  private live: Worker | null = null;
  /** The runs last posted, for a panel that (re)loads. */
  private lastRuns: RunEvent | null = null;
  private lastSpinal: SpinalEvent | null = null;
  /** The Runs view, for its selection (several runs compared at once). */
  view: vscode.TreeView<Node> | null = null;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheDir: string,
    private readonly models: Models,
    private readonly log: vscode.OutputChannel,
  ) {
    const w = vscode.workspace.createFileSystemWatcher(RUN_FILES);
    this.subs.push(w, w.onDidCreate(() => void this.refresh()), w.onDidChange(() => this.redrawTree()), w.onDidDelete(() => void this.refresh()));
    // the live marks fade when a run stops being written
    const fade = setInterval(() => this.emitter.fire(undefined), 60_000);
    this.subs.push({ dispose: () => clearInterval(fade) });
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const files = await vscode.workspace.findFiles(RUN_FILES, '**/node_modules/**', 2000);
    const dirs = new Set<string>();
    for (const f of files) {
      const d = runDirOf(f.fsPath);
      if (/^checkpoint-\d+$/.test(basename(d)) && isRunDir(dirname(d))) continue;
      dirs.add(d);
    }
    this.dirs = [...dirs].sort();
    this.emitter.fire(undefined);
  }

  private treeTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Redraws the Runs view (its items read the runs again, incrementally) at most every 2 s: a run being written
   * changes its files many times a second.
   */
  private redrawTree(): void {
    this.treeTimer ??= setTimeout(() => {
      this.treeTimer = null;
      this.emitter.fire(undefined);
    }, 2000);
  }

  /** The run of a folder, read incrementally (only what was written since the last read). */
  private read(dir: string): { run: RunInfo; live: boolean } {
    let r = this.readers.get(dir);
    if (!r) {
      r = new RunReader(dir, true);
      this.readers.set(dir, r);
    }
    r.update();
    return { run: r.run(), live: Date.now() - r.lastWrite < LIVE_MS };
  }

  getChildren(n?: Node): Node[] {
    if (!n)
      return this.dirs.map((dir) => {
        try {
          const { run, live } = this.read(dir);
          return { kind: 'run', dir, run, live };
        } catch (e) {
          this.readers.delete(dir);
          return { kind: 'run', dir, run: null, live: false, error: e instanceof Error ? e.message : String(e) };
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
      i.id = n.dir;
      i.description = n.run ? `${n.live ? 'live · ' : ''}${n.run.trainer} · ${n.run.steps} steps · ${n.run.checks.length} checks` : 'cannot read';
      i.tooltip = `${n.dir}${n.live ? '\nlive: written in the last 5 minutes' : ''}\nSelect several runs (Ctrl/Shift+click) and choose Compare Runs to overlay them.`;
      i.iconPath = n.live ? new vscode.ThemeIcon('pulse', new vscode.ThemeColor('charts.green')) : new vscode.ThemeIcon('pulse');
      i.command = { command: Command.openRun, title: 'Open Run', arguments: [n.dir] };
      // e.g. preflens.run.live.rollouts: menus match on the parts (package.json view/item/context)
      i.contextValue = `preflens.run${n.live ? '.live' : ''}${hasRollouts(n.dir) ? '.rollouts' : ''}`;
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
    if (dir) this.openRuns([dir]);
  }

  /**
   * PrefLens: Compare Runs: the runs selected in the Runs view (a context-menu call passes the clicked run and the
   * selection; an array of folders works too), else a pick among the runs found in the workspace.
   */
  async compareCommand(arg?: unknown, selection?: unknown): Promise<void> {
    const dirOf = (x: unknown): string | undefined => (typeof x === 'string' ? x : x instanceof vscode.Uri ? x.fsPath : typeof x === 'object' && x !== null && (x as Node).kind === 'run' ? (x as { dir: string }).dir : undefined);
    let dirs = (Array.isArray(selection) ? selection : Array.isArray(arg) ? arg : []).map(dirOf).filter((d): d is string => d !== undefined);
    if (dirs.length < 2) dirs = (this.view?.selection ?? []).map(dirOf).filter((d): d is string => d !== undefined);
    if (dirs.length < 2) {
      await this.refresh();
      const picks = await vscode.window.showQuickPick(
        this.dirs.map((d) => ({ label: basename(d), description: d, picked: dirs.includes(d) })),
        { canPickMany: true, title: 'PrefLens: runs to compare (overlaid)', placeHolder: 'Pick two or more runs' },
      );
      if (!picks) return;
      dirs = picks.map((p) => p.description);
    }
    if (dirs.length) this.openRuns([...new Set(dirs)]);
  }

  /**
   * Shows the runs in the run panel, overlaid, and keeps them up to date while they are written: the panel's runs are
   * read, composed and thinned in dist/liveWorker.js (core/runs/liveWorker.ts), which posts their views whenever one
   * changed; this thread only forwards them.
   */
  openRuns(dirs: string[]): void {
    const ok: string[] = [];
    for (const dir of dirs) {
      try {
        this.read(dir);
        ok.push(dir);
      } catch (e) {
        this.readers.delete(dir);
        void vscode.window.showErrorMessage(`PrefLens: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!ok.length) return;
    this.shown = ok;
    this.lastRuns = null;
    if (!this.runPanel) {
      const p = createPanel(this.extensionUri, 'preflens.run', 'PrefLens Run', vscode.ViewColumn.Active, 'run');
      p.webview.onDidReceiveMessage((m: unknown) => {
        const req = parseRunRequest(m);
        if (!req) return;
        if (req.type === 'ready') {
          if (this.lastRuns) this.post(this.lastRuns);
          return;
        }
        // only a run the panel shows
        if (!this.shown.includes(req.dir)) return;
        const { run } = this.read(req.dir);
        if (req.type === 'spinal') void this.spinal(run);
        else if (req.type === 'rollouts') void vscode.commands.executeCommand(Command.openRollouts, run.dir);
        else if (req.type === 'compare') void this.compare(run);
        else {
          const cp = run.checkpoints.find((c) => c.step === req.step);
          if (cp) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(cp.path));
        }
      });
      p.onDidDispose(() => {
        this.runPanel = null;
        void this.live?.terminate();
        this.live = null;
      });
      this.runPanel = p;
    } else this.runPanel.reveal();
    this.runPanel.title = ok.length === 1 ? `Run · ${basename(ok[0])}` : `Runs · ${ok.map((d) => basename(d)).join(' vs ')}`;
    this.liveWorker().postMessage({ type: 'watch', dirs: ok } satisfies LiveRequest);
  }

  /** The panel's worker, started on first use; its views go to the panel as they come. */
  private liveWorker(): Worker {
    if (this.live) return this.live;
    const w = new Worker(join(this.extensionUri.fsPath, 'dist', 'liveWorker.js'));
    w.on('message', (m: LiveReply) => {
      for (const e of m.errors) this.log.appendLine(`PrefLens run ${e.dir}: ${e.message}`);
      this.lastRuns = { type: 'runs', runs: m.runs };
      this.post(this.lastRuns);
      this.redrawTree();
    });
    w.on('error', (e) => {
      this.log.appendLine(`PrefLens: the live-run worker failed: ${e.message}`);
      this.post({ type: 'error', message: `PrefLens could not read the runs: ${e.message}` });
    });
    w.on('exit', () => {
      if (this.live === w) this.live = null;
    });
    this.live = w;
    return w;
  }

  private post(e: RunEvent): void {
    void this.runPanel?.webview.postMessage(e);
  }

  private reference(run: RunInfo): string | undefined {
    return runReference(run, this.models.settings());
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

  private runJob(job: RunJob, title: string): Promise<JobEnd<RunJobResult>> {
    return runRunJob(this.extensionUri, this.log, job, title);
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
    if (res.type === 'done' && res.result.kind === 'compare') this.post({ type: 'comparison', dir: run.dir, comparison: res.result.comparison });
    else if (res.type === 'error') void vscode.window.showErrorMessage(`PrefLens: ${res.message}`);
  }

  dispose(): void {
    void this.live?.terminate();
    if (this.treeTimer) clearTimeout(this.treeTimer);
    this.subs.forEach((s) => s.dispose());
    this.runPanel?.dispose();
    this.spinalPanel?.dispose();
    this.emitter.dispose();
  }
}
