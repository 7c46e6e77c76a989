/**
 * Putting the ranges of a scan together (docs/ARCHITECTURE.md, "Scanning a file"): duplicate and contradiction
 * candidates across ranges (merge-joins of the ranges' sorted key fingerprints), exact keys of the candidates in file
 * order, per-check line lists, length statistics and, when asked, the record index.
 */
import { CHECK_BITS, CHECK_NAMES, type CheckName } from '../checks/table.js';
import type { RecordKeys } from '../checks/record.js';
import type { SourceKind } from '../jsonl/reader.js';
import { closeSync, openSync } from 'node:fs';
import type { RecordIndex } from '../records.js';
import { FORMAT_NAMES, type FormatName, type RecordError } from '../types.js';
import { KeyKernel } from './kernel.js';
import { DENSE, SERIES } from '../kernels/layout.js';
import { exactKeysAt } from './builder.js';
import { type LengthAgg, LengthSeries, type LengthStats, type RangeResult, type ScanSummary } from './types.js';

/** A key's fingerprint: its low 32 bits (the kernel's `fingerprint`). */
const fingerprint = (k: number): number => k >>> 0;

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

/**
 * The scan's result from its ranges' results (in file order). `across`: the records that meet a record of another
 * range (crossRangeCandidates' `cross`), when the caller has found them already; `kk`, the kernel routines to use.
 */
export function merge(
  file: string,
  parts: RangeResult[],
  format: FormatName | null,
  formatSource: 'detected' | 'override',
  source: SourceKind,
  bytes: number,
  tokenizerDir: string | undefined,
  withIndex: boolean,
  across?: Uint8Array,
  kk: KeyKernel = new KeyKernel(), // the kernel routines of this merge (a Parquet scan's share its reader's instance)
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
    for (const e of part.errors) {
      // a column read around is said by each range that met it: once
      if (e.rows === 0 && errors.some((x) => x.rows === 0 && x.message === e.message)) continue;
      if (errors.length < 10000) errors.push({ ...e, line: e.line + lines });
    }
    errorCount += part.errorCount;
    candidate.set(part.candidate, k);
    k += part.count;
    lines += part.lineCount;
  }
  /** The range and local index of global record i. */
  const locate = (i: number): [RangeResult, number, number] => {
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
  if (across) for (let i = across.indexOf(1); i >= 0; i = across.indexOf(1, i + 1)) candidate[i] = 1;
  else crossRangeCandidates(parts, candidate, kk);
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
    // keyed ranges (Parquet) have every key they need: the file is read only for the others
    const fd = parts.every((p) => p.keyed) ? -1 : openSync(file, 'r');
    try {
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
        } else if (p.keyed) continue; // meets no other record (RangeResult.keyed)
        else keys = exactKeysAt(fd, p, j);
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
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  // every record with a check's bit (flagged by its range, or marked here), visited once in file order: each check's
  // lines come out sorted (a record's sub-records share its line: said once)
  const visit = new Uint8Array(total);
  parts.forEach((p, w) => {
    for (const j of p.flagged) visit[base[w] + j] = 1;
  });
  for (const i of marked) visit[i] = 1;
  const found: number[][] = CHECK_NAMES.map(() => []);
  const byBit: number[][] = []; // a check's bit position → its list
  let mask = 0;
  CHECK_NAMES.forEach((c, n) => {
    mask |= CHECK_BITS[c];
    byBit[31 - Math.clz32(CHECK_BITS[c])] = found[n];
  });
  for (let i = visit.indexOf(1), w = 0; i >= 0; i = visit.indexOf(1, i + 1)) {
    while (w + 1 < parts.length && i >= base[w + 1]) w++;
    const j = i - base[w];
    const line = parts[w].line[j] + lineBase[w];
    for (let f = parts[w].flags[j] & mask; f !== 0; f &= f - 1) {
      const list = byBit[31 - Math.clz32(f & -f)];
      if (list.length === 0 || list[list.length - 1] !== line) list.push(line);
    }
  }
  const checks = Object.fromEntries(CHECK_NAMES.map((c, n) => [c, sortedDistinct(found[n])])) as Record<CheckName, number[]>;
  errors.sort((a, b) => a.line - b.line);
  const agg = mergeLengths(parts);
  const formats: Partial<Record<FormatName, number>> = {};
  FORMAT_NAMES.forEach((f, i) => {
    if (agg.formats[i] > 0) formats[f] = agg.formats[i];
  });
  const mk = (chars: LengthSeries, tokens: LengthSeries): { chars: LengthStats; tokens: LengthStats } => ({ chars: seriesStats(agg, chars, kk), tokens: seriesStats(agg, tokens, kk) });
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
      prompt: mk(LengthSeries.PromptChars, LengthSeries.PromptTokens),
      chosen: mk(LengthSeries.ChosenChars, LengthSeries.ChosenTokens),
      rejected: mk(LengthSeries.RejectedChars, LengthSeries.RejectedTokens),
      completion: mk(LengthSeries.CompletionChars, LengthSeries.CompletionTokens),
      candidate: mk(LengthSeries.CandidateChars, LengthSeries.CandidateTokens),
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

/** The distinct values of a list that is almost always sorted already (then returned as it is). */
function sortedDistinct(a: number[]): number[] {
  let sorted = true;
  for (let i = 1; i < a.length && sorted; i++) sorted = a[i - 1] < a[i];
  return sorted ? a : [...new Set(a)].sort((x, y) => x - y);
}

/**
 * Marks (in `candidate`, indexed by global record) the records that share a signature key with a record of
 * another range: merge-joins of the ranges' sorted fingerprints and a pass over the ranges' keys (both in the
 * kernel), then the few records whose fingerprints matched are compared by full key. `cross`, when given, gets the
 * same marks (only these).
 */
export function crossRangeCandidates(parts: RangeResult[], candidate: Uint8Array, kk: KeyKernel, cross?: Uint8Array): void {
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
  const mark = (i: number): void => {
    candidate[i] = 1;
    if (cross) cross[i] = 1;
  };
  for (const list of holders.values()) if (list.some((h) => h.w !== list[0].w)) for (const h of list) mark(h.i);
  for (const s of swapped) {
    const list = holders.get(s.key);
    if (!list || !list.some((h) => h.w !== s.w)) continue;
    mark(s.i);
    for (const h of list) mark(h.i);
  }
}

/** Range aggregates added up (the counts per value stay per range: seriesStats reads them together). */
export interface MergedLengths extends Omit<LengthAgg, 'hist'> {
  hists: Uint32Array[];
}

export function mergeLengths(parts: RangeResult[]): MergedLengths {
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

/**
 * Exact statistics of one series: quantiles are order statistics (the value at index round(p·(n−1)) of the
 * sorted values), read from the counts without sorting.
 */
export function seriesStats(a: MergedLengths, series: LengthSeries, kk: KeyKernel): LengthStats {
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
