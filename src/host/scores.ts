/**
 * Scores in the extension: PrefLens: Score Records runs the engine in a worker thread with a cancellable progress
 * notification (records, tokens/s, ETA); records land in the store as they finish and every view updates.
 * Numbers are cached on disk by the engine (extension storage), so re-scoring after reopening is cheap.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { ScoredRecord } from '../core/engine/score.js';
import { ScoreJob } from '../core/engine/scoreClient.js';
import type { ScoreJobSpec } from '../core/engine/scoreWorker.js';
import type { DatasetManager } from './datasets.js';
import type { Models } from './models.js';
import { readRecord, recordAtLine } from '../core/records.js';
import { rawHash } from '../core/engine/score.js';

export function recordKey(line: number, sub = 0): string {
  return `${line}:${sub}`;
}

export class ScoreStore implements vscode.Disposable {
  private readonly byFile = new Map<string, Map<string, ScoredRecord>>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /** Adds a scored record; returns false (and keeps nothing) when the record changed since it was scored. */
  add(uri: vscode.Uri, r: ScoredRecord, current?: (line: number, sub: number) => string | null): boolean {
    // A record scored from an older version of the file is never shown on another record.
    if (current && r.raw_sha256 !== undefined && current(r.line, r.sub ?? 0) !== r.raw_sha256) return false;
    const k = uri.toString();
    let m = this.byFile.get(k);
    if (!m) {
      m = new Map();
      this.byFile.set(k, m);
    }
    m.set(recordKey(r.line, r.sub), r);
    this.pending.add(k);
    // Coalesce view updates while records stream in.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const p of this.pending) this.emitter.fire(vscode.Uri.parse(p));
      this.pending.clear();
    }, 150);
    return true;
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

  /** Drops the scores of records whose text changed (hash of the raw record at that line), keeps the others. */
  revalidate(uri: vscode.Uri, current: (line: number, sub: number) => string | null): number {
    const m = this.byFile.get(uri.toString());
    if (!m) return 0;
    let dropped = 0;
    for (const [k, r] of m) {
      if (r.raw_sha256 === undefined) continue;
      if (current(r.line, r.sub ?? 0) !== r.raw_sha256) {
        m.delete(k);
        dropped++;
      }
    }
    if (dropped) this.emitter.fire(uri);
    return dropped;
  }

  clear(uri: vscode.Uri): void {
    this.byFile.delete(uri.toString());
    this.emitter.fire(uri);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.emitter.dispose();
  }
}

export class Scorer {
  constructor(
    private readonly distDir: string,
    private readonly cacheDir: string,
    private readonly store: ScoreStore,
    private readonly models: Models,
    private readonly datasets: DatasetManager,
    private readonly log: vscode.OutputChannel,
  ) {}

  /** sha256 of the record now at (line, sub), or null. */
  currentHash(uri: vscode.Uri, line: number, sub: number): string | null {
    const d = this.datasets.get(uri);
    if (!d?.result) return null;
    const i = recordAtLine(d.result.index, line);
    if (i < 0 || d.result.index.line[i] !== line) return null;
    const r = readRecord(d.path, d.result.index, i + sub, d.result.format);
    return r.record ? rawHash(r.raw) : null;
  }

  spec(uri: vscode.Uri, lines?: [number, number]): ScoreJobSpec | string {
    const s = this.models.settings();
    if (!s.policy) return 'no policy model: run "PrefLens: Select Models…" or set preflens.policyModel';
    const problems = this.models.problems();
    if (problems.length) return problems.join('; ');
    const d = this.datasets.get(uri);
    return {
      file: uri.fsPath,
      policy: s.policy,
      ref: s.reference ?? null,
      beta: s.beta,
      maxPromptLength: s.maxPromptLength,
      maxCompletionLength: s.maxCompletionLength,
      lines,
      format: d?.result?.format ?? undefined,
      provider: s.provider,
      cacheDir: this.cacheDir,
    };
  }

  /** Scores lines of a file (all when `lines` is undefined) with progress; resolves when done or cancelled. */
  async score(uri: vscode.Uri, lines?: [number, number]): Promise<'done' | 'cancelled' | 'error'> {
    const spec = this.spec(uri, lines);
    if (typeof spec === 'string') {
      const pick = await vscode.window.showErrorMessage(`PrefLens cannot score: ${spec}`, 'Select Models…');
      if (pick) await vscode.commands.executeCommand('preflens.selectModels');
      return 'error';
    }
    const name = uri.path.split('/').pop();
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `PrefLens: scoring ${name}`, cancellable: true },
      async (progress, token) => {
        let last = 0;
        const job = new ScoreJob(join(this.distDir, 'scoreWorker.js'), spec, (m) => {
          if (m.type === 'record') {
            if (!this.store.add(uri, m.record, (line, sub) => this.currentHash(uri, line, sub)))
              this.log.appendLine(`${uri.fsPath}: line ${m.record.line} changed since it was scored (or is not indexed yet: ${this.datasets.get(uri)?.state}); its numbers were discarded`);
          }
          else if (m.type === 'models') {
            this.models.setSummaries(m.policy, m.ref);
            this.log.appendLine(`scoring ${uri.fsPath}: policy on ${m.policy.deviceNote}`);
          } else if (m.type === 'progress') {
            const pct = (100 * m.records) / Math.max(1, m.total);
            progress.report({
              increment: pct - last,
              message: `${m.records.toLocaleString('en-US')}/${m.total.toLocaleString('en-US')} records · ${Math.round(m.tokensPerSecond).toLocaleString('en-US')} tok/s · ETA ${Math.round(m.etaSeconds)} s`,
            });
            last = pct;
          }
        });
        token.onCancellationRequested(() => job.cancel());
        const end = await job.finished;
        if (end.type === 'error') {
          this.log.appendLine(`scoring ${uri.fsPath} failed: ${end.message}`);
          void vscode.window.showErrorMessage(`PrefLens: scoring failed: ${end.message}`, 'Retry').then((r) => {
            if (r) void this.score(uri, lines);
          });
          return 'error';
        }
        if (end.type === 'cancelled') {
          void vscode.window.showInformationMessage(`PrefLens: scoring cancelled after ${end.records} records (their numbers are kept).`);
          return 'cancelled';
        }
        this.log.appendLine(`scored ${end.records} records of ${uri.toString()} in ${end.seconds.toFixed(1)} s on ${end.device}; ${this.store.all(uri).length} in the store`);
        return 'done';
      },
    );
  }
}
