/**
 * Scanning a preference file: streaming parse, format detection, normalisation, checks and the record index
 * (line, byte offset, length of every record, for random access). Large JSON Lines files are split into byte
 * ranges scanned by worker threads in parallel; the partial results are merged here.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  CHECK_BITS,
  CHECK_NAMES,
  type CheckName,
  ERROR_BIT,
  FORMAT_NAMES,
  type FormatName,
  type PreferenceRecord,
  type RecordError,
} from './types.js';
import {
  decodeUtf8,
  iterateArrayElements,
  iterateLines,
  nextLineStart,
  readBytes,
  type RawItem,
  sniffSource,
  type SourceKind,
  withFile,
} from './jsonl/reader.js';
import { detectRecordFormat, FieldError, normalize } from './formats/normalize.js';
import {
  type CheckOptions,
  DEFAULT_CHECK_OPTIONS,
  F_STRIDE,
  I,
  I_STRIDE,
  type RecordKeys,
  type SummaryChunk,
  summarizeRecord,
  type TokenCounter,
} from './checks/record.js';
import { fastParseAvailable, KeyKernel } from './fastScan.js';
import { crossPartCandidates, exactKeysAt, type LengthStats, mergeLengths, PartBuilder, S, type ScanPart, seriesStats } from './scanParts.js';

export type { LengthStats } from './scanParts.js';

export class InputError extends Error {}

export interface RangeTask {
  path: string;
  kind: SourceKind;
  bomLength: number;
  start: number;
  end: number;
  format: FormatName | null;
  strict: boolean;
  opts: CheckOptions;
  tokenizerDir?: string;
  maxErrors: number;
  /** Only the JavaScript path (no WebAssembly kernel): the reference the kernel is tested against. */
  exactOnly?: boolean;
}

export type { ScanPart } from './scanParts.js';
const BLANK = /^[\s]*$/;

function parseErrorPosition(msg: string, text: string): number | undefined {
  const m = /position (\d+)/.exec(msg);
  if (m) return Number(m[1]);
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) {
    // column within the record's text (records are one line in JSONL)
    let pos = 0;
    for (let l = 1; l < Number(lc[1]); l++) pos = text.indexOf('\n', pos) + 1;
    return pos + Number(lc[2]) - 1;
  }
  if (/Unexpected end of JSON input/.test(msg)) return text.length;
  return undefined;
}

function cleanJsonMessage(msg: string): string {
  return msg
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/, "[^"]*"(\.\.\.)? is not valid JSON$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of JSON (truncated record?)');
}

/** Loads a token counter for `--tokenizer DIR` (tokenizer.json + tokenizer_config.json). */
export async function loadTokenCounter(dir: string): Promise<TokenCounter> {
  const { loadHfTokenizer } = await import('./tokenize/hf.js');
  return loadHfTokenizer(dir);
}

/** Scans one byte range: the work a worker does. */
export function scanRange(task: RangeTask, tok: TokenCounter | null, onProgress?: (bytes: number) => void): ScanPart {
  // The kernel reads the lines itself where it can: JSON Lines, the word-level token count, flat string formats.
  const parse = task.kind === 'jsonl' && !tok && !task.exactOnly && fastParseAvailable(task.format, task.opts);
  const part = new PartBuilder(parse ? task.format : 'none', task.opts);
  // One-row scratch for records of the JavaScript path.
  const one: SummaryChunk = { f: new Float64Array(F_STRIDE), i: new Int32Array(I_STRIDE) };
  const extra: number[] = [];
  const errors: RecordError[] = [];
  let errorCount = 0;
  let lineCount = 0;
  const addError = (e: RecordError): void => {
    errorCount++;
    if (errors.length < task.maxErrors) errors.push(e);
  };
  let lastReport = 0;
  const handle = (item: RawItem): void => {
    const { text, invalidUtf8 } = decodeUtf8(item.bytes);
    if (item.bytes.length < 64 ? BLANK.test(text) : text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const pos = parseErrorPosition(msg, text);
      addError({ line: item.line, column: pos === undefined ? undefined : pos + 1, message: `invalid JSON: ${cleanJsonMessage(msg)}` });
      return;
    }
    const base = { index: 0, line: item.line, offset: item.offset };
    let recs: PreferenceRecord[] | null = null;
    let err: FieldError | null = null;
    const fmt = task.format ?? detectRecordFormat(value);
    if (fmt === null) {
      addError({ line: item.line, message: describeUnknown(value) });
      return;
    }
    try {
      recs = normalize(value, fmt, base);
    } catch (e) {
      if (!(e instanceof FieldError)) {
        // Hostile shapes (deep nesting, huge trees) must never escape the engine: report the line.
        addError({ line: item.line, message: `cannot read this record (${e instanceof Error ? e.message : String(e)})` });
        return;
      }
      err = e;
      if (!task.strict) {
        const own = detectRecordFormat(value);
        if (own !== null && own !== fmt) {
          try {
            recs = normalize(value, own, base);
            err = null;
          } catch {
            /* report the error of the file's format */
          }
        }
      }
    }
    if (err !== null || recs === null) {
      const field = err?.field ?? '';
      addError({
        line: item.line,
        field: field || undefined,
        message: field ? `field "${field}": ${err?.message}` : String(err?.message),
      });
      return;
    }
    for (const r of recs) {
      extra.length = 0;
      try {
        summarizeRecord(r, item.bytes.length, task.opts, tok, one, 0, extra);
        if (invalidUtf8) one.i[I.flags] |= CHECK_BITS.encoding;
        part.addRow(one, extra);
      } catch (e) {
        addError({ line: item.line, message: `cannot check this record (${e instanceof Error ? e.message : String(e)})` });
      }
    }
    if (onProgress && item.offset - lastReport > 8 << 20) {
      lastReport = item.offset;
      onProgress(item.offset - task.start);
    }
  };
  return withFile(task.path, (fd, size) => {
    if (parse) {
      const start = task.start === 0 ? task.bomLength : task.start;
      lineCount = part.kernel.scanLines(fd, start, task.end, handle, (b) => onProgress?.(b + start - task.start));
    } else if (task.kind === 'jsonl') {
      const start = task.start === 0 ? task.bomLength : task.start;
      for (const item of iterateLines(fd, start, task.end, 1)) {
        lineCount = item.line;
        handle(item);
      }
    } else if (task.kind === 'json-array') {
      for (const item of iterateArrayElements(fd, task.bomLength, (e) => addError({ line: e.line, message: e.message }))) handle(item);
    } else {
      if (size > 512 << 20) throw new InputError(`${task.path}: a single JSON object of ${size} bytes is too large`);
      const bytes = readBytes(fd, task.bomLength, size - task.bomLength);
      handle({ line: 1, offset: task.bomLength, bytes });
    }
    return part.finish(lineCount, errors, errorCount, fd);
  });
}

function describeUnknown(v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return `expected a JSON object per record, got ${Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`}`;
  const keys = Object.keys(v).slice(0, 8);
  return `unrecognised record: keys ${keys.map((k) => `"${k}"`).join(', ')} match no known format (expected e.g. prompt/chosen/rejected)`;
}

export interface FormatGuess {
  format: FormatName | null;
  votes: Partial<Record<FormatName, number>>;
  kind: SourceKind;
  bomLength: number;
}

/** Detects a file's format from its first records (majority of the first 64 parseable records). */
export function detectFileFormat(path: string, sample = 64): FormatGuess {
  return withFile(path, (fd) => {
    const { kind, bomLength } = sniffSource(fd, path);
    const votes: Partial<Record<FormatName, number>> = {};
    let seen = 0;
    const items: Iterable<RawItem> =
      kind === 'jsonl'
        ? iterateLines(fd, bomLength, statSync(path).size, 1)
        : kind === 'json-array'
          ? iterateArrayElements(fd, bomLength, () => undefined)
          : [{ line: 1, offset: bomLength, bytes: readBytes(fd, bomLength, Math.min(statSync(path).size, 512 << 20)) }];
    let looked = 0;
    for (const item of items) {
      if (seen >= sample || looked > sample * 16) break;
      looked++;
      let v: unknown;
      try {
        v = JSON.parse(item.bytes.toString('utf8'));
      } catch {
        continue;
      }
      const f = detectRecordFormat(v);
      if (f) {
        votes[f] = (votes[f] ?? 0) + 1;
        seen++;
      }
    }
    let best: FormatName | null = null;
    for (const f of FORMAT_NAMES) if ((votes[f] ?? 0) > (best ? (votes[best] ?? 0) : 0)) best = f;
    return { format: best, votes, kind, bomLength };
  });
}

/** What a scan finds; ScanResult adds where every record is. */
export interface ScanSummary {
  file: string;
  format: FormatName | null;
  formatSource: 'detected' | 'override';
  /** Records per format when a file mixes formats. */
  formats: Partial<Record<FormatName, number>>;
  source: SourceKind;
  bytes: number;
  lines: number;
  records: number;
  errors: RecordError[];
  errorCount: number;
  checks: Record<CheckName, number[]>;
  /** For duplicate and contradiction records: the line of the earlier record they repeat or contradict. */
  related: Record<number, number>;
  lengths: {
    tokenizer: string;
    prompt: { chars: LengthStats; tokens: LengthStats };
    chosen: { chars: LengthStats; tokens: LengthStats };
    rejected: { chars: LengthStats; tokens: LengthStats };
    completion: { chars: LengthStats; tokens: LengthStats };
    candidate: { chars: LengthStats; tokens: LengthStats };
    /** Share of pairs whose chosen response has more tokens than the rejected one. */
    chosenLongerShare: number | null;
    chosenLongerShareChars: number | null;
    pairs: number;
  };
  /** KTO: desirable / undesirable counts. */
  labels?: { desirable: number; undesirable: number };
  seconds: number;
  /** Only the first `scannedBytes` bytes were scanned (a head scan). */
  partial?: boolean;
  scannedBytes?: number;
}

export interface ScanResult extends ScanSummary {
  index: RecordIndex;
}

/** Where every record is, for random access and per-record flags. */
export interface RecordIndex {
  line: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  sub: Uint32Array;
  flags: Uint32Array;
}

export interface ScanOptions {
  format?: FormatName;
  checks?: Partial<CheckOptions>;
  tokenizerDir?: string;
  /** Worker threads (default: available cores; 0 or 1 = scan on this thread). */
  workers?: number;
  /** Files smaller than this are scanned on one thread. */
  parallelThreshold?: number;
  maxErrors?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Where scanWorker.js lives (defaults to next to this module). */
  workerScript?: string;
  /**
   * Scan only the first ~headBytes bytes of a JSON Lines file (whole lines): a quick, partial result (partial: true)
   * so that views can show the first records of a huge file while the full scan runs.
   */
  headBytes?: number;
  /** Only the JavaScript path (no WebAssembly kernel): the reference the kernel is tested against. */
  exactOnly?: boolean;
  /** Build the record index (default true); `preflens stats` does not need it. */
  index?: boolean;
  /**
   * Scan the first range on the calling thread (blocking it) while the workers scan the others: for a process
   * that does nothing else (the CLI).
   */
  inline?: boolean;
}

export function defaultWorkerScript(): string {
  return join(__dirname, 'scanWorker.js');
}

function runWorker(script: string, task: RangeTask, onProgress: (b: number) => void, signal?: AbortSignal): Promise<ScanPart> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData: task });
    const abort = (): void => {
      void w.terminate();
      reject(new Error('cancelled'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    w.on('message', (m: { type: 'progress'; bytes: number } | { type: 'done'; part: ScanPart } | { type: 'error'; message: string; input: boolean }) => {
      if (m.type === 'progress') onProgress(m.bytes);
      else if (m.type === 'done') {
        signal?.removeEventListener('abort', abort);
        resolve(m.part);
        void w.terminate();
      } else {
        signal?.removeEventListener('abort', abort);
        reject(m.input ? new InputError(m.message) : new Error(m.message));
        void w.terminate();
      }
    });
    w.on('error', (e) => {
      signal?.removeEventListener('abort', abort);
      reject(e);
    });
    w.on('exit', (code) => {
      if (code !== 0) reject(new Error(`scan worker exited with code ${code}`));
    });
  });
}

/** Scans a whole file. Throws InputError for unreadable or empty files. */
export async function scanFile(path: string, options: ScanOptions & { index: false }): Promise<ScanSummary>;
export async function scanFile(path: string, options?: ScanOptions): Promise<ScanResult>;
export async function scanFile(path: string, options: ScanOptions = {}): Promise<ScanSummary> {
  const t0 = performance.now();
  if (!existsSync(path)) throw new InputError(`${path}: no such file`);
  const st = statSync(path);
  if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a preference file`);
  if (st.size === 0) throw new InputError(`${path}: the file is empty`);
  const guess = detectFileFormat(path);
  const format = options.format ?? guess.format;
  const opts: CheckOptions = { ...DEFAULT_CHECK_OPTIONS, ...options.checks };
  const maxErrors = options.maxErrors ?? 10000;
  const base: Omit<RangeTask, 'start' | 'end'> = {
    path,
    kind: guess.kind,
    bomLength: guess.bomLength,
    format,
    strict: options.format !== undefined,
    opts,
    tokenizerDir: options.tokenizerDir,
    maxErrors,
    exactOnly: options.exactOnly,
  };
  const nWorkers = options.workers ?? availableParallelism();
  const threshold = options.parallelThreshold ?? 16 << 20;
  let parts: ScanPart[];
  if (options.headBytes !== undefined && guess.kind === 'jsonl' && st.size > options.headBytes) {
    const end = withFile(path, (fd, size) => nextLineStart(fd, options.headBytes ?? 0, size));
    const part = scanRange({ ...base, start: 0, end }, null);
    const res = merge(path, [part], format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir, options.index !== false);
    res.partial = true;
    res.scannedBytes = end;
    res.seconds = (performance.now() - t0) / 1000;
    return res;
  }
  if (guess.kind !== 'jsonl' || nWorkers <= 1 || st.size < threshold) {
    const tok = options.tokenizerDir ? await loadTokenCounter(options.tokenizerDir) : null;
    if (options.signal?.aborted) throw new Error('cancelled');
    parts = [scanRange({ ...base, start: 0, end: st.size }, tok, (b) => options.onProgress?.(b, st.size))];
  } else {
    const bounds = withFile(path, (fd, size) => {
      const b = [0];
      for (let i = 1; i < nWorkers; i++) b.push(nextLineStart(fd, Math.floor((size * i) / nWorkers), size));
      b.push(size);
      return b;
    });
    const done = new Array<number>(nWorkers).fill(0);
    const progress = (i: number, b: number): void => {
      done[i] = b;
      options.onProgress?.(
        done.reduce((s, x) => s + x, 0),
        st.size,
      );
    };
    const script = options.workerScript ?? defaultWorkerScript();
    // With `inline`, this thread scans the first range itself while the workers start up.
    const first = options.inline ? 1 : 0;
    const running = bounds.slice(first, -1).map((start, j) => {
      const i = j + first;
      return runWorker(script, { ...base, start, end: bounds[i + 1] }, (b) => progress(i, b), options.signal);
    });
    const tok = options.inline && options.tokenizerDir ? await loadTokenCounter(options.tokenizerDir) : null;
    const own = options.inline ? [scanRange({ ...base, start: 0, end: bounds[1] }, tok, (b) => progress(0, b))] : [];
    parts = [...own, ...(await Promise.all(running))];
  }
  const res = merge(path, parts, format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir, options.index !== false);
  res.seconds = (performance.now() - t0) / 1000;
  if (res.records === 0 && res.errorCount === 0) throw new InputError(`${path}: no records (the file holds only blank lines)`);
  return res;
}

/** Open-addressing map from 53-bit hashes (≥ 0) to non-negative integers: compact and fast for millions of keys. */
class HashIndex {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  private size = 0;
  constructor(expected: number) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
  }
  private slot(h: number): number {
    let i = (h ^ (h / 0x100000000)) & this.mask;
    while (this.keys[i] !== -1 && this.keys[i] !== h) i = (i + 1) & this.mask;
    return i;
  }
  get(h: number): number {
    const i = this.slot(h);
    return this.keys[i] === h ? this.vals[i] : -1;
  }
  /** Sets h → v unless h is present; returns the existing value or -1. */
  putIfAbsent(h: number, v: number): number {
    const i = this.slot(h);
    if (this.keys[i] === h) return this.vals[i];
    this.keys[i] = h;
    this.vals[i] = v;
    if (++this.size * 2 > this.keys.length) this.grow();
    return -1;
  }
  private grow(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    this.keys = new Float64Array(oldK.length * 2).fill(-1);
    this.vals = new Int32Array(oldK.length * 2);
    this.mask = this.keys.length - 1;
    for (let i = 0; i < oldK.length; i++)
      if (oldK[i] !== -1) {
        const j = this.slot(oldK[i]);
        this.keys[j] = oldK[i];
        this.vals[j] = oldV[i];
      }
  }
}

function merge(
  file: string,
  parts: ScanPart[],
  format: FormatName | null,
  formatSource: 'detected' | 'override',
  source: SourceKind,
  bytes: number,
  tokenizerDir: string | undefined,
  withIndex: boolean,
): ScanSummary & { index?: RecordIndex } {
  const total = parts.reduce((s, p) => s + p.count, 0);
  const base: number[] = []; // global index of each range's first record
  const lineBase: number[] = []; // lines before each range
  const errors: RecordError[] = [];
  let errorCount = 0;
  const candidate = new Uint8Array(total);
  let k = 0;
  let lines = 0;
  for (const part of parts) {
    base.push(k);
    lineBase.push(lines);
    for (const e of part.errors) if (errors.length < 10000) errors.push({ ...e, line: e.line + lines });
    errorCount += part.errorCount;
    candidate.set(part.candidate, k);
    k += part.count;
    lines += part.lineCount;
  }
  /** The range and local index of global record i. */
  const locate = (i: number): [ScanPart, number, number] => {
    let w = parts.length - 1;
    while (base[w] > i) w--;
    return [parts[w], i - base[w], w];
  };
  const lineOf = (i: number): number => {
    const [p, j, w] = locate(i);
    return p.line[j] + lineBase[w];
  };
  // Duplicates and contradictions, in two steps. Rows carry signature keys (equal normalised texts ⇒ equal
  // signatures): records that share a signature key with another record are candidates (found by the workers
  // within their ranges, and here across ranges); only those are keyed with the exact normalised hash (by the
  // workers, or here for candidates across ranges), in file order, which gives the same result as keying every
  // record.
  const kk = new KeyKernel(); // the kernel routines of this merge
  crossPartCandidates(parts, candidate, kk);
  const related: Record<number, number> = {};
  const marked: number[] = []; // records that became duplicates or contradictions
  let candidates = 0;
  for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) candidates++;
  if (candidates > 0) {
    const seen = new HashIndex(candidates); // exact record key → record index
    const pairKeys = new HashIndex(candidates); // exact (prompt, chosen, rejected) → record index
    const mark = (i: number, bit: number): void => {
      const [p, j] = locate(i);
      p.flags[j] |= bit;
      marked.push(i);
    };
    withFile(file, (fd) => {
      let w = 0;
      let e = 0; // position in parts[w].exact
      for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) {
        while (w + 1 < parts.length && i >= base[w + 1]) {
          w++;
          e = 0;
        }
        const p = parts[w];
        const j = i - base[w];
        const ex = p.exact;
        let keys: RecordKeys | null;
        if (e < ex.length && ex[e] === j) {
          keys = ex[e + 1] === -2 ? null : { recordHash: ex[e + 1], pairKey: ex[e + 2], swappedKey: ex[e + 3] };
          e += 4;
        } else keys = exactKeysAt(fd, p, j);
        if (!keys) continue;
        const line = p.line[j] + lineBase[w];
        const first = seen.putIfAbsent(keys.recordHash, i);
        if (first >= 0) {
          mark(i, CHECK_BITS.duplicate);
          related[line] = lineOf(first);
        }
        if (keys.swappedKey >= 0) {
          const swapped = pairKeys.get(keys.swappedKey);
          if (swapped >= 0) {
            mark(i, CHECK_BITS.contradiction);
            mark(swapped, CHECK_BITS.contradiction);
            if (related[line] === undefined) related[line] = lineOf(swapped);
          }
          pairKeys.putIfAbsent(keys.pairKey, i);
        }
      }
    });
  }
  const checks = Object.fromEntries(CHECK_NAMES.map((c) => [c, [] as number[]])) as Record<CheckName, number[]>;
  const addChecks = (p: ScanPart, j: number, w: number): void => {
    const f = p.flags[j];
    for (const c of CHECK_NAMES) if (f & CHECK_BITS[c]) checks[c].push(p.line[j] + lineBase[w]);
  };
  parts.forEach((p, w) => {
    for (const j of p.flagged) addChecks(p, j, w);
  });
  for (const i of marked) {
    const [p, j, w] = locate(i);
    addChecks(p, j, w);
  }
  for (const c of CHECK_NAMES) checks[c] = [...new Set(checks[c])].sort((a, b) => a - b);
  errors.sort((a, b) => a.line - b.line);
  const agg = mergeLengths(parts);
  const formats: Partial<Record<FormatName, number>> = {};
  FORMAT_NAMES.forEach((f, i) => {
    if (agg.formats[i] > 0) formats[f] = agg.formats[i];
  });
  const mk = (chars: S, tokens: S): { chars: LengthStats; tokens: LengthStats } => ({ chars: seriesStats(agg, chars, kk), tokens: seriesStats(agg, tokens, kk) });
  const pairs = agg.pairs;
  const res: ScanSummary & { index?: RecordIndex } = {
    file,
    format,
    formatSource,
    formats,
    source,
    bytes,
    lines,
    records: total,
    errors,
    errorCount,
    checks,
    related,
    lengths: {
      tokenizer: tokenizerDir ? `tokenizer.json in ${tokenizerDir}` : 'word-level fallback (words and punctuation; see README)',
      prompt: mk(S.PromptChars, S.PromptTokens),
      chosen: mk(S.ChosenChars, S.ChosenTokens),
      rejected: mk(S.RejectedChars, S.RejectedTokens),
      completion: mk(S.CompletionChars, S.CompletionTokens),
      candidate: mk(S.CandidateChars, S.CandidateTokens),
      chosenLongerShare: pairs ? Math.round((agg.longer / pairs) * 10000) / 10000 : null,
      chosenLongerShareChars: pairs ? Math.round((agg.longerChars / pairs) * 10000) / 10000 : null,
      pairs,
    },
    seconds: 0,
  };
  if (agg.desirable + agg.undesirable > 0) res.labels = { desirable: agg.desirable, undesirable: agg.undesirable };
  if (withIndex) {
    const index: RecordIndex = {
      line: new Uint32Array(total),
      offset: new Float64Array(total),
      length: new Uint32Array(total),
      sub: new Uint32Array(total),
      flags: new Uint32Array(total),
    };
    parts.forEach((p, w) => {
      const at = base[w];
      index.line.set(p.line, at);
      if (lineBase[w] > 0) for (let i = at; i < at + p.count; i++) index.line[i] += lineBase[w];
      index.offset.set(p.offset, at);
      index.length.set(p.length, at);
      index.sub.set(p.sub, at);
      index.flags.set(p.flags, at);
    });
    res.index = index;
  }
  return res;
}

export { ERROR_BIT };
