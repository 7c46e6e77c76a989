/** A range's records as they are scanned: their columns, length statistics and duplicate candidates (docs/ARCHITECTURE.md, "Scanning a file"). */
import { type CheckOptions, exactRecordKeys, type RecordKeys, type SummaryChunk } from '../checks/record.js';
import { readBytes } from '../jsonl/reader.js';
import { recordFromBytes } from '../records.js';
import { FORMAT_NAMES, type FormatName, type RecordError } from '../types.js';
import { type Batch, type KernelSink, type RecordColumns, ScanKernel } from './kernel.js';
import type { SharedKernels } from '../kernels/module.js';
import { AGG_DESIRABLE, AGG_FORMATS, AGG_LONGER, AGG_LONGER_CHARS, AGG_N, AGG_PAIRS, AGG_SUM, AGG_UNDESIRABLE, SERIES } from '../kernels/layout.js';
import type { LengthAgg, RangeResult } from './types.js';


/**
 * Collects a range's records: columns here, length statistics and candidate search in the scan kernel (which
 * also reads the lines it can; see kernel.ts), so that one piece of code counts every record.
 */
export class RangeBuilder implements KernelSink {
  private cap = 1 << 14;
  count = 0;
  private line = new Uint32Array(this.cap);
  private offset = new Float64Array(this.cap);
  private length = new Uint32Array(this.cap);
  private sub = new Uint32Array(this.cap);
  private flags = new Uint32Array(this.cap);
  private format = new Uint8Array(this.cap);
  private sigRecord = new Float64Array(this.cap);
  private sigSwapped = new Float64Array(this.cap);
  private bigValues: number[][] = Array.from({ length: SERIES }, () => []);
  private flagged: number[] = [];
  readonly kernel: ScanKernel;

  /**
   * `parse`: the format the kernel reads lines in ('none': it only collects rows given to addRow). `expected`: the
   * records expected (a Parquet range's rows), room made for them at once.
   */
  constructor(parse: FormatName | null | 'none', opts: CheckOptions, shared?: SharedKernels, expected = 0) {
    this.kernel = new ScanKernel(parse, opts, this, shared);
    if (expected > this.cap) {
      this.cap = expected;
      this.grow(expected);
   }
 }

  private grow(min: number): void {
    while (this.cap < min) this.cap *= 2;
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a.subarray(0, this.count));
      return b;
   };
    this.line = g(this.line, (n) => new Uint32Array(n));
    this.offset = g(this.offset, (n) => new Float64Array(n));
    this.length = g(this.length, (n) => new Uint32Array(n));
    this.sub = g(this.sub, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint32Array(n));
    this.format = g(this.format, (n) => new Uint8Array(n));
    this.sigRecord = g(this.sigRecord, (n) => new Float64Array(n));
    this.sigSwapped = g(this.sigSwapped, (n) => new Float64Array(n));
 }

  batch(b: Batch): void {
    if (this.count + b.n > this.cap) this.grow(this.count + b.n);
    const k = this.count;
    this.line.set(b.line, k);
    this.offset.set(b.offset, k);
    this.length.set(b.length, k);
    this.sub.set(b.sub, k);
    this.flags.set(b.flags, k);
    this.format.set(b.format, k);
    this.sigRecord.set(b.sigRecord, k);
    this.sigSwapped.set(b.sigSwapped, k);
    for (const i of b.flagged) this.flagged.push(k + i);
    this.count += b.n;
 }

  big(pairs: Int32Array): void {
    for (let i = 0; i < pairs.length; i += 2) this.bigValues[pairs[i]].push(pairs[i + 1]);
 }

  /** A summary row of the JavaScript path (checks/record.ts), with (chars, tokens) of extra candidates. */
  addRow(row: SummaryChunk, extra: readonly number[]): void {
    this.kernel.addRow(row, extra);
 }

  /** The columns collected so far (views, valid until more records are added). */
  columns(): Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format' | 'sigRecord' | 'sigSwapped'> {
    const n = this.count;
    return {
      line: this.line.subarray(0, n),
      offset: this.offset.subarray(0, n),
      length: this.length.subarray(0, n),
      sub: this.sub.subarray(0, n),
      format: this.format.subarray(0, n),
      sigRecord: this.sigRecord.subarray(0, n),
      sigSwapped: this.sigSwapped.subarray(0, n),
   };
 }

  /**
   * Puts blocks of records in the reverse order (`starts`: the first record of each block, in the order added, then
   * the count): how a range read from its end is put back in file order. Returns each record's new index, as a
   * function (a range's end is on its scan's critical path: nothing here is proportional to the records but the copies).
   */
  reverseBlocks(starts: number[]): (i: number) => number {
    this.kernel.drain();
    const n = this.count;
    const nb = starts.length - 1;
    if (nb < 0 || starts[0] !== 0 || starts[nb] !== n) throw new Error('blocks do not cover the records');
    // where each block begins in the new order: after the blocks added after it
    const put = new Array<number>(nb);
    for (let b = nb - 1, at = 0; b >= 0; b--) {
      put[b] = at;
      at += starts[b + 1] - starts[b];
    }
    /** The block of record i: the last whose first record is at most i. */
    const blockOf = (i: number): number => {
      let lo = 0;
      let hi = nb - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= i) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const to = (i: number): number => {
      const b = blockOf(i);
      return put[b] + i - starts[b];
    };
    // in place, through one scratch copy of one column at a time, a block at a time
    const scratch = new ArrayBuffer(n * 8);
    const through = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, view: (buf: ArrayBuffer, n: number) => T): void => {
      const was = view(scratch, n);
      was.set(a.subarray(0, n));
      for (let b = 0; b < nb; b++) a.set(was.subarray(starts[b], starts[b + 1]), put[b]);
    };
    const u32 = (buf: ArrayBuffer, k: number): Uint32Array => new Uint32Array(buf, 0, k);
    const f64 = (buf: ArrayBuffer, k: number): Float64Array => new Float64Array(buf, 0, k);
    for (const a of [this.line, this.length, this.sub, this.flags]) through(a, u32);
    for (const a of [this.offset, this.sigRecord, this.sigSwapped]) through(a, f64);
    through(this.format, (buf, k) => new Uint8Array(buf, 0, k));
    // flagged records, ascending (batches add theirs in order): the blocks' runs of them taken last block first stay
    // ascending
    const f = this.flagged;
    const out: number[] = [];
    for (let i = 1; i < f.length; i++) if (f[i - 1] >= f[i]) throw new Error('flagged records out of order');
    const runStart: number[] = []; // for each block, its first flagged record's position in f
    for (let b = 0, i = 0; b <= nb; b++) {
      while (i < f.length && f[i] < starts[b]) i++;
      runStart.push(i);
    }
    for (let b = nb - 1; b >= 0; b--) for (let i = runStart[b], d = put[b] - starts[b]; i < runStart[b + 1]; i++) out.push(f[i] + d);
    this.flagged = out;
    this.matched = n;
    this.cand = null;
    return to;
  }

  /** Adds `delta` to every record's line. */
  shiftLines(delta: number): void {
    for (let i = 0; i < this.count; i++) this.line[i] += delta;
 }

  /** Records already looked at by matchNew, and its table: a key per slot (-1: empty) and the record holding it. */
  private matched = 0;
  private tableKeys = new Float64Array(1 << 12);
  private tableRecords = new Int32Array(1 << 12);

  /**
   * Calls onPair(i, j) for records added since the last call that meet each other by full signature key: equal record
   * keys (duplicate candidates), or one's swapped key equal to the other's record key (contradiction candidates). Every
   * such record is in at least one pair. Records that meet one added earlier are found at the end, among the range's
   * candidates (`candidates()`, `meetAny`). The table holds one batch (a row group's records): it stays in the cache.
   */
  matchNew(onPair: (i: number, j: number) => void): void {
    const a = this.matched;
    const b = this.count;
    this.matched = b;
    if (b - a < 2) return;
    if (this.tableKeys.length < 2 * (b - a)) {
      let n = this.tableKeys.length;
      while (n < 2 * (b - a)) n *= 2;
      this.tableKeys = new Float64Array(n);
      this.tableRecords = new Int32Array(n);
   }
    const pairs: number[] = [];
    keyPairs(this.sigRecord, this.sigSwapped, a, b, this.tableKeys, this.tableRecords, pairs);
    for (let p = 0; p < pairs.length; p += 2) onPair(pairs[p], pairs[p + 1]);
 }

  private cand: ReturnType<ScanKernel['candidates']> | null = null;

  /** The range's candidates (kernel.ts `candidates`), computed once all its records are in. */
  candidates(): ReturnType<ScanKernel['candidates']> {
    if (!this.cand) {
      this.kernel.drain();
      const n = this.count;
      this.cand = this.kernel.candidates(this.sigRecord.subarray(0, n), this.sigSwapped.subarray(0, n));
   }
    return this.cand;
 }

  /**
   * Which of the records `which` (candidates: `candidates()`) meet another record of the range by full signature key
   * (as matchNew pairs them): a candidate found by fingerprint alone meets none and needs no exact keys. Only
   * candidates are counted: a record that shares a record or swapped key with one shares its fingerprint, and is one.
   */
  meetAny(which: number[]): Set<number> {
    const R = this.sigRecord;
    const S = this.sigSwapped;
    const { candidate } = this.candidates();
    const hitsR = new Map<number, number>(); // key → records with that record key
    const hitsS = new Map<number, number>(); // key → records with that swapped key
    // fingerprints of the keys asked about in a bitmap of about 64 bits per key (small enough for the cache): few map
    // lookups; a key is an integer below 2^53, whose low 32 bits `k >>> 0` gives
    let size = 1 << 16;
    while (size < which.length * 128 && size < 1 << 24) size *= 2;
    const bits = new Uint8Array(size >>> 3);
    const mask = size - 1;
    const fp = (k: number): number => (k >>> 0) & mask;
    for (const i of which) {
      for (const k of [R[i], S[i]]) {
        if (k < 0) continue;
        hitsR.set(k, 0);
        hitsS.set(k, 0);
        bits[fp(k) >>> 3] |= 1 << (fp(k) & 7);
     }
   }
    const seen = (k: number): boolean => k >= 0 && (bits[fp(k) >>> 3] & (1 << (fp(k) & 7))) !== 0;
    for (let m = candidate.indexOf(1); m >= 0; m = candidate.indexOf(1, m + 1)) {
      const r = R[m];
      if (seen(r)) {
        const c = hitsR.get(r);
        if (c !== undefined) hitsR.set(r, c + 1);
     }
      const s = S[m];
      if (s !== r && seen(s)) {
        const c = hitsS.get(s);
        if (c !== undefined) hitsS.set(s, c + 1);
     }
   }
    const out = new Set<number>();
    for (const i of which) {
      const r = R[i];
      const s = S[i];
      if (r >= 0 && ((hitsR.get(r) ?? 0) >= 2 || (hitsS.get(r) ?? 0) >= 1)) out.add(i);
      else if (s >= 0 && s !== r && (hitsR.get(s) ?? 0) >= 1) out.add(i);
   }
    return out;
 }

  /**
   * The range's result. Its candidates are keyed exactly here, in parallel with the other ranges: `keysOf(i)` gives
   * record i's exact keys (null: it no longer reads; undefined: not known here, left to the merge).
   */
  finish(lineCount: number, errors: RecordError[], errorCount: number, keysOf: (i: number) => RecordKeys | null | undefined): RangeResult {
    this.kernel.drain();
    const n = this.count;
    const sigRecord = this.sigRecord.subarray(0, n);
    const sigSwapped = this.sigSwapped.subarray(0, n);
    const { candidate, sortedRecord, sortedSwapped } = this.candidates();
    const exact: number[] = [];
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) {
      const k = keysOf(i);
      if (k !== undefined) exact.push(i, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2);
   }
    const { hist, agg } = this.kernel.aggregates();
    const sum = agg.slice(AGG_SUM, AGG_SUM + SERIES);
    const count = agg.slice(AGG_N, AGG_N + SERIES);
    this.bigValues.forEach((values, series) => {
      for (const v of values) sum[series] += v;
      count[series] += values.length;
   });
    const lengths: LengthAgg = {
      hist,
      big: this.bigValues,
      sum,
      n: count,
      pairs: agg[AGG_PAIRS],
      longer: agg[AGG_LONGER],
      longerChars: agg[AGG_LONGER_CHARS],
      desirable: agg[AGG_DESIRABLE],
      undesirable: agg[AGG_UNDESIRABLE],
      formats: agg.slice(AGG_FORMATS, AGG_FORMATS + FORMAT_NAMES.length),
   };
    return {
      count: n,
      lineCount,
      errors,
      errorCount,
      line: this.line.subarray(0, n),
      offset: this.offset.subarray(0, n),
      length: this.length.subarray(0, n),
      sub: this.sub.subarray(0, n),
      flags: this.flags.subarray(0, n),
      format: this.format.subarray(0, n),
      sigRecord,
      sigSwapped,
      candidate,
      flagged: Uint32Array.from(this.flagged),
      exact: Float64Array.from(exact),
      sortedRecord,
      sortedSwapped,
      lengths,
   };
 }
}

/**
 * Exact keys (checks/record.ts exactRecordKeys) of record i of a range, read again from the file (see exactKeysOf);
 * null when the record no longer reads.
 */
export function exactKeysAt(fd: number, cols: Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  return exactKeysOf(readBytes(fd, cols.offset[i], cols.length[i]), cols, i, kernel);
}

/**
 * Exact keys of record i of a range from the bytes of its line: by the scan kernel when it reads that line in the
 * record's format, by the JavaScript path (records.ts) otherwise; null when the record does not read.
 */
export function exactKeysOf(bytes: Uint8Array, cols: Pick<RecordColumns, 'line' | 'offset' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  const fast = kernel && cols.sub[i] === 0 ? kernel.exactKeys(bytes, cols.format[i]) : undefined;
  if (fast) return fast;
  const { record } = recordFromBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), cols, i, FORMAT_NAMES[cols.format[i]]);
  return record ? exactRecordKeys(record) : null;
}

/** The buffers a worker hands over without copying. */
export function transferList(p: RangeResult): ArrayBuffer[] {
  const list = [p.line, p.offset, p.length, p.sub, p.flags, p.format, p.sigRecord, p.sigSwapped, p.candidate, p.flagged, p.exact, p.sortedRecord, p.sortedSwapped, p.lengths.hist].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return [...new Set(list)];
}

/**
 * RangeBuilder.matchNew's search, on its own so that V8 optimises this loop alone (with the caller's onPair inlined,
 * optimising matchNew took 6 to 13 ms a thread): the pairs (i, j) of records [a, b) that meet by full signature key,
 * pushed to `pairs`, through the open-addressing table (tk, tr) of a power-of-two size at least 2 (b − a).
 */
function keyPairs(R: Float64Array, S: Float64Array, a: number, b: number, tk: Float64Array, tr: Int32Array, pairs: number[]): void {
  tk.fill(-1);
  const mask = tk.length - 1;
  // record keys in the table (first holder), then every record's swapped key looked up; a key is an integer
  // below 2^53 whose low 32 bits (k >>> 0) are well mixed
  for (let i = a; i < b; i++) {
    const r = R[i];
    if (r < 0) continue;
    for (let h = (r >>> 0) & mask; ; h = (h + 1) & mask) {
      const k = tk[h];
      if (k === -1) {
        tk[h] = r;
        tr[h] = i;
        break;
      }
      if (k === r) {
        pairs.push(i, tr[h]);
        break;
      }
    }
  }
  for (let i = a; i < b; i++) {
    const s = S[i];
    if (s < 0 || s === R[i]) continue;
    for (let h = (s >>> 0) & mask; ; h = (h + 1) & mask) {
      const k = tk[h];
      if (k === -1) break;
      if (k === s) {
        pairs.push(i, tr[h]);
        break;
      }
    }
  }
}
