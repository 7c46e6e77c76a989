/**
 * What one scanned byte range produces (a worker's result) and how the ranges are put together.
 *
 * A worker turns summary rows (checks/record.ts) into index columns and length histograms as they come, and finds
 * duplicate and contradiction candidates among its own records by signature, from sorted key arrays (a native sort
 * and a linear pass: no hash table of a million keys, whose every insert misses the cache). The main thread then
 * only concatenates columns, adds histograms and merge-joins the ranges' sorted keys to find candidates across
 * ranges.
 */
import { FORMAT_NAMES } from './types.js';
import { F, F_STRIDE, I, I_STRIDE, type RecordKeys } from './checks/record.js';
import { sortKeys } from './fastScan.js';

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
const SERIES = 10;
const DENSE = 1 << 16;

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

export interface ScanPart {
  count: number;
  /** Lines in the range (relative numbering starts at 1). */
  lineCount: number;
  errors: import('./types.js').RecordError[];
  errorCount: number;
  line: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  sub: Uint32Array;
  flags: Uint32Array;
  format: Uint8Array;
  /** Signature keys (checks/record.ts recordKeys); -1 where a record has none. */
  sigRecord: Float64Array;
  sigPair: Float64Array;
  sigSwapped: Float64Array;
  /** 1: shares a signature key with another record of this range (re-keyed exactly later). */
  candidate: Uint8Array;
  /**
   * Exact keys (checks/record.ts exactRecordKeys) of this range's candidates, computed by the worker: (local index,
   * record key, pair key, swapped key) per candidate, in order; keys of a record that no longer parses are -2.
   */
  exact: Float64Array;
  /** The range's keys, sorted: record keys, pair keys, and swapped keys of pairs whose two responses differ. */
  sortedRecord: Float64Array;
  sortedPair: Float64Array;
  sortedSwapped: Float64Array;
  lengths: LengthAgg;
}

/** Open-addressing map from 53-bit hashes (≥ 0) to non-negative integers: compact and fast for millions of keys. */
export class HashIndex {
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
  get count(): number {
    return this.size;
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

// ---- sorted key arrays ----

/** The non-negative keys of `keys` (only where `keep` allows), sorted. */
function sortedKeys(keys: Float64Array, n: number, keep?: (i: number) => boolean): Float64Array {
  const out = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (keys[i] >= 0 && (!keep || keep(i))) out[m++] = keys[i];
  return sortKeys(out.subarray(0, m));
}

/** Adds to `out` every key that occurs twice in sorted `a`. */
function repeatedKeys(a: Float64Array, out: KeySet): void {
  for (let i = 1; i < a.length; i++) if (a[i] === a[i - 1]) out.add(a[i]);
}

/** Adds to `out` every key found in both sorted arrays. */
function commonKeys(a: Float64Array, b: Float64Array, out: KeySet): void {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      out.add(a[i]);
      i++;
      j++;
    }
  }
}

/** A small set of keys with a bit filter in front: membership tests of keys that are absent cost one probe. */
class KeySet {
  private set = new HashIndex(64);
  private bits = new Uint32Array(1 << 11); // 2¹⁶ bits
  size = 0;
  add(k: number): void {
    if (this.set.putIfAbsent(k, 0) < 0) {
      this.size++;
      const b = (k % 0x10000) | 0;
      this.bits[b >>> 5] |= 1 << (b & 31);
    }
  }
  has(k: number): boolean {
    const b = (k % 0x10000) | 0;
    if (((this.bits[b >>> 5] >>> (b & 31)) & 1) === 0) return false;
    return this.set.get(k) >= 0;
  }
}

/** Marks records whose record key is in `dup`, or whose pair key / (distinct-response) swapped key is in `con`. */
function markKeys(p: Pick<ScanPart, 'count' | 'sigRecord' | 'sigPair' | 'sigSwapped'>, dup: KeySet, con: KeySet, candidate: Uint8Array, at: number): void {
  if (dup.size === 0 && con.size === 0) return;
  for (let i = 0; i < p.count; i++) {
    if (
      (dup.size > 0 && dup.has(p.sigRecord[i])) ||
      (con.size > 0 && p.sigPair[i] >= 0 && (con.has(p.sigPair[i]) || (p.sigSwapped[i] !== p.sigPair[i] && con.has(p.sigSwapped[i]))))
    )
      candidate[at + i] = 1;
  }
}

/** Collects a range's rows into columns, histograms and local candidates. */
export class PartBuilder {
  private cap = 1 << 14;
  count = 0;
  private line = new Uint32Array(this.cap);
  private offset = new Float64Array(this.cap);
  private length = new Uint32Array(this.cap);
  private sub = new Uint32Array(this.cap);
  private flags = new Uint32Array(this.cap);
  private format = new Uint8Array(this.cap);
  private sigRecord = new Float64Array(this.cap);
  private sigPair = new Float64Array(this.cap);
  private sigSwapped = new Float64Array(this.cap);
  private agg: LengthAgg = {
    hist: new Uint32Array(SERIES * DENSE),
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

  offsetOf(i: number): number {
    return this.offset[i];
  }
  lengthOf(i: number): number {
    return this.length[i];
  }
  formatOf(i: number): number {
    return this.format[i];
  }
  subOf(i: number): number {
    return this.sub[i];
  }

  private push(series: number, v: number): void {
    const a = this.agg;
    if (v < DENSE) a.hist[series * DENSE + v]++;
    else a.big[series].push(v);
    a.sum[series] += v;
    a.n[series]++;
  }

  private grow(): void {
    this.cap *= 2;
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a);
      return b;
    };
    this.line = g(this.line, (n) => new Uint32Array(n));
    this.offset = g(this.offset, (n) => new Float64Array(n));
    this.length = g(this.length, (n) => new Uint32Array(n));
    this.sub = g(this.sub, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint32Array(n));
    this.format = g(this.format, (n) => new Uint8Array(n));
    this.sigRecord = g(this.sigRecord, (n) => new Float64Array(n));
    this.sigPair = g(this.sigPair, (n) => new Float64Array(n));
    this.sigSwapped = g(this.sigSwapped, (n) => new Float64Array(n));
  }

  /**
   * Adds n summary rows. `extra` holds (chars, tokens) of candidates beyond the first two, in row order; `xi` is
   * where this batch's start in it.
   */
  addRows(f: Float64Array, r: Int32Array, n: number, extra: ArrayLike<number> = [], xi = 0): void {
    const a = this.agg;
    for (let j = 0; j < n; j++) {
      if (this.count === this.cap) this.grow();
      const k = this.count++;
      const fo = j * F_STRIDE;
      const o = j * I_STRIDE;
      this.line[k] = r[o + I.line];
      this.offset[k] = f[fo + F.offset];
      this.length[k] = r[o + I.length];
      this.sub[k] = r[o + I.sub];
      this.flags[k] = r[o + I.flags];
      this.format[k] = r[o + I.format];
      a.formats[r[o + I.format]]++;
      this.sigRecord[k] = f[fo + F.recordHash];
      this.push(S.PromptChars, r[o + I.promptChars]);
      this.push(S.PromptTokens, r[o + I.promptTokens]);
      const kind = r[o + I.kind];
      this.sigPair[k] = -1;
      this.sigSwapped[k] = -1;
      if (kind === 0) {
        const pk = f[fo + F.pairKey];
        if (pk >= 0) {
          this.sigPair[k] = pk;
          this.sigSwapped[k] = f[fo + F.swappedKey];
        }
        const c1 = r[o + I.c1Chars];
        const c2 = r[o + I.c2Chars];
        const t1 = r[o + I.c1Tokens];
        const t2 = r[o + I.c2Tokens];
        this.push(S.ChosenChars, c1);
        this.push(S.ChosenTokens, t1);
        this.push(S.RejectedChars, c2);
        this.push(S.RejectedTokens, t2);
        a.pairs++;
        if (t1 > t2) a.longer++;
        if (c1 > c2) a.longerChars++;
      } else if (kind === 1) {
        this.push(S.CompletionChars, r[o + I.c1Chars]);
        this.push(S.CompletionTokens, r[o + I.c1Tokens]);
        if (r[o + I.label] === 1) a.desirable++;
        else if (r[o + I.label] === 0) a.undesirable++;
      } else {
        if (r[o + I.c1Chars] >= 0) {
          this.push(S.CandidateChars, r[o + I.c1Chars]);
          this.push(S.CandidateTokens, r[o + I.c1Tokens]);
        }
        if (r[o + I.c2Chars] >= 0) {
          this.push(S.CandidateChars, r[o + I.c2Chars]);
          this.push(S.CandidateTokens, r[o + I.c2Tokens]);
        }
        for (let e = 0; e < r[o + I.extra]; e++) {
          this.push(S.CandidateChars, extra[xi++]);
          this.push(S.CandidateTokens, extra[xi++]);
        }
      }
    }
  }

  /** `exactKeys(i)`: the exact keys of record i of this range (re-read from the file), null if it cannot be read. */
  finish(lineCount: number, errors: ScanPart['errors'], errorCount: number, exactKeys: (i: number) => RecordKeys | null): ScanPart {
    const n = this.count;
    const sigRecord = this.sigRecord.subarray(0, n);
    const sigPair = this.sigPair.subarray(0, n);
    const sigSwapped = this.sigSwapped.subarray(0, n);
    const sortedRecord = sortedKeys(sigRecord, n);
    const sortedPair = sortedKeys(sigPair, n);
    // A pair whose swapped key is its own pair key (equal response signatures) would match itself; a second record
    // with that key shares its record key, so both are duplicate candidates anyway.
    const sortedSwapped = sortedKeys(sigSwapped, n, (i) => sigSwapped[i] !== sigPair[i]);
    const dup = new KeySet();
    const con = new KeySet();
    repeatedKeys(sortedRecord, dup);
    commonKeys(sortedSwapped, sortedPair, con);
    const candidate = new Uint8Array(n);
    const cols = { count: n, sigRecord, sigPair, sigSwapped };
    markKeys(cols, dup, con, candidate, 0);
    const exact: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!candidate[i]) continue;
      const k = exactKeys(i);
      exact.push(i, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2);
    }
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
      sigPair,
      sigSwapped,
      candidate,
      exact: Float64Array.from(exact),
      sortedRecord,
      sortedPair,
      sortedSwapped,
      lengths: this.agg,
    };
  }
}

/** The buffers a worker hands over without copying. */
export function transferList(p: ScanPart): ArrayBuffer[] {
  const list = [p.line, p.offset, p.length, p.sub, p.flags, p.format, p.sigRecord, p.sigPair, p.sigSwapped, p.candidate, p.exact, p.sortedRecord, p.sortedPair, p.sortedSwapped, p.lengths.hist].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return [...new Set(list)];
}

/**
 * Marks (in `candidate`, indexed by global record) the records that share a signature key with a record of
 * another range: merge-joins of the ranges' sorted keys, then one pass that tests each record against the few
 * keys found.
 */
export function crossPartCandidates(parts: ScanPart[], candidate: Uint8Array): void {
  if (parts.length < 2) return;
  const dup = new KeySet();
  const con = new KeySet();
  for (let w = 0; w < parts.length; w++)
    for (let v = 0; v < parts.length; v++) {
      if (v === w) continue;
      if (v < w) commonKeys(parts[w].sortedRecord, parts[v].sortedRecord, dup);
      commonKeys(parts[w].sortedSwapped, parts[v].sortedPair, con);
    }
  let at = 0;
  for (const p of parts) {
    markKeys(p, dup, con, candidate, at);
    at += p.count;
  }
}

/** Adds range aggregates. */
export function mergeLengths(parts: ScanPart[]): LengthAgg {
  const out: LengthAgg = {
    hist: new Uint32Array(SERIES * DENSE),
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
    for (let i = 0; i < out.hist.length; i++) out.hist[i] += l.hist[i];
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
export function seriesStats(a: LengthAgg, series: S): LengthStats {
  const n = a.n[series];
  if (n === 0) return { count: 0, mean: 0, min: 0, p50: 0, p95: 0, max: 0 };
  const big = a.big[series].sort((x, y) => x - y);
  const denseCount = n - big.length;
  const hist = a.hist.subarray(series * DENSE, (series + 1) * DENSE);
  const at = (i: number): number => {
    if (i >= denseCount) return big[i - denseCount];
    let c = 0;
    for (let v = 0; v < DENSE; v++) {
      c += hist[v];
      if (c > i) return v;
    }
    return DENSE - 1;
  };
  const q = (p: number): number => at(Math.min(n - 1, Math.floor(p * (n - 1) + 0.5)));
  return { count: n, mean: Math.round((a.sum[series] / n) * 100) / 100, min: at(0), p50: q(0.5), p95: q(0.95), max: at(n - 1) };
}
