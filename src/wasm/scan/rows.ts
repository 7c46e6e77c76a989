// Records' columns and length statistics: the rows the scan writes (emit) and those of the JavaScript path (addRow).

import { AGG_DESIRABLE, AGG_FORMATS, AGG_LONGER, AGG_LONGER_CHARS, AGG_N, AGG_PAIRS, AGG_SUM, AGG_UNDESIRABLE, DENSE, LS_CANDIDATE_CHARS, LS_CANDIDATE_TOKENS, LS_CHOSEN_CHARS, LS_CHOSEN_TOKENS, LS_COMPLETION_CHARS, LS_COMPLETION_TOKENS, LS_PROMPT_CHARS, LS_PROMPT_TOKENS, LS_REJECTED_CHARS, LS_REJECTED_TOKENS, ROW_F_OFFSET, ROW_F_RECORD_KEY, ROW_F_SWAPPED_KEY, ROW_I_C1_CHARS, ROW_I_C1_TOKENS, ROW_I_C2_CHARS, ROW_I_C2_TOKENS, ROW_I_EXTRA, ROW_I_FLAGS, ROW_I_FORMAT, ROW_I_KIND, ROW_I_LABEL, ROW_I_LENGTH, ROW_I_LINE, ROW_I_PROMPT_CHARS, ROW_I_PROMPT_TOKENS, ROW_I_SUB, SERIES } from '../../core/kernels/layout';
import { agg, bFlags, bFormat, bLength, bLine, bOffset, bSigRecord, bSigSwapped, bSub, batchCap, batchRows, big, bigCap, bigCount, hist, rowF, rowI, stop } from './config';

// Byte offsets of the aggregates (AGG_* slots of f64).
export const A_SUM: usize = <usize>AGG_SUM << 3;
export const A_N: usize = <usize>AGG_N << 3;
export const A_PAIRS: usize = <usize>AGG_PAIRS << 3;
export const A_LONGER: usize = <usize>AGG_LONGER << 3;
export const A_LONGER_CHARS: usize = <usize>AGG_LONGER_CHARS << 3;
export const A_DESIRABLE: usize = <usize>AGG_DESIRABLE << 3;
export const A_UNDESIRABLE: usize = <usize>AGG_UNDESIRABLE << 3;
export const A_FORMATS: usize = <usize>AGG_FORMATS << 3;

@inline export function push(series: i32, v: i32): void {
  if (<u32>v < <u32>DENSE) {
    const h = hist + (<usize>(series * DENSE + v) << 2);
    store<u32>(h, load<u32>(h) + 1);
  } else {
    const b = big + (<usize>bigCount << 3);
    store<i32>(b, series);
    store<i32>(b, v, 4);
    bigCount++;
  }
}

/**
 * Counts and sums of the values below 2^16 of each series, from the counts per value (the driver adds the listed
 * larger values), into the aggregates AGG_SUM and AGG_N.
 */
export function denseTotals(): void {
  for (let series: i32 = 0; series < SERIES; series++) {
    let n: f64 = 0;
    let sum: f64 = 0;
    const h = hist + (<usize>(series * DENSE) << 2);
    for (let v: i32 = 0; v < DENSE; v++) {
      const c = <f64>load<u32>(h + (<usize>v << 2));
      n += c;
      sum += c * <f64>v;
    }
    store<f64>(agg + A_SUM + (<usize>series << 3), sum);
    store<f64>(agg + A_N + (<usize>series << 3), n);
  }
}

@inline export function bump(at: usize): void {
  store<f64>(agg + at, load<f64>(agg + at) + 1);
}

/**
 * Appends one record to the batch and to the length statistics (scan/range.ts and scan/merge.ts keeps the same rules for nothing
 * else: every record, from the kernel or from JavaScript, passes here). `extra` holds (chars, tokens) of
 * candidates beyond the first two.
 */
export function emit(
  line: i32, offset: f64, length: i32, sub: i32, flags: i32, format: i32, kind: i32, pc: i32, pt: i32,
  c1c: i32, c1t: i32, c2c: i32, c2t: i32, label: i32, sigR: f64, sigS: f64, extra: usize, nExtra: i32,
): void {
  const r = <usize>batchRows;
  batchRows++;
  store<u32>(bLine + (r << 2), line);
  store<f64>(bOffset + (r << 3), offset);
  store<u32>(bLength + (r << 2), length);
  store<u32>(bSub + (r << 2), sub);
  store<u32>(bFlags + (r << 2), flags);
  store<u8>(bFormat + r, <u8>format);
  store<f64>(bSigRecord + (r << 3), sigR);
  store<f64>(bSigSwapped + (r << 3), kind == 0 ? sigS : -1);
  bump(<usize>A_FORMATS + (<usize>format << 3));
  push(LS_PROMPT_CHARS, pc);
  push(LS_PROMPT_TOKENS, pt);
  if (kind == 0) {
    push(LS_CHOSEN_CHARS, c1c);
    push(LS_CHOSEN_TOKENS, c1t);
    push(LS_REJECTED_CHARS, c2c);
    push(LS_REJECTED_TOKENS, c2t);
    bump(A_PAIRS);
    if (c1t > c2t) bump(A_LONGER);
    if (c1c > c2c) bump(A_LONGER_CHARS);
  } else if (kind == 1) {
    push(LS_COMPLETION_CHARS, c1c);
    push(LS_COMPLETION_TOKENS, c1t);
    if (label == 1) bump(A_DESIRABLE);
    else if (label == 0) bump(A_UNDESIRABLE);
  } else {
    if (c1c >= 0) {
      push(LS_CANDIDATE_CHARS, c1c);
      push(LS_CANDIDATE_TOKENS, c1t);
    }
    if (c2c >= 0) {
      push(LS_CANDIDATE_CHARS, c2c);
      push(LS_CANDIDATE_TOKENS, c2t);
    }
    for (let e: i32 = 0; e < nExtra; e++) {
      push(LS_CANDIDATE_CHARS, <i32>load<f64>(extra + (<usize>(2 * e) << 3)));
      push(LS_CANDIDATE_TOKENS, <i32>load<f64>(extra + (<usize>(2 * e + 1) << 3)));
    }
  }
}

/** Appends the row JavaScript wrote at rowF/rowI (a record of the exact path); extras are f64 pairs at `extra`. */
export function addRow(extra: usize): void {
  const i = (f: i32): i32 => load<i32>(rowI + (<usize>f << 2));
  const f = (k: i32): f64 => load<f64>(rowF + (<usize>k << 3));
  emit(
    i(ROW_I_LINE), f(ROW_F_OFFSET), i(ROW_I_LENGTH), i(ROW_I_SUB), i(ROW_I_FLAGS), i(ROW_I_FORMAT),
    i(ROW_I_KIND), i(ROW_I_PROMPT_CHARS), i(ROW_I_PROMPT_TOKENS), i(ROW_I_C1_CHARS), i(ROW_I_C1_TOKENS),
    i(ROW_I_C2_CHARS), i(ROW_I_C2_TOKENS), i(ROW_I_LABEL), f(ROW_F_RECORD_KEY), f(ROW_F_SWAPPED_KEY),
    extra, i(ROW_I_EXTRA),
  );
}

/** Whether the batch (stop = 2) or the list of big values (stop = 4) has no room for another record. */
@inline export function batchFull(): bool {
  if (batchRows == batchCap) {
    stop = 2;
    return true;
  }
  if (bigCount > bigCap - 8) {
    stop = 4;
    return true;
  }
  return false;
}
