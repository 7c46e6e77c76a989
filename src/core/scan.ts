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
  exactRecordKeys,
  F,
  F_STRIDE,
  I,
  I_STRIDE,
  type RecordKeys,
  type SummaryChunk,
  summarizeRecord,
  type TokenCounter,
} from './checks/record.js';
import { fastScanAvailable, fastScanLines } from './fastScan.js';

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

/** Records per summary chunk: chunks avoid re-copying one growing array (memory stays flat at any size). */
export const CHUNK_RECORDS = 8192;

export interface ScanPart {
  /** Packed summaries, CHUNK_RECORDS per chunk (the last one may be shorter). */
  rows: SummaryChunk[];
  count: number;
  extra: Float64Array;
  errors: RecordError[];
  errorCount: number;
  /** Lines in the range (relative numbering starts at 1). */
  lineCount: number;
}

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
  const rows: SummaryChunk[] = [];
  const newChunk = (): SummaryChunk => ({ f: new Float64Array(CHUNK_RECORDS * F_STRIDE), i: new Int32Array(CHUNK_RECORDS * I_STRIDE) });
  let chunk = newChunk();
  let inChunk = 0;
  let count = 0;
  const extraList: number[] = [];
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
      if (inChunk === CHUNK_RECORDS) {
        rows.push(chunk);
        chunk = newChunk();
        inChunk = 0;
      }
      try {
        summarizeRecord(r, item.bytes.length, task.opts, tok, chunk, inChunk, extraList);
      } catch (e) {
        addError({ line: item.line, message: `cannot check this record (${e instanceof Error ? e.message : String(e)})` });
        continue;
      }
      if (invalidUtf8) chunk.i[inChunk * I_STRIDE + I.flags] |= CHECK_BITS.encoding;
      inChunk++;
      count++;
    }
    if (onProgress && item.offset - lastReport > 8 << 20) {
      lastReport = item.offset;
      onProgress(item.offset - task.start);
    }
  };
  const addRows = (f: Float64Array, ints: Int32Array, n: number): void => {
    for (let done = 0; done < n; ) {
      if (inChunk === CHUNK_RECORDS) {
        rows.push(chunk);
        chunk = newChunk();
        inChunk = 0;
      }
      const m = Math.min(n - done, CHUNK_RECORDS - inChunk);
      chunk.f.set(f.subarray(done * F_STRIDE, (done + m) * F_STRIDE), inChunk * F_STRIDE);
      chunk.i.set(ints.subarray(done * I_STRIDE, (done + m) * I_STRIDE), inChunk * I_STRIDE);
      inChunk += m;
      count += m;
      done += m;
    }
  };
  withFile(task.path, (fd, size) => {
    if (task.kind === 'jsonl' && !tok && !task.exactOnly && fastScanAvailable(task.format, task.opts)) {
      const start = task.start === 0 ? task.bomLength : task.start;
      lineCount = fastScanLines(fd, start, task.end, task.format, task.opts, {
        rows: addRows,
        slow: handle,
        progress: (b) => onProgress?.(b + start - task.start),
      });
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
  });
  if (inChunk > 0) rows.push({ f: chunk.f.slice(0, inChunk * F_STRIDE), i: chunk.i.slice(0, inChunk * I_STRIDE) });
  return { rows, count, extra: Float64Array.from(extraList), errors, errorCount, lineCount };
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

export interface LengthStats {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export interface ScanResult {
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
  index: RecordIndex;
  seconds: number;
  /** Only the first `scannedBytes` bytes were scanned (a head scan). */
  partial?: boolean;
  scannedBytes?: number;
}

/** Where every record is, for random access and per-record flags. */
export interface RecordIndex {
  line: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  sub: Uint32Array;
  flags: Uint32Array;
}

/** Open-addressing map from 53-bit hashes (≥ 0) to record indices: compact and fast for millions of keys. */
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
    for (let i = 0; i < oldK.length; i++) if (oldK[i] !== -1) {
      const j = this.slot(oldK[i]);
      this.keys[j] = oldK[i];
      this.vals[j] = oldV[i];
    }
  }
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
        if (process.env.PT) console.error('worker done at', performance.now().toFixed(0));
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
export async function scanFile(path: string, options: ScanOptions = {}): Promise<ScanResult> {
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
    const res = merge(path, [part], format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir);
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
    const script = options.workerScript ?? defaultWorkerScript();
    parts = await Promise.all(
      bounds.slice(0, -1).map((start, i) =>
        runWorker(
          script,
          { ...base, start, end: bounds[i + 1] },
          (b) => {
            done[i] = b;
            options.onProgress?.(
              done.reduce((s, x) => s + x, 0),
              st.size,
            );
          },
          options.signal,
        ),
      ),
    );
  }
  const tm = performance.now();
  if (process.env.PT) console.error('workers done', (tm - t0).toFixed(0));
  const res = merge(path, parts, format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir);
  if (process.env.PT) console.error('merge', (performance.now() - tm).toFixed(0));
  res.seconds = (performance.now() - t0) / 1000;
  if (res.records === 0 && res.errorCount === 0) throw new InputError(`${path}: no records (the file holds only blank lines)`);
  return res;
}

/**
 * Exact length statistics without sorting: counts per value below 2¹⁶ (almost every text), the rest kept and
 * sorted. Quantiles are order statistics: the value at index round(p·(n−1)) of the sorted values.
 */
class Hist {
  private dense = new Uint32Array(1 << 16);
  private big: number[] = [];
  private n = 0;
  private sum = 0;
  push(v: number): void {
    if (v < 1 << 16) this.dense[v]++;
    else this.big.push(v);
    this.n++;
    this.sum += v;
  }
  stats(): LengthStats {
    const n = this.n;
    if (n === 0) return { count: 0, mean: 0, min: 0, p50: 0, p95: 0, max: 0 };
    this.big.sort((a, b) => a - b);
    const denseCount = n - this.big.length;
    const at = (i: number): number => {
      if (i >= denseCount) return this.big[i - denseCount];
      let c = 0;
      for (let v = 0; v < this.dense.length; v++) {
        c += this.dense[v];
        if (c > i) return v;
      }
      return this.dense.length - 1;
    };
    const q = (p: number): number => at(Math.min(n - 1, Math.floor(p * (n - 1) + 0.5)));
    return { count: n, mean: Math.round((this.sum / n) * 100) / 100, min: at(0), p50: q(0.5), p95: q(0.95), max: at(n - 1) };
  }
}

/** Exact keys of the record at [offset, offset + length), re-read from the file; null if it no longer parses. */
function exactKeysAt(fd: number, offset: number, length: number, format: FormatName, sub: number): RecordKeys | null {
  try {
    const { text } = decodeUtf8(readBytes(fd, offset, length));
    const rec = normalize(JSON.parse(text), format, { index: 0, line: 0, offset })[sub];
    return rec ? exactRecordKeys(rec) : null;
  } catch {
    return null;
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
): ScanResult {
  const total = parts.reduce((s, p) => s + p.count, 0);
  if (process.env.PT) console.error('m.start', performance.now().toFixed(0));
  const index: RecordIndex = {
    line: new Uint32Array(total),
    offset: new Float64Array(total),
    length: new Uint32Array(total),
    sub: new Uint32Array(total),
    flags: new Uint32Array(total),
  };
  const errors: RecordError[] = [];
  let errorCount = 0;
  const lens = {
    pc: new Hist(), pt: new Hist(), cc: new Hist(), ct: new Hist(), rc: new Hist(), rt: new Hist(),
    kc: new Hist(), kt: new Hist(), xc: new Hist(), xt: new Hist(),
  };
  let pairs = 0;
  let longer = 0;
  let longerChars = 0;
  let desirable = 0;
  let undesirable = 0;
  const formats: Partial<Record<FormatName, number>> = {};
  // Duplicates and contradictions, in two steps. Rows carry signature keys (equal normalised texts ⇒ equal
  // signatures): records that share a signature key with another record are candidates; only those are re-read
  // and keyed with the exact normalised hash, in file order, which gives the same result as keying every record.
  const sigSeen = new HashIndex(total); // signature record key → first record
  const sigPairs = new HashIndex(total); // signature (prompt, chosen, rejected) → first record
  const sigPair = new Float64Array(total).fill(-1);
  const sigSwapped = new Float64Array(total).fill(-1);
  const candidate = new Uint8Array(total);
  const recFormat = new Uint8Array(total);
  const related: Record<number, number> = {};
  let lineBase = 0;
  let k = 0;
  for (const part of parts) {
    for (const e of part.errors) if (errors.length < 10000) errors.push({ ...e, line: e.line + lineBase });
    errorCount += part.errorCount;
    let xi = 0;
    for (let i = 0; i < part.count; i++, k++) {
      const ch = part.rows[Math.floor(i / CHUNK_RECORDS)];
      const f = ch.f;
      const r = ch.i;
      const fo = (i % CHUNK_RECORDS) * F_STRIDE;
      const o = (i % CHUNK_RECORDS) * I_STRIDE;
      const line = r[o + I.line] + lineBase;
      index.line[k] = line;
      index.offset[k] = f[fo + F.offset];
      index.length[k] = r[o + I.length];
      index.sub[k] = r[o + I.sub];
      const flags = r[o + I.flags];
      recFormat[k] = r[o + I.format];
      const fmt = FORMAT_NAMES[r[o + I.format]];
      formats[fmt] = (formats[fmt] ?? 0) + 1;
      const first = sigSeen.putIfAbsent(f[fo + F.recordHash], k);
      if (first >= 0) candidate[k] = candidate[first] = 1;
      const kind = r[o + I.kind];
      lens.pc.push(r[o + I.promptChars]);
      lens.pt.push(r[o + I.promptTokens]);
      if (kind === 0) {
        if (f[fo + F.pairKey] >= 0) sigPairs.putIfAbsent(f[fo + F.pairKey], k);
        sigPair[k] = f[fo + F.pairKey];
        sigSwapped[k] = f[fo + F.swappedKey];
        lens.cc.push(r[o + I.c1Chars]);
        lens.ct.push(r[o + I.c1Tokens]);
        lens.rc.push(r[o + I.c2Chars]);
        lens.rt.push(r[o + I.c2Tokens]);
        pairs++;
        if (r[o + I.c1Tokens] > r[o + I.c2Tokens]) longer++;
        if (r[o + I.c1Chars] > r[o + I.c2Chars]) longerChars++;
      } else if (kind === 1) {
        lens.kc.push(r[o + I.c1Chars]);
        lens.kt.push(r[o + I.c1Tokens]);
        if (r[o + I.label] === 1) desirable++;
        else if (r[o + I.label] === 0) undesirable++;
      } else {
        if (r[o + I.c1Chars] >= 0) {
          lens.xc.push(r[o + I.c1Chars]);
          lens.xt.push(r[o + I.c1Tokens]);
        }
        if (r[o + I.c2Chars] >= 0) {
          lens.xc.push(r[o + I.c2Chars]);
          lens.xt.push(r[o + I.c2Tokens]);
        }
        for (let j = 0; j < r[o + I.extra]; j++) {
          lens.xc.push(part.extra[xi++]);
          lens.xt.push(part.extra[xi++]);
        }
      }
      index.flags[k] |= flags;
    }
    part.rows = []; // free as we go
    lineBase += part.lineCount;
  }
  // A pair whose swapped key matches some record's pair key is a candidate, and so is every record with that pair key.
  if (process.env.PT) console.error('m.loop', performance.now().toFixed(0));
  const hit = new HashIndex(1024);
  let hits = 0;
  for (let i = 0; i < total; i++) {
    if (sigSwapped[i] < 0 || sigPairs.get(sigSwapped[i]) < 0) continue;
    candidate[i] = 1;
    if (hit.putIfAbsent(sigSwapped[i], i) < 0) hits++;
  }
  if (hits > 0) for (let i = 0; i < total; i++) if (sigPair[i] >= 0 && hit.get(sigPair[i]) >= 0) candidate[i] = 1;
  if (process.env.PT) console.error('m.hits', performance.now().toFixed(0));
  let candidates = 0;
  for (let i = 0; i < total; i++) candidates += candidate[i];
  if (candidates > 0) {
    const seen = new HashIndex(candidates); // exact record key → record index
    const pairKeys = new HashIndex(candidates); // exact (prompt, chosen, rejected) → record index
    withFile(file, (fd) => {
      for (let i = 0; i < total; i++) {
        if (!candidate[i]) continue;
        const keys = exactKeysAt(fd, index.offset[i], index.length[i], FORMAT_NAMES[recFormat[i]], index.sub[i]);
        if (!keys) continue;
        const line = index.line[i];
        const first = seen.putIfAbsent(keys.recordHash, i);
        if (first >= 0) {
          index.flags[i] |= CHECK_BITS.duplicate;
          related[line] = index.line[first];
        }
        if (keys.swappedKey >= 0) {
          const swapped = pairKeys.get(keys.swappedKey);
          if (swapped >= 0) {
            index.flags[i] |= CHECK_BITS.contradiction;
            index.flags[swapped] |= CHECK_BITS.contradiction;
            if (related[line] === undefined) related[line] = index.line[swapped];
          }
          pairKeys.putIfAbsent(keys.pairKey, i);
        }
      }
    });
  }
  if (process.env.PT) console.error('m.exact', candidates, performance.now().toFixed(0));
  const checks = Object.fromEntries(CHECK_NAMES.map((c) => [c, [] as number[]])) as Record<CheckName, number[]>;
  for (let i = 0; i < total; i++) {
    const f = index.flags[i];
    if (f === 0) continue;
    for (const c of CHECK_NAMES) if (f & CHECK_BITS[c]) checks[c].push(index.line[i]);
  }
  for (const c of CHECK_NAMES) checks[c] = [...new Set(checks[c])].sort((a, b) => a - b);
  errors.sort((a, b) => a.line - b.line);
  const mk = (c: Hist, t: Hist): { chars: LengthStats; tokens: LengthStats } => ({ chars: c.stats(), tokens: t.stats() });
  const lines = parts.reduce((s, p) => s + p.lineCount, 0);
  if (process.env.PT) console.error('m.checks', performance.now().toFixed(0));
  const res: ScanResult = {
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
      prompt: mk(lens.pc, lens.pt),
      chosen: mk(lens.cc, lens.ct),
      rejected: mk(lens.rc, lens.rt),
      completion: mk(lens.kc, lens.kt),
      candidate: mk(lens.xc, lens.xt),
      chosenLongerShare: pairs ? Math.round((longer / pairs) * 10000) / 10000 : null,
      chosenLongerShareChars: pairs ? Math.round((longerChars / pairs) * 10000) / 10000 : null,
      pairs,
    },
    index,
    seconds: 0,
  };
  if (desirable + undesirable > 0) res.labels = { desirable, undesirable };
  return res;
}

export { ERROR_BIT };
