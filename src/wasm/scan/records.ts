// Records: a JSON line or a Parquet row of the formats the kernel reads, the record-level checks, the line loop
// (scan, scanRows) and the exact keys of a candidate line.

import { BIT_EMPTY, BIT_ENCODING, BIT_PROMPT_MISMATCH, BIT_TRUNCATION, FORMAT_HH, FORMAT_TRL_CONVERSATIONAL, FORMAT_TRL_STANDARD, MODE_HH, MODE_ROWS_ONLY, MODE_TRL_CONVERSATIONAL, MODE_TRL_STANDARD } from '../../core/kernels/layout';
import { batchCap, batchRows, bigCap, bigCount, cfgMaxCompletion, cfgMaxLength, cfgMaxPrompt, cfgMode, cfgPromptExtra, cfgResponseExtra, consumed, exactFormat, lines, slowLength, slowLine, slowStart, stop } from './config';
import { batchFull, emit } from './rows';
import { separation } from './pair';
import { convRecord } from './conv';
import { endOfLine, lineEnd, ws } from './json';
import { EXACT, bytesEqual, st, combine, normalizedHash, rawText, resumeAt, scanString, textSignature } from './text';

// ---- records ----

/**
 * Parses and checks the line starting at ls (input ends at `end`); writes row `r`. Returns the start of the next
 * line, or 0 to send the line to the exact path (also when the input may end inside the line: then the caller
 * finds no newline and waits for more input). Strings stop at any raw control character, so a parse never runs
 * past a newline.
 */
export function record(ls: usize, end: usize, final: bool, line: i32, offset: f64, exact: bool): usize {
  if (exact ? exactFormat == FORMAT_TRL_CONVERSATIONAL : cfgMode == MODE_TRL_CONVERSATIONAL) return convRecord(ls, end, final, line, offset, exact);
  const le = end;
  let p = ws(ls, le);
  if (p >= le || load<u8>(p) != 0x7b) return 0;
  let sharedAt: i32 = -1; // rejected resumed from the chosen prompt at this raw position
  p++;
  let seen: i32 = 0;
  for (;;) {
    p = ws(p, le);
    if (p >= le || load<u8>(p) != 0x22) return 0;
    p++;
    // key: plain ASCII, no escapes
    const ks = p;
    while (p < le) {
      const b = load<u8>(p);
      if (b == 0x22 || b == 0x5c || b < 0x20 || b >= 0x80) break;
      p++;
    }
    if (p >= le || load<u8>(p) != 0x22) return 0;
    const klen = <i32>(p - ks);
    let f: i32 = -1;
    if (klen == 6 && load<u32>(ks) == 0x6d6f7270 && load<u16>(ks, 4) == 0x7470) f = 0; // prompt
    else if (klen == 6 && load<u32>(ks) == 0x736f6863 && load<u16>(ks, 4) == 0x6e65) f = 1; // chosen
    else if (klen == 8 && load<u64>(ks) == 0x64657463656a6572) f = 2; // rejected
    if (f < 0 || (seen & (1 << f)) != 0) return 0;
    seen |= 1 << f;
    p = ws(p + 1, le);
    if (p >= le || load<u8>(p) != 0x3a) return 0;
    p = ws(p + 1, le);
    if (p >= le || load<u8>(p) != 0x22) return 0;
    p++;
    // HH: a rejected transcript that starts with the chosen one's prompt resumes from its snapshot (the closing quote
    // must still follow)
    let q = p;
    if (f == 2 && (seen & 2) != 0) {
      q = resumeAt(p, <i32>(le - p) - 1);
      if (q != p) sharedAt = <i32>q;
    }
    p = scanString<u16>(p, q, le, f, f != 0, q != p ? 1 : -1);
    if (p == 0) return 0;
    p = ws(p, le);
    if (p >= le) return 0;
    const b = load<u8>(p);
    p++;
    if (b == 0x7d) break;
    if (b != 0x2c) return 0;
  }
  const next = endOfLine(p, end, final, ls);
  if (next == 0) return 0;

  return checkRecord(seen, sharedAt, line, offset, <i32>(lineEnd - ls), exact) ? next : 0;
}

/**
 * The checks of a record whose fields are in ST (`seen`: bits of the fields present; `sharedAt`: where the rejected
 * transcript resumed from the chosen one's prompt, -1 if it did not); emits its row, or with `exact` writes its exact
 * keys. False to send the record to the exact path.
 */
export function checkRecord(seen: i32, sharedAt: i32, line: i32, offset: f64, length: i32, exact: bool): bool {
  // prompt / chosen / rejected statistics: chars, words (tokens), non-space units, s1, encoding problems
  let pC: i32, pW: i32, pN: i32, p1: i32, pE: i32;
  let cC: i32, cW: i32, cN: i32, c1: i32, cE: i32;
  let rC: i32, rW: i32, rN: i32, r1: i32, rE: i32;
  let fmt: i32;
  let flags: i32 = 0;
  let cs: usize, ce: usize, rs: usize, re: usize; // raw response regions
  let ps: usize, pe: usize; // raw prompt region
  if (seen == 6) {
    // HH: {chosen, rejected}, each a transcript ending in an Assistant turn
    if (!exact && cfgMode == MODE_TRL_STANDARD) return false;
    const cm = st(1, 12);
    const rm = st(2, 12);
    if (cm < 0 || rm < 0) return false;
    fmt = FORMAT_HH;
    pC = st(1, 5); pW = st(1, 6); pN = st(1, 7); p1 = st(1, 8); pE = st(1, 9);
    cC = st(1, 0) - pC; cW = st(1, 1) - pW; cN = st(1, 2) - pN; c1 = st(1, 3) - p1; cE = st(1, 4) - pE;
    rC = st(2, 0) - st(2, 5); rW = st(2, 1) - st(2, 6); rN = st(2, 2) - st(2, 7); r1 = st(2, 3) - st(2, 8); rE = st(2, 4) - st(2, 9);
    const cps = <usize>st(1, 10);
    const rps = <usize>st(2, 10);
    const cpl = cm - <i32>cps;
    const rpl = rm - <i32>rps;
    if (rm != sharedAt && (cpl != rpl || !bytesEqual(cps, rps, cpl))) {
      flags |= BIT_PROMPT_MISMATCH;
      if (st(2, 9) > 0) flags |= BIT_ENCODING;
    }
    cs = <usize>cm;
    ce = <usize>st(1, 11);
    rs = <usize>rm;
    re = <usize>st(2, 11);
    ps = cps;
    pe = <usize>cm;
  } else if (seen == 7) {
    if (!exact && cfgMode == MODE_HH) return false;
    fmt = FORMAT_TRL_STANDARD;
    pC = st(0, 0); pW = st(0, 1); pN = st(0, 2); p1 = st(0, 3); pE = st(0, 4);
    cC = st(1, 0); cW = st(1, 1); cN = st(1, 2); c1 = st(1, 3); cE = st(1, 4);
    rC = st(2, 0); rW = st(2, 1); rN = st(2, 2); r1 = st(2, 3); rE = st(2, 4);
    cs = <usize>st(1, 10);
    ce = <usize>st(1, 11);
    rs = <usize>st(2, 10);
    re = <usize>st(2, 11);
    ps = <usize>st(0, 10);
    pe = <usize>st(0, 11);
  } else return false;
  if (exact) {
    // Exact keys (checks/record.ts exactRecordKeys) for a duplicate candidate, if the kernel reads the record as
    // the JavaScript path did (the same format: then the same prompt and responses).
    if (fmt != exactFormat) return false;
    const hp = normalizedHash(ps, pe);
    const hc = normalizedHash(cs, ce);
    const hr = normalizedHash(rs, re);
    store<f64>(EXACT, combine(hp, hc, hr, 2));
    store<f64>(EXACT, combine(hp, hc, hr, -1), 8);
    store<f64>(EXACT, hc != hr ? combine(hp, hr, hc, -1) : -1, 16);
    return true;
  }

  if (pE > 0 || cE > 0 || rE > 0) flags |= BIT_ENCODING;
  if (cN == 0 || rN == 0) flags |= BIT_EMPTY;
  const pX = pW + cfgPromptExtra;
  const cX = cW + cfgResponseExtra;
  const rX = rW + cfgResponseExtra;
  if (pX > cfgMaxPrompt) flags |= BIT_TRUNCATION;
  if (cfgMaxCompletion >= 0 && (cX > cfgMaxCompletion || rX > cfgMaxCompletion)) flags |= BIT_TRUNCATION;
  if (pX + cX > cfgMaxLength || pX + rX > cfgMaxLength) flags |= BIT_TRUNCATION;
  const sep = separation(cs, ce, rs, re, cW, rW);
  if (sep < 0) return false;
  flags |= sep;

  const sp = textSignature(pW, pN, p1);
  const sc = textSignature(cW, cN, c1);
  const sr = textSignature(rW, rN, r1);
  // signature keys (checks/record.ts signatureKeys): the record, and the record with its responses swapped
  emit(line, offset, length, 0, flags, fmt, 0, pC, pW, cC, cW, rC, rW, -1, combine(sp, sc, sr, 2), combine(sp, sr, sc, 2), 0, 0);
  return true;
}

export function findNewline(p: usize, end: usize): usize {
  const nl = i8x16.splat(0x0a);
  while (p + 16 <= end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), nl));
    if (m != 0) return p + ctz<i32>(m);
    p += 16;
  }
  while (p < end) {
    if (load<u8>(p) == 0x0a) return p;
    p++;
  }
  return end;
}

export function isBlank(p: usize, e: usize): bool {
  for (; p < e; p++) {
    const b = load<u8>(p);
    if (b != 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return true;
}


/**
 * Scans whole lines of input [inp, inp + len) (16 readable bytes must follow it). `final`: the input ends the
 * range, so a last line without a newline is complete. Records go to the batch (at most batchCap); line numbers start
 * at firstLine, byte offsets at baseOffset. See the globals for where it stopped.
 */
export function scan(inp: usize, len: i32, final: bool, firstLine: i32, baseOffset: f64): void {
  const end = inp + <usize>len;
  let p = inp;
  let line = firstLine;
  stop = 3;
  rawText = false;
  if (cfgMode == MODE_ROWS_ONLY) return;
  while (p < end) {
    if (batchFull()) break;
    const fast = record(p, end, final, line, baseOffset + <f64>(p - inp), false);
    if (fast != 0) {
      line++;
      p = fast;
      continue;
    }
    const nl = findNewline(p, end);
    if (nl == end && !final) {
      stop = 0;
      break;
    }
    let le = nl;
    if (le > p && load<u8>(le - 1) == 0x0d) le--;
    const next = nl == end ? end : nl + 1;
    if (!isBlank(p, le)) {
      slowStart = <i32>(p - inp);
      slowLength = <i32>(le - p);
      slowLine = line;
      line++;
      p = next;
      stop = 1;
      break;
    }
    line++;
    p = next;
  }
  consumed = <i32>(p - inp);
  lines = line - firstLine;
}

/** The pair (address, length) of row r in a column's table; length 0xffffffff: null. */
@inline export function cell(table: usize, r: i32): u64 {
  return load<u64>(table + (<usize>r << 3));
}

/**
 * A Parquet row whose texts are in memory (the Parquet kernel's tables: parquetKernel.ts), read as the record
 * {prompt?, chosen, rejected} (tp = 0: no prompt column). Returns false to send the row to the exact path (a null
 * cell, a text the kernel does not read).
 */
export function rawRecord(tp: usize, tc: usize, tr: usize, r: i32, line: i32, offset: f64): bool {
  let seen: i32 = 6;
  if (tp != 0) {
    const x = cell(tp, r);
    const len = <usize>(x >> 32);
    if (len == 0xffffffff) return false;
    const at = <usize>(<u32>x);
    if (scanString<u8>(at, at, at + len, 0, false, -1) == 0) return false;
    seen = 7;
  }
  const xc = cell(tc, r);
  const xr = cell(tr, r);
  const cl = <usize>(xc >> 32);
  const rl = <usize>(xr >> 32);
  if (cl == 0xffffffff || rl == 0xffffffff) return false;
  const ca = <usize>(<u32>xc);
  const ra = <usize>(<u32>xr);
  if (scanString<u8>(ca, ca, ca + cl, 1, true, -1) == 0) return false;
  // HH: a rejected transcript that starts with the chosen one's prompt resumes from its snapshot
  const q = resumeAt(ra, <i32>rl);
  if (scanString<u8>(ra, q, ra + rl, 2, true, q != ra ? 1 : -1) == 0) return false;
  return checkRecord(seen, q != ra ? <i32>q : -1, line, offset, 0, false);
}

/**
 * Reads rows [from, to) of a Parquet row group in memory as records (see rawRecord): the texts of column tables tp
 * (prompt; 0: none), tc (chosen) and tr (rejected), scanned where they lie. Rows are numbered from firstLine, their
 * offsets baseOffset + row (a Parquet record has no bytes of its own). Stops as scan() does: `lines` rows consumed
 * (the slow one included when stop = 1: slowLine is its number).
 */
export function scanRows(tp: usize, tc: usize, tr: usize, from: i32, to: i32, firstLine: i32, baseOffset: f64): void {
  stop = 3;
  rawText = true;
  let r = from;
  while (r < to) {
    if (batchFull()) break;
    const line = firstLine + (r - from);
    const ok = rawRecord(tp, tc, tr, r, line, baseOffset + <f64>r);
    r++;
    if (!ok) {
      slowLine = line;
      stop = 1;
      break;
    }
  }
  lines = r - from;
  rawText = false;
}


/**
 * Exact keys of the record on the line [ls, ls + len) (no line terminator) read in `format` (a FORMAT_NAMES
 * index), at exactResult(): record key, pair key, swapped key (-1: none). Returns false when the kernel does not
 * read the line that way (the caller uses JavaScript).
 */
export function exactKeys(ls: usize, len: i32, format: i32): bool {
  exactFormat = format;
  rawText = false;
  return record(ls, ls + <usize>len, true, 0, 0, true) != 0;
}

export function exactResult(): usize {
  return EXACT;
}
