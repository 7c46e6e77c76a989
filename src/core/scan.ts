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
import { type CheckOptions, DEFAULT_CHECK_OPTIONS, F, F_STRIDE, I, I_STRIDE, type SummaryChunk, summarizeRecord, type TokenCounter } from './checks/record.js';

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
  withFile(task.path, (fd, size) => {
    if (task.kind === 'jsonl') {
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
  const res = merge(path, parts, format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir);
  res.seconds = (performance.now() - t0) / 1000;
  if (res.records === 0 && res.errorCount === 0) throw new InputError(`${path}: no records (the file holds only blank lines)`);
  return res;
}

function stats(values: Uint32Array, n: number): LengthStats {
  if (n === 0) return { count: 0, mean: 0, min: 0, p50: 0, p95: 0, max: 0 };
  const a = values.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  const q = (p: number): number => a[Math.min(n - 1, Math.floor(p * (n - 1) + 0.5))];
  return { count: n, mean: Math.round((sum / n) * 100) / 100, min: a[0], p50: q(0.5), p95: q(0.95), max: a[n - 1] };
}

class Grow {
  a = new Uint32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
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
    pc: new Grow(), pt: new Grow(), cc: new Grow(), ct: new Grow(), rc: new Grow(), rt: new Grow(),
    kc: new Grow(), kt: new Grow(), xc: new Grow(), xt: new Grow(),
  };
  let pairs = 0;
  let longer = 0;
  let longerChars = 0;
  let desirable = 0;
  let undesirable = 0;
  const formats: Partial<Record<FormatName, number>> = {};
  const seen = new HashIndex(total); // recordHash → record index
  const pairKeys = new HashIndex(total); // hash(prompt, chosen, rejected) → record index
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
      let flags = r[o + I.flags];
      const fmt = FORMAT_NAMES[r[o + I.format]];
      formats[fmt] = (formats[fmt] ?? 0) + 1;
      const first = seen.putIfAbsent(f[fo + F.recordHash], k);
      if (first >= 0) {
        flags |= CHECK_BITS.duplicate;
        related[line] = index.line[first];
      }
      const kind = r[o + I.kind];
      lens.pc.push(r[o + I.promptChars]);
      lens.pt.push(r[o + I.promptTokens]);
      if (kind === 0) {
        if (f[fo + F.swappedKey] >= 0) {
          const swapped = pairKeys.get(f[fo + F.swappedKey]);
          if (swapped >= 0) {
            flags |= CHECK_BITS.contradiction;
            index.flags[swapped] |= CHECK_BITS.contradiction;
            if (related[line] === undefined) related[line] = index.line[swapped];
          }
          pairKeys.putIfAbsent(f[fo + F.pairKey], k);
        }
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
  const checks = Object.fromEntries(CHECK_NAMES.map((c) => [c, [] as number[]])) as Record<CheckName, number[]>;
  for (let i = 0; i < total; i++) {
    const f = index.flags[i];
    if (f === 0) continue;
    for (const c of CHECK_NAMES) if (f & CHECK_BITS[c]) checks[c].push(index.line[i]);
  }
  for (const c of CHECK_NAMES) checks[c] = [...new Set(checks[c])].sort((a, b) => a - b);
  errors.sort((a, b) => a.line - b.line);
  const mk = (c: Grow, t: Grow): { chars: LengthStats; tokens: LengthStats } => ({ chars: stats(c.a, c.n), tokens: stats(t.a, t.n) });
  const lines = parts.reduce((s, p) => s + p.lineCount, 0);
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
