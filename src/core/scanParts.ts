/**
 * What one scanned byte range produces (a worker's result) and how the ranges are put together.
 *
 * In a range (a worker's, or the calling thread's), the scan kernel (fastScan.ts) collects every record's columns
 * and length statistics, and finds duplicate and contradiction candidates among the range's records from
 * radix-sorted fingerprints of their signature keys (no hash table of a million keys, whose every insert misses
 * the cache); the range keys its candidates exactly. The main thread then merge-joins the ranges' sorted
 * fingerprints to find candidates across ranges, keys those, and builds the result from the ranges' columns.
 */
import { FORMAT_NAMES, type FormatName } from './types.js';
import { type CheckOptions, exactRecordKeys, type RecordKeys, type SummaryChunk } from './checks/record.js';
import { readBytes } from './jsonl/reader.js';
import { recordFromBytes } from './records.js';
import { type Batch, DENSE, KeyKernel, type KernelSink, type RecordColumns, ScanKernel, SERIES } from './fastScan.js';

/** Length series: prompt, chosen, rejected, completion (KTO), candidate (ranked/group) × (chars, tokens). */
export const enum S {
  PromptChars = 0,
  PromptTokens,
  ChosenChars,
  ChosenTokens,
  RejectedChars,
  RejectedTokens,
  CompletionChars,
  CompletionTokens,
  CandidateChars,
  CandidateTokens,
}

/** Length statistics of a range: counts per value below 2¹⁶ per series, larger values listed. */
export interface LengthAgg {
  hist: Uint32Array;
  big: number[][];
  sum: Float64Array;
  n: Float64Array;
  pairs: number;
  longer: number;
  longerChars: number;
  desirable: number;
  undesirable: number;
  formats: Float64Array;
}

export interface ScanPart extends RecordColumns {
  count: number;
  /** Lines in the range (relative numbering starts at 1). */
  lineCount: number;
  errors: import('./types.js').RecordError[];
  errorCount: number;
  /** 1: shares a signature key with another record of this range (re-keyed exactly later). */
  candidate: Uint8Array;
  /** Records with a flag set (of the checks that a record decides alone), ascending. */
  flagged: Uint32Array;
  /**
   * Exact keys (checks/record.ts exactRecordKeys) of this range's candidates, computed by the worker: (local index,
   * record key, pair key, swapped key) per candidate, in order; keys of a record that no longer parses are -2.
   */
  exact: Float64Array;
  /**
   * Fingerprints (low 32 bits) of the range's keys, sorted: record keys, and swapped keys of pairs whose two
   * responses differ. A fingerprint shared by different keys only adds candidates.
   */
  sortedRecord: Uint32Array;
  sortedSwapped: Uint32Array;
  lengths: LengthAgg;
}

/** A key's fingerprint: its low 32 bits (the kernel's `fingerprint`). */
const fingerprint = (k: number): number => k >>> 0;

/**
 * Collects a range's records: columns here, length statistics and candidate search in the scan kernel (which
 * also reads the lines it can; see fastScan.ts), so that one piece of code counts every record.
 */
export class PartBuilder implements KernelSink {
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

  /** `parse`: the format the kernel reads lines in ('none': it only collects rows given to addRow). */
  constructor(parse: FormatName | null | 'none', opts: CheckOptions) {
    this.kernel = new ScanKernel(parse, opts, this);
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

  /**
   * The range's part. Its candidates are keyed exactly here (read again from `fd`), in parallel with the other
   * ranges.
   */
  finish(lineCount: number, errors: ScanPart['errors'], errorCount: number, fd: number): ScanPart {
    this.kernel.drain();
    const n = this.count;
    const sigRecord = this.sigRecord.subarray(0, n);
    const sigSwapped = this.sigSwapped.subarray(0, n);
    const { candidate, sortedRecord, sortedSwapped } = this.kernel.candidates(sigRecord, sigSwapped);
    const exact: number[] = [];
    const cols = { line: this.line, offset: this.offset, length: this.length, sub: this.sub, format: this.format };
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) {
      const k = exactKeysAt(fd, cols, i, this.kernel);
      exact.push(i, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2);
    }
    const { hist, agg } = this.kernel.aggregates();
    const sum = agg.slice(0, SERIES);
    const count = agg.slice(SERIES, 2 * SERIES);
    this.bigValues.forEach((values, series) => {
      for (const v of values) sum[series] += v;
      count[series] += values.length;
    });
    const lengths: LengthAgg = {
      hist,
      big: this.bigValues,
      sum,
      n: count,
      pairs: agg[20],
      longer: agg[21],
      longerChars: agg[22],
      desirable: agg[23],
      undesirable: agg[24],
      formats: agg.slice(25, 25 + FORMAT_NAMES.length),
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
 * Exact keys (checks/record.ts exactRecordKeys) of record i of a range, read again from the file: by the scan
 * kernel when it reads that line in the record's format, by the JavaScript path (records.ts) otherwise; null when
 * the record no longer reads.
 */
export function exactKeysAt(fd: number, cols: Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  const bytes = readBytes(fd, cols.offset[i], cols.length[i]);
  const fast = kernel && cols.sub[i] === 0 ? kernel.exactKeys(bytes, cols.format[i]) : undefined;
  if (fast) return fast;
  const { record } = recordFromBytes(bytes, cols, i, FORMAT_NAMES[cols.format[i]]);
  return record ? exactRecordKeys(record) : null;
}

/** The buffers a worker hands over without copying. */
export function transferList(p: ScanPart): ArrayBuffer[] {
  const list = [p.line, p.offset, p.length, p.sub, p.flags, p.format, p.sigRecord, p.sigSwapped, p.candidate, p.flagged, p.exact, p.sortedRecord, p.sortedSwapped, p.lengths.hist].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return [...new Set(list)];
}

/**
 * Marks (in `candidate`, indexed by global record) the records that share a signature key with a record of
 * another range: merge-joins of the ranges' sorted fingerprints and a pass over the ranges' keys (both in the
 * kernel), then the few records whose fingerprints matched are compared by full key.
 */
export function crossPartCandidates(parts: ScanPart[], candidate: Uint8Array, kk: KeyKernel): void {
  if (parts.length < 2) return;
  const dupSet = new Set<number>();
  const conSet = new Set<number>();
  for (let w = 0; w < parts.length; w++)
    for (let v = 0; v < parts.length; v++) {
      if (v === w) continue;
      if (v < w) for (const x of kk.common(parts[w].sortedRecord, parts[v].sortedRecord)) dupSet.add(x);
      for (const x of kk.common(parts[w].sortedSwapped, parts[v].sortedRecord)) conSet.add(x);
    }
  if (dupSet.size === 0 && conSet.size === 0) return;
  const dup = Uint32Array.from(dupSet).sort();
  const con = Uint32Array.from(conSet).sort();
  // Records whose fingerprints matched, by full key: record key → (global index, range) of its holders.
  const holders = new Map<number, { i: number; w: number }[]>();
  const swapped: { key: number; i: number; w: number }[] = [];
  let at = 0;
  parts.forEach((p, w) => {
    const marks = kk.mark(p.sigRecord, p.sigSwapped, dup, con);
    for (let i = marks.indexOf(1); i >= 0; i = marks.indexOf(1, i + 1)) {
      const r = p.sigRecord[i];
      const s = p.sigSwapped[i];
      const fr = fingerprint(r);
      if (dupSet.has(fr) || conSet.has(fr)) {
        const list = holders.get(r);
        if (list) list.push({ i: at + i, w });
        else holders.set(r, [{ i: at + i, w }]);
      }
      if (s >= 0 && s !== r && conSet.has(fingerprint(s))) swapped.push({ key: s, i: at + i, w });
    }
    at += p.count;
  });
  for (const list of holders.values()) if (list.some((h) => h.w !== list[0].w)) for (const h of list) candidate[h.i] = 1;
  for (const s of swapped) {
    const list = holders.get(s.key);
    if (!list || !list.some((h) => h.w !== s.w)) continue;
    candidate[s.i] = 1;
    for (const h of list) candidate[h.i] = 1;
  }
}

/** Range aggregates added up (the counts per value stay per range: seriesStats reads them together). */
export interface MergedLengths extends Omit<LengthAgg, 'hist'> {
  hists: Uint32Array[];
}

export function mergeLengths(parts: ScanPart[]): MergedLengths {
  const out: MergedLengths = {
    hists: parts.map((p) => p.lengths.hist),
    big: Array.from({ length: SERIES }, () => []),
    sum: new Float64Array(SERIES),
    n: new Float64Array(SERIES),
    pairs: 0,
    longer: 0,
    longerChars: 0,
    desirable: 0,
    undesirable: 0,
    formats: new Float64Array(FORMAT_NAMES.length),
  };
  for (const { lengths: l } of parts) {
    for (let s = 0; s < SERIES; s++) {
      for (const v of l.big[s]) out.big[s].push(v);
      out.sum[s] += l.sum[s];
      out.n[s] += l.n[s];
    }
    for (let f = 0; f < out.formats.length; f++) out.formats[f] += l.formats[f];
    out.pairs += l.pairs;
    out.longer += l.longer;
    out.longerChars += l.longerChars;
    out.desirable += l.desirable;
    out.undesirable += l.undesirable;
  }
  return out;
}

export interface LengthStats {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

/**
 * Exact statistics of one series: quantiles are order statistics (the value at index round(p·(n−1)) of the
 * sorted values), read from the counts without sorting.
 */
export function seriesStats(a: MergedLengths, series: S, kk: KeyKernel): LengthStats {
  const n = a.n[series];
  if (n === 0) return { count: 0, mean: 0, min: 0, p50: 0, p95: 0, max: 0 };
  const big = a.big[series].sort((x, y) => x - y);
  const denseCount = n - big.length;
  const rank = (p: number): number => Math.min(n - 1, Math.floor(p * (n - 1) + 0.5));
  const want = [0, rank(0.5), rank(0.95), n - 1];
  const dense = want.filter((i) => i < denseCount);
  const values = dense.length ? kk.ranks(a.hists.map((h) => h.subarray(series * DENSE, (series + 1) * DENSE)), dense) : [];
  const at = want.map((i, j) => (i < denseCount ? values[j] : big[i - denseCount]));
  return { count: n, mean: Math.round((a.sum[series] / n) * 100) / 100, min: at[0], p50: at[1], p95: at[2], max: at[3] };
}
