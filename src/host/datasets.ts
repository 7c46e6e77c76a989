/**
 * Knows every preference file the user has open (docs/ARCHITECTURE.md, "Record access"): scans it in the worker when
 * it opens or changes on disk, tells the views (status bar, diagnostics, Datasets view, inspectors) when results
 * arrive, and answers "the record at line/sub" for every host feature through the file's index.
 */
import * as vscode from 'vscode';
import { stat } from 'node:fs/promises';
import type { ScanResult } from '../core/scan/index.js';
import { FORMAT_NAMES, type FormatName, isFormatName } from '../core/types.js';
import { CHECK_MASK, CHECK_NAMES, type CheckName } from '../core/checks/table.js';
import { describeFormat } from '../core/formats/normalize.js';
import { type LineRange, type ReadRecord, readRecordFd, recordAtLine, recordOnLine, type RecordRefs, refsOnLines } from '../core/records.js';
import { withFile } from '../core/jsonl/reader.js';
import type { WorkerClient } from './workerClient.js';
import { settingsConvention } from './models.js';
import { dict } from '../core/dict.js';

export type DatasetState = 'scanning' | 'ready' | 'failed' | 'not-preference';

export class Dataset {
  state: DatasetState = 'scanning';
  result: ScanResult | null = null;
  error: string | null = null;
  progress = 0;
  generation = 0;
  /** `worker`: reads a Parquet file's records by row (recordSource.ts), off the host thread. */
  constructor(
    readonly uri: vscode.Uri,
    private readonly worker?: WorkerClient,
  ) {}
  /** The file records are read from (a Parquet file too: by row, where it lies). */
  get path(): string {
    return this.uri.fsPath;
  }
  /** Parquet records are numbered by row, JSON ones by line. */
  get unit(): 'row' | 'line' {
    return isParquetUri(this.uri) ? 'row' : 'line';
  }
  get name(): string {
    return this.uri.path.split('/').pop() ?? this.uri.path;
  }
  /** Flags over all records (a record with two flags counts twice), plus lines that failed to parse. */
  private counted: { result: ScanResult; n: number } | null = null;

  /** Counted once per result: the status bar asks on every progress event and tab change. */
  get problemCount(): number {
    if (!this.result) return 0;
    if (this.counted?.result !== this.result) {
      let n = this.result.errorCount;
      const f = this.result.index.flags;
      // One problem per (record, check), as in the Problems panel.
      for (let i = 0; i < f.length; i++) for (let x = f[i] & CHECK_MASK; x !== 0; x &= x - 1) n++;
      this.counted = { result: this.result, n };
    }
    return this.counted.n;
  }
  get formatLabel(): string {
    return this.result?.format ? describeFormat(this.result.format) : 'preference file';
  }
  /** Index of the first record that covers `line` (1-based), or -1 before the index exists. */
  indexAtLine(line: number): number {
    return this.result ? recordAtLine(this.result.index, line) : -1;
  }

  /** Index of the `sub`-th record that starts on `line`, or -1. */
  indexOf(line: number, sub = 0): number {
    return this.result ? recordOnLine(this.result.index, line, sub) : -1;
  }

  /** Reads records of a JSON file's index (a short synchronous read each: hover, Problems ranges). */
  read(indices: Iterable<number>): ReadRecord[] {
    const r = this.result;
    if (!r) return [];
    return withFile(this.path, (fd) => Array.from(indices, (i) => readRecordFd(fd, r.index, i, r.format)));
  }

  /**
   * Reads records of the index, of any file: a JSON file's here (read), a Parquet file's by row in the worker, which
   * decodes their row groups and keeps the last few (the inspector's rows and record).
   */
  async readAsync(indices: number[]): Promise<ReadRecord[]> {
    const r = this.result;
    if (!r) return [];
    if (!isParquetUri(this.uri) || !this.worker) return this.read(indices);
    const refs: RecordRefs = { line: new Uint32Array(indices.length), offset: new Float64Array(indices.length), length: new Uint32Array(indices.length), sub: new Uint32Array(indices.length) };
    indices.forEach((i, k) => {
      refs.line[k] = r.index.line[i];
      refs.offset[k] = r.index.offset[i];
      refs.length[k] = r.index.length[i];
      refs.sub[k] = r.index.sub[i];
    });
    const reply = await this.worker.request({ op: 'records', path: this.path, refs, format: r.format });
    if (reply.type !== 'records') throw new Error('unexpected reply');
    return reply.records.map((rr, k) => (rr.record ? { ...rr, record: { ...rr.record, index: indices[k] } } : rr));
  }

  /** The record at index i. */
  readOne(i: number): ReadRecord {
    return this.read([i])[0] ?? { record: null, raw: '', error: 'the file is not indexed' };
  }

  /** Where the records on `lines` (all when undefined) are, to hand to a worker. */
  refs(lines?: LineRange): RecordRefs {
    return refsOnLines(this.result?.index ?? { line: new Uint32Array(), offset: new Float64Array(), length: new Uint32Array(), sub: new Uint32Array() }, lines);
  }

  /** Where the records at these (line, sub) places are now; a place with no record gets line 0 (it reads as none). */
  refsAt(places: ReadonlyArray<{ line: number; sub?: number }>): RecordRefs {
    const n = places.length;
    const out: RecordRefs = { line: new Uint32Array(n), offset: new Float64Array(n), length: new Uint32Array(n), sub: new Uint32Array(n) };
    const ix = this.result?.index;
    places.forEach((p, k) => {
      const i = this.indexOf(p.line, p.sub ?? 0);
      if (!ix || i < 0) return;
      out.line[k] = ix.line[i];
      out.offset[k] = ix.offset[i];
      out.length[k] = ix.length[i];
      out.sub[k] = ix.sub[i];
    });
    return out;
  }

  checkCounts(): Record<CheckName, number> {
    const out = Object.fromEntries(CHECK_NAMES.map((c) => [c, this.result?.checks[c].length ?? 0])) as Record<CheckName, number>;
    return out;
  }
}

export function isCandidateFile(uri: vscode.Uri): boolean {
  return uri.scheme === 'file' && /\.(jsonl|json|ndjson|parquet)$/i.test(uri.path);
}

/** A Parquet file: read where it lies, by row (numbered by row), with no text document (nor Problems entries). */
export function isParquetUri(uri: vscode.Uri): boolean {
  return /\.parquet$/i.test(uri.path);
}

export class DatasetManager implements vscode.Disposable {
  private readonly map = new Map<string, Dataset>();
  private readonly emitter = new vscode.EventEmitter<Dataset>();
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly worker: WorkerClient,
    private readonly state: vscode.Memento,
    private readonly log: vscode.OutputChannel,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.{jsonl,json,ndjson,parquet}');
    this.disposables.push(
      watcher,
      watcher.onDidChange((u) => this.onDiskChange(u)),
      watcher.onDidDelete((u) => this.forget(u)),
      vscode.workspace.onDidSaveTextDocument((d) => this.onDiskChange(d.uri)),
      vscode.workspace.onDidOpenTextDocument((d) => void this.open(d.uri)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('preflens')) for (const d of this.map.values()) void this.rescan(d.uri);
      }),
    );
    for (const d of vscode.workspace.textDocuments) void this.open(d.uri);
  }

  all(): Dataset[] {
    return [...this.map.values()].filter((d) => d.state !== 'not-preference');
  }

  get(uri: vscode.Uri): Dataset | undefined {
    return this.map.get(uri.toString());
  }

  formatOverride(uri: vscode.Uri): FormatName | undefined {
    const o = this.state.get<Record<string, string>>('preflens.formatOverrides', {})[uri.toString()];
    return o && isFormatName(o) ? o : undefined;
  }

  async setFormatOverride(uri: vscode.Uri, f: FormatName | undefined): Promise<void> {
    const all = { ...this.state.get<Record<string, string>>('preflens.formatOverrides', {}) };
    if (f) all[uri.toString()] = f;
    else delete all[uri.toString()];
    await this.state.update('preflens.formatOverrides', all);
    await this.rescan(uri);
  }

  /** The file's dataset once its full index is built (scanning it first when it is not tracked yet). */
  async ready(uri: vscode.Uri): Promise<Dataset | undefined> {
    const d = this.get(uri) ?? (await this.open(uri));
    if (!d || (d.state === 'ready' && d.result && !d.result.partial)) return d;
    if (d.state !== 'scanning') return d;
    return new Promise((resolve) => {
      const sub = this.onDidChange((x) => {
        if (x === d && x.state !== 'scanning') {
          sub.dispose();
          resolve(x);
        }
      });
    });
  }

  /** PrefLens: Set Format for This File…: a quick pick of the formats, then a rescan. */
  async pickFormat(uri: vscode.Uri): Promise<void> {
    const current = this.formatOverride(uri);
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'Detect automatically', format: undefined as FormatName | undefined, description: current ? '' : '(current)' },
        ...FORMAT_NAMES.map((f) => ({ label: f, format: f as FormatName | undefined, description: `${describeFormat(f)}${current === f ? ' (current)' : ''}` })),
      ],
      { title: 'PrefLens: format of this file' },
    );
    if (pick) await this.setFormatOverride(uri, pick.format);
  }

  /** Starts tracking a file (scans it once). */
  async open(uri: vscode.Uri): Promise<Dataset | undefined> {
    if (!isCandidateFile(uri)) return undefined;
    const existing = this.map.get(uri.toString());
    if (existing) return existing;
    return this.rescan(uri);
  }

  private onDiskChange(uri: vscode.Uri): void {
    if (!this.map.has(uri.toString())) return;
    const k = uri.toString();
    clearTimeout(this.timers.get(k));
    this.timers.set(
      k,
      setTimeout(() => void this.rescan(uri), 300),
    );
  }

  private forget(uri: vscode.Uri): void {
    const d = this.map.get(uri.toString());
    if (!d) return;
    this.map.delete(uri.toString());
    d.state = 'not-preference';
    d.result = null;
    this.emitter.fire(d);
  }

  async rescan(uri: vscode.Uri): Promise<Dataset> {
    const key = uri.toString();
    let d = this.map.get(key);
    if (!d) {
      d = new Dataset(uri, this.worker);
      this.map.set(key, d);
    }
    const gen = ++d.generation;
    d.state = 'scanning';
    d.progress = 0;
    if (d.result?.partial) d.result = null;
    this.emitter.fire(d);
    const cfg = vscode.workspace.getConfiguration('preflens', uri);
    const trusted = vscode.workspace.isTrusted;
    const tokenizer = trusted ? cfg.get<string>('tokenizer') || undefined : undefined;
    const t0 = Date.now();
    // The truncation check follows the scoring convention (the same settings, the same resolution).
    const checks = {
      convention: settingsConvention(cfg).convention,
      maxPromptLength: cfg.get<number>('maxPromptLength', 512),
      maxLength: cfg.get<number>('maxLength', 1024),
      maxCompletionLength: cfg.get<number | null>('maxCompletionLength', null),
      // A plain copy: VS Code's configuration objects are proxies, which cannot be posted to the worker.
      rewardWeights: dict(Object.entries(cfg.get<Record<string, unknown>>('rewardWeights', {}) ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))),
    };
    // Huge files: the first 4 MB first, so that the status bar and the inspector show records within a moment while
    // the rest is scanned (the whole scan's result replaces the head's). One request: the host worker detects the
    // format once, and reads a Parquet file once (scanFile onHead). (Starting a separate full scan beside the head
    // scan did not shorten the index on two cores: bench/scale, README "Hub-shaped data".)
    let size = 0;
    try {
      size = (await stat(uri.fsPath)).size;
    } catch {
      // the scan says why the file cannot be read
    }
    try {
      const reply = await this.worker.request(
        {
          op: 'scan',
          path: uri.fsPath,
          options: {
            format: this.formatOverride(uri),
            tokenizerDir: tokenizer,
            checks,
          },
          ...(size > 64 << 20 ? { head: 4 << 20 } : {}),
        },
        {
          onHead: (head) => {
            if (d && gen === d.generation && d.state === 'scanning') {
              d.result = head;
              this.log.appendLine(`${uri.fsPath}: first ${head.records} records ready in ${Date.now() - t0} ms (indexing the rest)`);
              this.emitter.fire(d);
            } else this.log.appendLine(`${uri.fsPath}: head scan not used (generation ${gen}/${d?.generation}, ${d?.state})`);
          },
          onProgress: (done, total) => {
            if (d && gen === d.generation) {
              d.progress = total ? done / total : 0;
              this.emitter.fire(d);
            }
          },
        },
      );
      if (gen !== d.generation) return d;
      if (reply.type !== 'scan') throw new Error('unexpected reply');
      if (reply.result === null) {
        d.state = 'not-preference';
        d.result = null;
      } else {
        d.state = 'ready';
        d.result = reply.result;
        d.error = null;
        this.log.appendLine(`${uri.fsPath}: ${reply.result.format}, ${reply.result.records} records, ${reply.result.errorCount} errors, scanned in ${Date.now() - t0} ms`);
      }
    } catch (e) {
      if (gen !== d.generation) return d;
      const msg = e instanceof Error ? e.message : String(e);
      d.state = 'failed';
      d.error = msg;
      d.result = null;
      this.log.appendLine(`${uri.fsPath}: scan failed: ${msg}`);
    }
    this.emitter.fire(d);
    return d;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.disposables.forEach((x) => x.dispose());
    this.emitter.dispose();
  }
}
