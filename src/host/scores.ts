/**
 * Scores in the extension (docs/ARCHITECTURE.md, "Data flow of a scoring"): PrefLens: Score Records hands the records
 * of the file's index (their line, offset, length, sub: no rescan) to a scoring job in a worker thread, with a
 * cancellable progress notification (records, tokens/s, ETA); records land in the store as they finish and every
 * view updates. Numbers are cached on disk by the engine (extension storage), so re-scoring after reopening is
 * cheap. Whether a scored record changed on disk is decided by the host worker (hashes), never on this thread.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import { isFailed, isSkipped, type ScoredRecord, type SkippedRecord } from '../core/contract.js';
import { startJob } from '../core/jobs.js';
import { type LineRange, parseLineRange } from '../core/records.js';
import type { ScoreJobMessage, ScoreJobResult, ScoreJobSpec } from '../workers/scoreWorker.js';
import type { Dataset, DatasetManager } from './datasets.js';
import { limitsOf, type Models } from './models.js';
import type { WorkerClient } from './workerClient.js';
import { Command } from './commands.js';

export function recordKey(line: number, sub = 0): string {
  return `${line}:${sub}`;
}

/** A file's entries of a per-file map, created when missing. */
function entries<T>(all: Map<string, Map<string, T>>, file: string): Map<string, T> {
  let m = all.get(file);
  if (!m) {
    m = new Map();
    all.set(file, m);
  }
  return m;
}

export class ScoreStore implements vscode.Disposable {
  private readonly byFile = new Map<string, Map<string, ScoredRecord>>();
  /** Records the trainer would drop (convention trl), with the reason: shown as skipped, never scored. */
  private readonly skippedByFile = new Map<string, Map<string, SkippedRecord>>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  add(uri: vscode.Uri, r: ScoredRecord): void {
    const k = uri.toString();
    entries(this.byFile, k).set(recordKey(r.line, r.sub), r);
    this.skippedByFile.get(k)?.delete(recordKey(r.line, r.sub));
    this.changed(k);
  }

  skip(uri: vscode.Uri, r: SkippedRecord): void {
    const k = uri.toString();
    entries(this.skippedByFile, k).set(recordKey(r.line, r.sub), r);
    this.byFile.get(k)?.delete(recordKey(r.line, r.sub));
    this.changed(k);
  }

  /** Coalesces view updates while records stream in. */
  private changed(file: string): void {
    this.pending.add(file);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const p of this.pending) this.emitter.fire(vscode.Uri.parse(p));
      this.pending.clear();
    }, 150);
  }

  skipped(uri: vscode.Uri, line: number, sub = 0): SkippedRecord | undefined {
    return this.skippedByFile.get(uri.toString())?.get(recordKey(line, sub));
  }

  get(uri: vscode.Uri, line: number, sub = 0): ScoredRecord | undefined {
    return this.byFile.get(uri.toString())?.get(recordKey(line, sub));
  }

  /** Scored records of a file in line order. */
  all(uri: vscode.Uri): ScoredRecord[] {
    const m = this.byFile.get(uri.toString());
    if (!m) return [];
    return [...m.values()].sort((a, b) => a.line - b.line || (a.sub ?? 0) - (b.sub ?? 0));
  }

  /** Drops the given scored records (their text changed); returns how many were dropped. */
  drop(uri: vscode.Uri, records: readonly ScoredRecord[]): number {
    const m = this.byFile.get(uri.toString());
    if (!m) return 0;
    let dropped = 0;
    for (const r of records) if (m.get(recordKey(r.line, r.sub)) === r && m.delete(recordKey(r.line, r.sub))) dropped++;
    if (dropped) this.emitter.fire(uri);
    return dropped;
  }

  clear(uri: vscode.Uri): void {
    this.byFile.delete(uri.toString());
    this.skippedByFile.delete(uri.toString());
    this.emitter.fire(uri);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.emitter.dispose();
  }
}

/** Which records a Score Records command scores. */
export type ScoreScope = 'Whole file' | 'Selected lines' | 'Current record' | 'Lines…';

export class Scorer implements vscode.Disposable {
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly distDir: string,
    private readonly cacheDir: string,
    private readonly store: ScoreStore,
    private readonly models: Models,
    private readonly datasets: DatasetManager,
    private readonly worker: WorkerClient,
    private readonly log: vscode.OutputChannel,
  ) {
    // After a file changes on disk and is re-indexed, scores of records whose text changed are discarded.
    this.sub = datasets.onDidChange((d) => {
      if (d.state === 'ready' && d.result && !d.result.partial) void this.revalidate(d, store.all(d.uri));
    });
  }

  /**
   * Keeps the scored records whose text is still what they were scored from (sha256 of the raw record now at their
   * line/sub, computed by the host worker) and drops the others; returns the kept ones.
   */
  private async revalidate(d: Dataset, records: ScoredRecord[], dropFromStore = true): Promise<ScoredRecord[]> {
    const withHash = records.filter((r) => r.raw_sha256 !== undefined);
    if (withHash.length === 0) return records;
    let hashes: Array<string | null>;
    try {
      const reply = await this.worker.request({ op: 'hashes', path: d.path, refs: d.refsAt(withHash), format: d.result?.format ?? null });
      if (reply.type !== 'hashes') return records;
      hashes = reply.hashes;
    } catch (e) {
      this.log.appendLine(`${d.path}: cannot check scored records against the file (${e instanceof Error ? e.message : String(e)})`);
      return records;
    }
    const changed = withHash.filter((r, k) => hashes[k] !== r.raw_sha256);
    if (changed.length && dropFromStore) {
      const n = this.store.drop(d.uri, changed);
      if (n) this.log.appendLine(`${d.path}: ${n} scored records changed on disk; their numbers were discarded`);
    } else if (changed.length) this.log.appendLine(`${d.path}: ${changed.length} records changed since they were scored (${changed.map((r) => r.line).join(', ')}); their numbers were discarded`);
    const bad = new Set(changed);
    return records.filter((r) => !bad.has(r));
  }

  /**
   * PrefLens: Score Records. `scope` is a ScoreScope or "A-B"; without one, the user picks: the whole file, the
   * selected lines or the record under the cursor (when an editor shows the file), or lines typed in (a file too
   * large for VS Code's text editor has none).
   */
  async command(uri: vscode.Uri, scope?: unknown): Promise<void> {
    const ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    let pick = typeof scope === 'string' ? scope : undefined;
    if (!pick) {
      const options: ScoreScope[] = ['Whole file'];
      if (ed && !ed.selection.isEmpty) options.push('Selected lines');
      if (ed) options.push('Current record');
      options.push('Lines…');
      pick = await vscode.window.showQuickPick(options, { title: 'PrefLens: score which records?' });
    }
    if (pick === 'Lines…')
      pick = await vscode.window.showInputBox({
        title: 'PrefLens: score which lines?',
        prompt: 'Lines of the file, 1-based: A-B, or one line',
        placeHolder: '1-100',
        validateInput: (v) => (parseLineRange(v) ? undefined : 'A-B with 1 ≤ A ≤ B, or one line number'),
      });
    if (!pick) return;
    let lines: LineRange | undefined = parseLineRange(pick) ?? undefined;
    if (pick === 'Selected lines' && ed) lines = [ed.selection.start.line + 1, ed.selection.end.line + 1];
    else if (pick === 'Current record' && ed) {
      const cur = ed.selection.active.line + 1;
      const d = await this.indexed(uri, [cur, cur]);
      const i = d?.indexAtLine(cur) ?? -1;
      const line = i >= 0 && d?.result ? d.result.index.line[i] : cur;
      lines = [line, line];
    }
    await this.score(uri, lines);
  }

  private spec(d: Dataset, lines?: LineRange): ScoreJobSpec | string {
    const s = this.models.settings();
    if (!s.policy) return 'no policy model: run "PrefLens: Select Models…" or set preflens.policyModel';
    const problems = this.models.problems();
    if (problems.length) return problems.join('; ');
    if (!d.result) return d.error ?? `${d.name} is not a preference file PrefLens recognises`;
    const refs = d.refs(lines);
    if (refs.line.length === 0) return `no records${lines ? ` on lines ${lines[0]}–${lines[1]}` : ''} of ${d.name}`;
    return {
      file: d.path,
      refs,
      format: d.result.format,
      policy: s.policy,
      ref: s.reference ?? null,
      beta: s.beta,
      limits: limitsOf(s),
      provider: s.provider,
      cacheDir: this.cacheDir,
    };
  }

  /**
   * The file's dataset with an index that covers `lines`: the first records of a huge file are indexed within a
   * moment (a head scan), so scoring a record near the top never waits for the whole file.
   */
  private async indexed(uri: vscode.Uri, lines?: LineRange): Promise<Dataset | undefined> {
    const d = this.datasets.get(uri);
    const r = d?.result;
    if (r && d?.state === 'ready') return d;
    // The head of a huge file, indexed in this scan (a rescan of a changed file waits for its new index).
    if (r?.partial && lines && lines[1] < r.lines) return d;
    return this.datasets.ready(uri);
  }

  /** Scores lines of a file (all when `lines` is undefined) with progress; resolves when done or cancelled. */
  async score(uri: vscode.Uri, lines?: LineRange): Promise<'done' | 'cancelled' | 'error'> {
    const d = await this.indexed(uri, lines);
    const spec = d ? this.spec(d, lines) : 'open a preference file first';
    if (typeof spec === 'string' || !d) {
      const pick = await vscode.window.showErrorMessage(`PrefLens cannot score: ${spec}`, 'Select Models…');
      if (pick) await vscode.commands.executeCommand(Command.selectModels);
      return 'error';
    }
    const generation = d.generation;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `PrefLens: scoring ${d.name}`, cancellable: true },
      async (progress, token) => {
        let last = 0;
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        const checks: Array<Promise<unknown>> = [];
        let failed = 0;
        const end = await startJob<ScoreJobSpec, ScoreJobMessage, ScoreJobResult>(join(this.distDir, 'scoreWorker.js'), spec, {
          signal: ac.signal,
          cancel: 'message',
          onMessage: (m) => {
            if (m.type === 'record') {
              const r = m.record;
              if (isSkipped(r)) {
                this.store.skip(uri, r);
                this.log.appendLine(`${d.name}: line ${r.line} skipped: ${r.skipped}`);
              } else if (isFailed(r)) {
                // not scored: shown where a skipped record is, with why (the hover, the heatmap), and logged
                this.store.skip(uri, { line: r.line, ...(r.sub !== undefined ? { sub: r.sub } : {}), skipped: `PrefLens could not score it: ${r.error}` });
                failed++;
                this.log.appendLine(`${d.name}: line ${r.line} failed: ${r.error}`);
              }
              // Scored from the index it was given; if the file was re-indexed since, the worker checks the text first.
              else if (d.generation === generation) this.store.add(uri, r);
              else checks.push(this.revalidate(d, [r], false).then((kept) => kept.forEach((x) => this.store.add(uri, x))));
            } else if (m.type === 'models') {
              this.models.setSummaries(m.policy, m.ref);
              this.log.appendLine(`scoring ${uri.fsPath}: policy on ${m.policy.deviceNote}; convention ${spec.limits.convention} (${this.models.settings().conventionReason})`);
            } else {
              const pct = (100 * m.records) / Math.max(1, m.total);
              const message = `${m.records.toLocaleString('en-US')}/${m.total.toLocaleString('en-US')} records · ${Math.round(m.tokensPerSecond).toLocaleString('en-US')} tok/s · ETA ${Math.round(m.etaSeconds)} s`;
              progress.report({ increment: pct - last, message });
              this.log.appendLine(`scoring ${d.name}: ${message}`);
              last = pct;
            }
          },
        });
        await Promise.all(checks);
        if (end.type === 'error') {
          this.log.appendLine(`scoring ${uri.fsPath} failed: ${end.message}`);
          void vscode.window.showErrorMessage(`PrefLens: scoring failed: ${end.message}`, 'Retry').then((r) => {
            if (r) void this.score(uri, lines);
          });
          return 'error';
        }
        const kept = this.store.all(uri).length;
        if (end.type === 'cancelled') {
          this.log.appendLine(`scoring ${uri.fsPath} cancelled; ${kept} records in the store`);
          void vscode.window.showInformationMessage('PrefLens: scoring cancelled (the records it finished are kept).');
          return 'cancelled';
        }
        this.log.appendLine(`scored ${end.result.records} records of ${uri.toString()} in ${end.result.seconds.toFixed(1)} s on ${end.result.device}; ${kept} in the store`);
        if (failed) void vscode.window.showWarningMessage(`PrefLens: ${failed} record${failed === 1 ? '' : 's'} could not be scored: the model's output is not finite (the Output panel and the hover say where).`);
        return 'done';
      },
    );
  }

  dispose(): void {
    this.sub.dispose();
  }
}
