// AssemblyScript (compiled to WebAssembly with SIMD by scripts/build.mjs; not part of the tsc project).
//
// The fast path of `scanRange` (src/core/scan/range.ts; docs/ARCHITECTURE.md, "The scan kernel"): JSON Lines records whose values are all plain JSON strings
// under the keys {chosen, rejected} (Anthropic HH) or {prompt, chosen, rejected} (TRL standard with an explicit
// prompt), scanned straight from the file's UTF-8 bytes, 32 or 16 bytes at a time; and the same records as the rows of
// a Parquet row group in memory (scanRows: the texts read where the Parquet kernel decoded them, raw UTF-8 with no
// JSON escapes, the two kernels sharing one memory: kernels.ts). Per text it computes what
// src/core/checks/text.ts computes from decoded strings: UTF-16 length, word-level token count (tokenize/words.ts),
// encoding problems, and the normalisation-invariant signature (see textSignature in checks/text.ts); per record
// the checks of checks/record.ts summarizeRecord. It also collects every record's columns and length statistics
// (addRow takes the rows of the JavaScript path), sorts key fingerprints for the duplicate search, and computes
// exact keys (checks/text.ts normalizedHash) of candidate lines.
//
// Anything else — another key, a number, an escape other than \n \t \r \" \\, invalid UTF-8, a control character,
// a missing "\n\nAssistant:" turn, a duplicated key, invalid JSON — stops the kernel at that line, and the line
// goes through the exact JavaScript path (JSON.parse + normalize + summarizeRecord). Every escape the fast path
// accepts has exactly one raw spelling, so byte equality of raw regions is equality of the decoded strings.

import {
  AGG_DESIRABLE, AGG_FORMATS, AGG_LONGER, AGG_LONGER_CHARS, AGG_N, AGG_PAIRS, AGG_SUM, AGG_UNDESIRABLE,
  BIT_EMPTY, BIT_ENCODING, BIT_IDENTICAL, BIT_LOW_SEPARATION, BIT_PROMPT_MISMATCH, BIT_TRUNCATION,
  CFG_AGG, CFG_BATCH_CAP, CFG_BIG, CFG_BIG_CAP, CFG_FLAGS, CFG_FORMAT, CFG_HIST, CFG_LENGTH, CFG_LINE, CFG_MAX_COMPLETION,
  CFG_MAX_EDITS, CFG_MAX_LENGTH, CFG_MAX_PROMPT, CFG_MODE, CFG_OFFSET, CFG_ROW_F, CFG_ROW_I, CFG_SIG_RECORD,
  CFG_SIG_SWAPPED, CFG_SUB, CFG_TOKEN_CAP, CFG_TOKENS, CFG_PROMPT_EXTRA, CFG_RESPONSE_EXTRA, DENSE, FORMAT_HH, FORMAT_TRL_STANDARD, MODE_HH, MODE_ROWS_ONLY,
  MODE_TRL_STANDARD, ROW_F_OFFSET, ROW_F_RECORD_KEY, ROW_F_SWAPPED_KEY, ROW_I_C1_CHARS, ROW_I_C1_TOKENS, ROW_I_C2_CHARS,
  ROW_I_C2_TOKENS, ROW_I_EXTRA, ROW_I_FLAGS, ROW_I_FORMAT, ROW_I_KIND, ROW_I_LABEL, ROW_I_LENGTH, ROW_I_LINE,
  ROW_I_PROMPT_CHARS, ROW_I_PROMPT_TOKENS, ROW_I_SUB, SERIES, LS_PROMPT_CHARS, LS_PROMPT_TOKENS, LS_CHOSEN_CHARS, LS_CHOSEN_TOKENS, LS_REJECTED_CHARS, LS_REJECTED_TOKENS, LS_COMPLETION_CHARS, LS_COMPLETION_TOKENS, LS_CANDIDATE_CHARS, LS_CANDIDATE_TOKENS,
} from '../core/kernels/layout';

// ---- results of the last scan() call, read by the driver ----
export let consumed: i32 = 0; // bytes consumed from the input (whole lines)
export let lines: i32 = 0; // lines consumed (blank, fast and, when stop = 1, the slow line too)
export let stop: i32 = 0; // 0: need more input, 1: slow line, 2: batch full, 3: input exhausted (final), 4: big list full
export let slowStart: i32 = 0; // slow line: start (relative to the input), length (without CR/LF), line number
export let slowLength: i32 = 0;
export let slowLine: i32 = 0;

// ---- configuration and the driver's buffers (kernel.ts writes them; layout in core/kernels/layout.ts) ----
let cfgMode: i32 = 0; // MODE_*
let cfgMaxPrompt: i32 = 512;
let cfgMaxCompletion: i32 = -1; // -1: none
let cfgMaxLength: i32 = 1024;
let cfgPromptExtra: i32 = 0; // special tokens before the prompt
let cfgResponseExtra: i32 = 1; // … after each response (EOS)
let cfgMaxEdits: i32 = 3;
let tokA: usize = 0; // scratch for token hashes (low-separation check), tokCap entries each
let tokB: usize = 0;
let tokCap: i32 = 0;
// The batch: columns of up to batchCap records, appended by scan() and addRow(), drained by the driver.
let batchCap: i32 = 0;
export let batchRows: i32 = 0;
let bLine: usize = 0; // u32
let bOffset: usize = 0; // f64
let bLength: usize = 0; // u32
let bSub: usize = 0; // u32
let bFlags: usize = 0; // u32
let bFormat: usize = 0; // u8
let bSigRecord: usize = 0; // f64
let bSigSwapped: usize = 0; // f64
// Length statistics (scan/range.ts LengthAgg): counts per value below 2^16 for 10 series, larger values listed
// as (series, value) pairs, and f64 sums: sum[10], n[10], pairs, longer, longerChars, desirable, undesirable,
// formats[12] (core/kernels/layout.ts AGG_*).
let hist: usize = 0;
let big: usize = 0;
let bigCap: i32 = 0;
export let bigCount: i32 = 0;
let agg: usize = 0;
// One summary row from JavaScript (ROW_F_* f64, ROW_I_* i32), for addRow().
let rowF: usize = 0;
let rowI: usize = 0;

/** Reads the configuration written at `c` (words CFG_* of core/kernels/layout.ts). */
export function setup(c: usize): void {
  cfgMode = load<i32>(c + (CFG_MODE << 2));
  cfgMaxPrompt = load<i32>(c + (CFG_MAX_PROMPT << 2));
  cfgMaxCompletion = load<i32>(c + (CFG_MAX_COMPLETION << 2));
  cfgMaxLength = load<i32>(c + (CFG_MAX_LENGTH << 2));
  cfgPromptExtra = load<i32>(c + (CFG_PROMPT_EXTRA << 2));
  cfgResponseExtra = load<i32>(c + (CFG_RESPONSE_EXTRA << 2));
  cfgMaxEdits = load<i32>(c + (CFG_MAX_EDITS << 2));
  tokA = load<u32>(c + (CFG_TOKENS << 2));
  tokCap = load<i32>(c + (CFG_TOKEN_CAP << 2));
  tokB = tokA + (<usize>tokCap << 2);
  batchCap = load<i32>(c + (CFG_BATCH_CAP << 2));
  bLine = load<u32>(c + (CFG_LINE << 2));
  bOffset = load<u32>(c + (CFG_OFFSET << 2));
  bLength = load<u32>(c + (CFG_LENGTH << 2));
  bSub = load<u32>(c + (CFG_SUB << 2));
  bFlags = load<u32>(c + (CFG_FLAGS << 2));
  bFormat = load<u32>(c + (CFG_FORMAT << 2));
  bSigRecord = load<u32>(c + (CFG_SIG_RECORD << 2));
  bSigSwapped = load<u32>(c + (CFG_SIG_SWAPPED << 2));
  hist = load<u32>(c + (CFG_HIST << 2));
  big = load<u32>(c + (CFG_BIG << 2));
  bigCap = load<i32>(c + (CFG_BIG_CAP << 2));
  agg = load<u32>(c + (CFG_AGG << 2));
  rowF = load<u32>(c + (CFG_ROW_F << 2));
  rowI = load<u32>(c + (CFG_ROW_I << 2));
  batchRows = 0;
  bigCount = 0;
}

export function resetBatch(): void {
  batchRows = 0;
}

export function resetBig(): void {
  bigCount = 0;
}

// Byte offsets of the aggregates (AGG_* slots of f64).
const A_SUM: usize = <usize>AGG_SUM << 3;
const A_N: usize = <usize>AGG_N << 3;
const A_PAIRS: usize = <usize>AGG_PAIRS << 3;
const A_LONGER: usize = <usize>AGG_LONGER << 3;
const A_LONGER_CHARS: usize = <usize>AGG_LONGER_CHARS << 3;
const A_DESIRABLE: usize = <usize>AGG_DESIRABLE << 3;
const A_UNDESIRABLE: usize = <usize>AGG_UNDESIRABLE << 3;
const A_FORMATS: usize = <usize>AGG_FORMATS << 3;

@inline function push(series: i32, v: i32): void {
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

@inline function bump(at: usize): void {
  store<f64>(agg + at, load<f64>(agg + at) + 1);
}

/**
 * Appends one record to the batch and to the length statistics (scan/range.ts and scan/merge.ts keeps the same rules for nothing
 * else: every record, from the kernel or from JavaScript, passes here). `extra` holds (chars, tokens) of
 * candidates beyond the first two.
 */
function emit(
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

// Per-field statistics: 3 fields (0 prompt, 1 chosen, 2 rejected) × 16 i32.
// [0..4] totals: chars, words, nonWs, s1, enc; [5..9] the same at the end of the last "\n\nAssistant:";
// [10] raw start, [11] raw end (exclusive, before the closing quote), [12] raw end of that marker (-1: none).
const ST = memory.data(3 * 16 * 4, 16);
const DP = memory.data(2 * 64 * 4, 16); // rows of the banded edit distance (k ≤ 31)

// ---- character classes (tokenize/words.ts) ----
// 0 space, 1 word, 2 punctuation, 3 single (CJK)
function asciiClass(c: i32): i32 {
  if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return 0;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f) return 1;
  if (c < 0x20 || c == 0x7f) return 0;
  return 2;
}

const ASCII_CLASS = memory.data(128);
for (let c: i32 = 0; c < 128; c++) store<u8>(ASCII_CLASS + <usize>c, <u8>asciiClass(c));

@inline function charClass(c: i32): i32 {
  if (c < 128) return <i32>load<u8>(ASCII_CLASS + <usize>c);
  return wideClass(c);
}

function wideClass(c: i32): i32 {
  if (c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff)
    return 0;
  if ((c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) return 3;
  if ((c >= 0x2010 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xa1 && c <= 0xbf && c != 0xaa && c != 0xb5 && c != 0xba)) return 2;
  return 1;
}

// ---- UTF-8: decodes the sequence at p (first byte ≥ 0x80) strictly; returns its length, 0 when invalid ----
let cp: i32 = 0;
function utf8(p: usize, le: usize): i32 {
  const b0 = <i32>load<u8>(p);
  let len: i32;
  let c: i32;
  let lo: i32 = 0x80; // range of the second byte (narrower after E0, ED, F0, F4: no overlongs, surrogates, > U+10FFFF)
  let hi: i32 = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    c = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    c = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0;
    else if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    c = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90;
    else if (b0 == 0xf4) hi = 0x8f;
  } else return 0;
  if (p + <usize>len > le) return 0;
  for (let i: i32 = 1; i < len; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    if (b < lo || b > hi) return 0;
    c = (c << 6) | (b & 0x3f);
    lo = 0x80;
    hi = 0xbf;
  }
  cp = c;
  return len;
}

// ---- scanning one JSON string ----
// Per-string sums kept outside the SIMD loop's locals (they change rarely there).
let sS1: i32 = 0;
let sEnc: i32 = 0;

const IOTA: v128 = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

// "Assistant:" (10 non-space code units): the sum of (c | 0x20).
const ASSISTANT_S1: i32 = 0x61 + 0x73 + 0x73 + 0x69 + 0x73 + 0x74 + 0x61 + 0x6e + 0x74 + 0x3a;

@inline function hsum(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/** Lanes holding '"', '\\', a control character, DEL or a byte ≥ 0x80 (signed compare after +1). */
@inline function specialBytes(v: v128): v128 {
  return v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c))), i8x16.lt_s(i8x16.add(v, i8x16.splat(1)), i8x16.splat(0x21)));
}

/**
 * Lanes holding a word character [0-9A-Za-z_], by signed range tests (x86 has no unsigned byte compare); valid for
 * bytes < 0x80, the only ones counted with it. `lower` is v | 0x20.
 */
@inline function wordBytes(v: v128, lower: v128): v128 {
  return v128.or(
    v128.or(i8x16.lt_s(i8x16.add(lower, i8x16.splat(0x1f)), i8x16.splat(-102)), i8x16.lt_s(i8x16.add(v, i8x16.splat(0x50)), i8x16.splat(-118))),
    i8x16.eq(v, i8x16.splat(0x5f)),
  );
}

/** Writes one set of field statistics (chars, words, nonWs, s1, enc) at `at` (a slot's totals or its snapshot). */
@inline function putStats(at: usize, chars: i32, words: i32, nonWs: i32, s1: i32, enc: i32): void {
  store<i32>(at, chars, 0);
  store<i32>(at, words, 4);
  store<i32>(at, nonWs, 8);
  store<i32>(at, s1, 12);
  store<i32>(at, enc, 16);
}

/** Lanes holding a control character, DEL or a byte ≥ 0x80: the special bytes of a raw text (no quotes or escapes). */
@inline function specialRaw(v: v128): v128 {
  return i8x16.lt_s(i8x16.add(v, i8x16.splat(1)), i8x16.splat(0x21));
}

/**
 * Scans a text and fills field slot `f` of ST. JSON (M = u16): the body of a JSON string, from p (after the opening
 * quote) to its closing quote, within [p, le); returns the position after the quote. Raw (M = u8, a Parquet value):
 * the UTF-8 bytes [p, le) themselves, where a quote or a backslash is a character and a newline, tab or carriage return
 * a space; returns le. With `from` ≥ 0, the bytes [start, p) are known to equal field `from`'s prompt (up to its last
 * "\n\nAssistant:"), and scanning resumes from that field's snapshot. Returns 0 to send the record to the exact path.
 */
function scanString<M>(start: usize, p: usize, le: usize, f: i32, markers: bool, from: i32): usize {
  const RAW = sizeof<M>() == 1;
  const slot = ST + <usize>(f * 64);
  store<i32>(slot, <i32>start, 40);
  store<i32>(slot, -1, 48);
  let chars: i32 = 0;
  let words: i32 = 0;
  let nonWs: i32 = 0;
  let inWord: i32 = 0;
  sS1 = 0;
  sEnc = 0;
  if (from >= 0) {
    const src = ST + <usize>(from * 64);
    chars = load<i32>(src, 20);
    words = load<i32>(src, 24);
    nonWs = load<i32>(src, 28);
    sS1 = load<i32>(src, 32);
    sEnc = load<i32>(src, 36);
    putStats(slot + 20, chars, words, nonWs, sS1, sEnc);
    store<i32>(slot, <i32>p, 48);
  }
  let acc16 = i16x8.splat(0); // per-lane sums of (c | 0x20), flushed to acc32 before they can overflow
  let acc32 = i32x4.splat(0);
  let blocks: i32 = 0;
  let nlEnd: usize = 0; // position right after the last newline
  for (;;) {
    // Two blocks at a time while both are plain printable ASCII (the common case in English text).
    while (<i32>(le - p) >= 32) {
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      if (v128.any_true(RAW ? v128.or(specialRaw(v0), specialRaw(v1)) : v128.or(specialBytes(v0), specialBytes(v1)))) break;
      const l0 = v128.or(v0, i8x16.splat(0x20));
      const l1 = v128.or(v1, i8x16.splat(0x20));
      const w0 = wordBytes(v0, l0);
      const w1 = wordBytes(v1, l1);
      const s0 = i8x16.eq(v0, i8x16.splat(0x20));
      const s1 = i8x16.eq(v1, i8x16.splat(0x20));
      const wm = i8x16.bitmask(w0) | (i8x16.bitmask(w1) << 16);
      const sm = i8x16.bitmask(s0) | (i8x16.bitmask(s1) << 16);
      words += popcnt<i32>(wm & ~((wm << 1) | inWord)) + popcnt<i32>(~(sm | wm));
      inWord = <i32>(<u32>wm >> 31);
      nonWs += 32 - popcnt<i32>(sm);
      chars += 32;
      // the bytes are below 0x80: two blocks' (c | 0x20) add up in 8 bits before they are widened
      acc16 = i16x8.add(acc16, i16x8.extadd_pairwise_i8x16_u(i8x16.add(v128.andnot(l0, s0), v128.andnot(l1, s1))));
      blocks += 2;
      if (blocks >= 126) {
        acc32 = i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16));
        acc16 = i16x8.splat(0);
        blocks = 0;
      }
      p += 32;
    }
    const v = v128.load(p);
    const specialV = RAW ? specialRaw(v) : specialBytes(v);
    const lower = v128.or(v, i8x16.splat(0x20));
    const wv = wordBytes(v, lower);
    const sv = i8x16.eq(v, i8x16.splat(0x20));
    const special = i8x16.bitmask(specialV);
    const wm0 = i8x16.bitmask(wv);
    const sm0 = i8x16.bitmask(sv);
    const rem = <i32>(le - p);
    if (special == 0 && rem >= 16) {
      // 16 plain printable ASCII bytes
      words += popcnt<i32>(wm0 & ~((wm0 << 1) | inWord)) + popcnt<i32>(~(sm0 | wm0) & 0xffff);
      inWord = wm0 >> 15;
      nonWs += 16 - popcnt<i32>(sm0);
      chars += 16;
      acc16 = i16x8.add(acc16, i16x8.extadd_pairwise_i8x16_u(v128.andnot(lower, sv)));
      if (++blocks >= 126) {
        acc32 = i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16));
        acc16 = i16x8.splat(0);
        blocks = 0;
      }
      p += 16;
      continue;
    }
    let n: i32 = special != 0 ? ctz<i32>(special) : 16;
    if (n > rem) n = rem;
    if (n > 0) {
      const valid: i32 = (1 << n) - 1;
      const wm = wm0 & valid;
      const nw = valid & ~sm0;
      words += popcnt<i32>(wm & ~((wm << 1) | inWord)) + popcnt<i32>(nw & ~wm);
      inWord = (wm >> (n - 1)) & 1;
      nonWs += popcnt<i32>(nw);
      chars += n;
      const keep = v128.andnot(i8x16.lt_u(IOTA, i8x16.splat(<i8>n)), sv);
      acc32 = i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.and(lower, keep))));
      p += n;
    }
    if (p >= le) {
      if (!RAW) return 0; // unterminated string
      putStats(slot, chars, words, nonWs, sS1 + hsum(i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16))), sEnc);
      store<i32>(slot, <i32>le, 44);
      return le;
    }
    const b = <i32>load<u8>(p);
    if (!RAW && b == 0x22) {
      // closing quote
      putStats(slot, chars, words, nonWs, sS1 + hsum(i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16))), sEnc);
      store<i32>(slot, <i32>p, 44);
      return p + 1;
    }
    // A special character, handled on the locals: a newline, tab or carriage return (an escape in JSON, the byte
    // itself in a raw text) is a space.
    let e: i32 = -1; // the character it stands for, when it is one of those (or \" \\ in JSON)
    let w: usize = 2; // its bytes
    if (RAW) {
      if (b == 0x0a || b == 0x09 || b == 0x0d) {
        e = b;
        w = 1;
      }
    } else if (b == 0x5c) {
      if (p + 1 >= le) return 0;
      const x = <i32>load<u8>(p + 1);
      if (x == 0x6e) e = 0x0a;
      else if (x == 0x74) e = 0x09;
      else if (x == 0x72) e = 0x0d;
      else if (x == 0x22 || x == 0x5c) e = x;
      else return 0; // \/ \b \f \u…: exact path
    }
    if (e >= 0) {
      if (e == 0x0a) {
        const prevNl = nlEnd == p;
        chars++;
        inWord = 0;
        p += w;
        nlEnd = p;
        if (markers && prevNl && p + 10 <= le && isAssistant(p)) {
          // "Assistant:": one word and one punctuation token, 10 non-space characters; then a snapshot.
          words += 2;
          nonWs += 10;
          chars += 10;
          sS1 += ASSISTANT_S1 + hsum(i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16)));
          acc16 = i16x8.splat(0);
          acc32 = i32x4.splat(0);
          blocks = 0;
          p += 10;
          putStats(slot + 20, chars, words, nonWs, sS1, sEnc);
          store<i32>(slot, <i32>p, 48);
        }
      } else if (e == 0x09 || e == 0x0d) {
        chars++;
        inWord = 0;
        p += w;
      } else {
        // \" \\ (JSON): one punctuation token
        chars++;
        words++;
        nonWs++;
        sS1 += e | 0x20;
        inWord = 0;
        p += 2;
      }
      continue;
    }
    if (b < 0x80) return 0; // another control character (raw, invalid JSON) or DEL: exact path
    const len = utf8(p, le);
    if (len == 0) return 0;
    p += len;
    // One or two UTF-16 code units, as analyzeText sees them.
    let u = cp;
    if (u >= 0x10000) {
      // a surrogate pair: two word-class units
      const c = u - 0x10000;
      chars += 2;
      nonWs += 2;
      sS1 += ((0xd800 + (c >> 10)) | 0x20) + ((0xdc00 + (c & 0x3ff)) | 0x20);
      if (inWord == 0) words++;
      inWord = 1;
      continue;
    }
    chars++;
    if (u == 0xfffd || u <= 0x9f) sEnc++;
    const k = charClass(u);
    if (k == 0) {
      inWord = 0;
      continue;
    }
    nonWs++;
    sS1 += u | 0x20;
    if (k == 1) {
      if (inWord == 0) words++;
      inWord = 1;
    } else {
      words++;
      inWord = 0;
    }
  }
  return 0;
}

/**
 * Where a rejected text at p resumes scanning: after the chosen text's prompt (up to its last "\n\nAssistant:",
 * field 1's snapshot) when its bytes start with it and `room` bytes have room for it, else p itself.
 */
function resumeAt(p: usize, room: i32): usize {
  if (st(1, 12) < 0) return p;
  const plen = st(1, 12) - st(1, 10);
  return room >= plen && bytesEqual(p, <usize>st(1, 10), plen) ? p + <usize>plen : p;
}

@inline function isAssistant(p: usize): bool {
  // "Assistan" little-endian, then "t:"
  return load<u64>(p) == 0x6e61747369737341 && load<u16>(p, 8) == 0x3a74;
}

// ---- decoding the texts the scan accepted ----
/** The regions decoded are raw texts (scanRows), not JSON string bodies (scan, exactKeys). */
let rawText = false;

/**
 * The character at p of a region the scan accepted (a JSON string body with the escapes \n \t \r \" \\, or a raw
 * text): its code point in the high 32 bits, the position after it in the low ones; 0 when its UTF-8 is invalid.
 */
@inline function nextChar(p: usize, e: usize): u64 {
  let u = <u32>load<u8>(p);
  if (u < 0x80) {
    if (u != 0x5c || rawText) return (<u64>u << 32) | <u64>(p + 1);
    const x = <u32>load<u8>(p + 1);
    u = x == 0x6e ? 0x0a : x == 0x74 ? 0x09 : x == 0x72 ? 0x0d : x;
    return (<u64>u << 32) | <u64>(p + 2);
  }
  const len = utf8(p, e);
  return len == 0 ? 0 : (<u64>cp << 32) | <u64>(p + <usize>len);
}

// ---- token hashes of a raw region (the same hashes as wordTokenHashes in tokenize/words.ts) ----
const FNV_OFFSET: i32 = <i32>0x811c9dc5;
const FNV_PRIME: i32 = 0x01000193;

/**
 * Token hashes of the decoded text of raw region [p, e) (see decodeUnits) into `out`; -1 when they do not fit the
 * scratch. Stops once `limit` tokens are out (the last one may then be the start of a longer word: callers use
 * limit − 1). The hasher's state stays in locals: ASCII, the common case, costs a class lookup per byte.
 */
function tokenHashes(p: usize, e: usize, out: usize, limit: i32): i32 {
  let count: i32 = 0;
  let h: i32 = 0;
  let inWord = false;
  while (p < e && count < limit) {
    const x = nextChar(p, e);
    if (x == 0) return -1; // not a region the scan accepted
    p = <usize>(<u32>x);
    const u = <i32>(x >> 32);
    if (u >= 0x10000) {
      // a surrogate pair: two word-class units
      const c = u - 0x10000;
      if (!inWord) {
        h = FNV_OFFSET;
        inWord = true;
      }
      h = (h ^ (0xd800 + (c >> 10))) * FNV_PRIME;
      h = (h ^ (0xdc00 + (c & 0x3ff))) * FNV_PRIME;
      continue;
    }
    const k = charClass(u);
    if (k == 1) {
      if (!inWord) {
        h = FNV_OFFSET;
        inWord = true;
      }
      h = (h ^ u) * FNV_PRIME;
      continue;
    }
    if (inWord) {
      if (count >= tokCap) return -1;
      store<i32>(out + (<usize>count << 2), h);
      count++;
      inWord = false;
    }
    if (k != 0) {
      if (count >= tokCap) return -1;
      store<i32>(out + (<usize>count << 2), ((FNV_OFFSET ^ u) * FNV_PRIME) ^ <i32>0x5bd1e995);
      count++;
    }
  }
  if (inWord) {
    if (count >= tokCap) return -1;
    store<i32>(out + (<usize>count << 2), h);
    count++;
  }
  return count;
}

/**
 * Decodes raw region [p, e) of a JSON string the kernel accepted (escapes \n \t \r \" \\, valid UTF-8), or of a raw
 * text (rawText), to UTF-16 code units, and feeds them to the normalised hash. False when it is not such a region.
 */
function decodeUnits(p: usize, e: usize): bool {
  while (p < e) {
    const x = nextChar(p, e);
    if (x == 0) return false;
    p = <usize>(<u32>x);
    const u = <i32>(x >> 32);
    if (u >= 0x10000) {
      // a surrogate pair
      const c = u - 0x10000;
      nhUnit(0xd800 + (c >> 10));
      nhUnit(0xdc00 + (c & 0x3ff));
    } else nhUnit(u);
  }
  return true;
}

/**
 * Banded edit distance (checks/text.ts boundedEditDistance): the distance if ≤ k, else k + 1. With rows < n, only
 * the first `rows` rows are computed (b must hold at least rows + k tokens or all of them): k + 1 if one of them
 * already exceeds k (the distance does too), else 0, meaning "not decided".
 */
function boundedEditDistance(a: usize, n: i32, b: usize, m: i32, k: i32, rows: i32): i32 {
  const INF = k + 1;
  const prefix = rows < n;
  if (prefix) n = rows;
  else if (abs<i32>(n - m) > k) return INF;
  const w = 2 * k + 1;
  let prev = DP;
  let cur = DP + 64 * 4;
  for (let t = 0; t < w; t++) store<i32>(prev + (<usize>t << 2), INF);
  for (let d = 0; d <= k && d <= m; d++) store<i32>(prev + (<usize>(d + k) << 2), d);
  for (let i = 1; i <= n; i++) {
    let rowMin = INF;
    const ai = load<i32>(a + (<usize>(i - 1) << 2));
    for (let t = 0; t < w; t++) {
      const j = i - k + t;
      let v = INF;
      if (j >= 0 && j <= m) {
        if (j == 0) v = i;
        else {
          v = load<i32>(prev + (<usize>t << 2)) + (ai == load<i32>(b + (<usize>(j - 1) << 2)) ? 0 : 1);
          if (t + 1 < w) {
            const del = load<i32>(prev + (<usize>(t + 1) << 2)) + 1;
            if (del < v) v = del;
          }
          if (t > 0) {
            const ins = load<i32>(cur + (<usize>(t - 1) << 2)) + 1;
            if (ins < v) v = ins;
          }
        }
        if (v > INF) v = INF;
      }
      store<i32>(cur + (<usize>t << 2), v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > k) return INF;
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  if (prefix) return 0;
  const r = load<i32>(prev + (<usize>(m - n + k) << 2));
  return r > k ? INF : r;
}

// ---- hashing (checks/text.ts: combineHashes, textSignature) ----
function textSignature(words: i32, nonWs: i32, s1: i32): f64 {
  let a: i32 = 0x243f6a88;
  let b: i32 = <i32>0x85a308d3;
  a = (a ^ words) * 0x01000193;
  b = (b ^ words) * <i32>0x5bd1e995;
  b ^= <i32>(<u32>b >> 13);
  a = (a ^ nonWs) * 0x01000193;
  b = (b ^ nonWs) * <i32>0x5bd1e995;
  b ^= <i32>(<u32>b >> 13);
  a = (a ^ s1) * 0x01000193;
  b = (b ^ s1) * <i32>0x5bd1e995;
  b ^= <i32>(<u32>b >> 13);
  return <f64>(<u32>a) * 2097152.0 + <f64>(<u32>b >> 11);
}

let cA: i32 = 0;
let cB: i32 = 0;
@inline function combineStart(): void {
  cA = <i32>0x9e3779b9;
  cB = 0x7f4a7c15;
}
function combineAdd(h: f64): void {
  const x = <u64>h;
  const lo = <i32>(x & 0xffffffff);
  const hi = <i32>(x >> 32);
  cA = (cA ^ lo) * 0x01000193;
  cA = (cA ^ hi) * 0x01000193;
  cB = (cB ^ hi) * <i32>0x5bd1e995;
  cB ^= <i32>(<u32>cB >> 13);
  cB = (cB ^ lo) * <i32>0x5bd1e995;
  cB ^= <i32>(<u32>cB >> 15);
}
@inline function combineEnd(): f64 {
  return <f64>(<u32>cA) * 2097152.0 + <f64>(<u32>cB >> 11);
}
/** combineHashes([a, b, c]), or combineHashes([a, b, c, d]) when d ≥ 0. */
function combine(a: f64, b: f64, c: f64, d: f64): f64 {
  combineStart();
  combineAdd(a);
  combineAdd(b);
  combineAdd(c);
  if (d >= 0) combineAdd(d);
  return combineEnd();
}

// ---- records ----
@inline function st(f: i32, i: i32): i32 {
  return load<i32>(ST + <usize>(f * 64 + i * 4));
}

function skipWs(p: usize, le: usize): usize {
  while (p < le) {
    const b = load<u8>(p);
    if (b != 0x20 && b != 0x09 && b != 0x0d) break;
    p++;
  }
  return p;
}

/** Length of the common prefix of [a, a + n) and [b, b + n). */
function commonPrefix(a: usize, b: usize, n: i32): i32 {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a + i), v128.load(b + i))) ^ 0xffff;
    if (m != 0) return i + ctz<i32>(m);
  }
  while (i < n && load<u8>(a + i) == load<u8>(b + i)) i++;
  return i;
}

/** Length of the common suffix of the n bytes before a and before b. */
function commonSuffix(a: usize, b: usize, n: i32): i32 {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a - i - 16), v128.load(b - i - 16))) ^ 0xffff;
    if (m != 0) return i + clz<i32>(m) - 16;
  }
  while (i < n && load<u8>(a - i - 1) == load<u8>(b - i - 1)) i++;
  return i;
}

function bytesEqual(a: usize, b: usize, n: i32): bool {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) if (!i8x16.all_true(i8x16.eq(v128.load(a + i), v128.load(b + i)))) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * Parses and checks the line starting at ls (input ends at `end`); writes row `r`. Returns the start of the next
 * line, or 0 to send the line to the exact path (also when the input may end inside the line: then the caller
 * finds no newline and waits for more input). Strings stop at any raw control character, so a parse never runs
 * past a newline.
 */
function record(ls: usize, end: usize, final: bool, line: i32, offset: f64, exact: bool): usize {
  const le = end;
  let p = skipWs(ls, le);
  if (p >= le || load<u8>(p) != 0x7b) return 0;
  let sharedAt: i32 = -1; // rejected resumed from the chosen prompt at this raw position
  p++;
  let seen: i32 = 0;
  for (;;) {
    p = skipWs(p, le);
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
    p = skipWs(p + 1, le);
    if (p >= le || load<u8>(p) != 0x3a) return 0;
    p = skipWs(p + 1, le);
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
    p = skipWs(p, le);
    if (p >= le) return 0;
    const b = load<u8>(p);
    p++;
    if (b == 0x7d) break;
    if (b != 0x2c) return 0;
  }
  // The line ends here: optional whitespace, then LF (or the end of the input, when it is final).
  p = skipWs(p, end);
  let lineEnd: usize;
  let next: usize;
  if (p < end) {
    if (load<u8>(p) != 0x0a) return 0;
    lineEnd = p;
    next = p + 1;
  } else {
    if (!final) return 0;
    lineEnd = end;
    next = end;
  }
  if (lineEnd > ls && load<u8>(lineEnd - 1) == 0x0d) lineEnd--;

  return checkRecord(seen, sharedAt, line, offset, <i32>(lineEnd - ls), exact) ? next : 0;
}

/**
 * The checks of a record whose fields are in ST (`seen`: bits of the fields present; `sharedAt`: where the rejected
 * transcript resumed from the chosen one's prompt, -1 if it did not); emits its row, or with `exact` writes its exact
 * keys. False to send the record to the exact path.
 */
function checkRecord(seen: i32, sharedAt: i32, line: i32, offset: f64, length: i32, exact: bool): bool {
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
  const cl = <i32>(ce - cs);
  if (cl == <i32>(re - rs) && bytesEqual(cs, rs, cl)) flags |= BIT_IDENTICAL;
  else if (abs<i32>(cW - rW) <= cfgMaxEdits) {
    // A common prefix and suffix of tokens does not change the edit distance: cut them at a raw space (a token
    // boundary in both texts, never inside an escape or a UTF-8 sequence) and compare what lies between.
    let pre = commonPrefix(cs, rs, min<i32>(<i32>(ce - cs), <i32>(re - rs)));
    while (pre > 0 && load<u8>(cs + <usize>(pre - 1)) != 0x20) pre--;
    cs += <usize>pre;
    rs += <usize>pre;
    let suf = commonSuffix(ce, re, min<i32>(<i32>(ce - cs), <i32>(re - rs)));
    while (suf > 0 && load<u8>(ce - <usize>suf) != 0x20) suf--;
    ce -= <usize>suf;
    re -= <usize>suf;
    // Most such pairs differ from their first tokens: look at 8 tokens first, then at everything.
    const k = cfgMaxEdits;
    const n0 = tokenHashes(cs, ce, tokA, 9);
    const m0 = n0 < 0 ? -1 : tokenHashes(rs, re, tokB, 9 + k);
    if (m0 < 0) return false;
    let far = false;
    if (n0 == 9 && boundedEditDistance(tokA, 9, tokB, m0 == 9 + k ? m0 - 1 : m0, k, 8) > k) far = true;
    if (!far) {
      const n = tokenHashes(cs, ce, tokA, 0x7fffffff);
      const m = n < 0 ? -1 : tokenHashes(rs, re, tokB, 0x7fffffff);
      if (m < 0) return false;
      if (boundedEditDistance(tokA, n, tokB, m, k, 0x7fffffff) <= k) flags |= BIT_LOW_SEPARATION;
    }
  }

  const sp = textSignature(pW, pN, p1);
  const sc = textSignature(cW, cN, c1);
  const sr = textSignature(rW, rN, r1);
  // signature keys (checks/record.ts signatureKeys): the record, and the record with its responses swapped
  emit(line, offset, length, 0, flags, fmt, 0, pC, pW, cC, cW, rC, rW, -1, combine(sp, sc, sr, 2), combine(sp, sr, sc, 2), 0, 0);
  return true;
}

function findNewline(p: usize, end: usize): usize {
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

function isBlank(p: usize, e: usize): bool {
  for (; p < e; p++) {
    const b = load<u8>(p);
    if (b != 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return true;
}

/** Whether the batch (stop = 2) or the list of big values (stop = 4) has no room for another record. */
@inline function batchFull(): bool {
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
@inline function cell(table: usize, r: i32): u64 {
  return load<u64>(table + (<usize>r << 3));
}

/**
 * A Parquet row whose texts are in memory (the Parquet kernel's tables: parquetKernel.ts), read as the record
 * {prompt?, chosen, rejected} (tp = 0: no prompt column). Returns false to send the row to the exact path (a null
 * cell, a text the kernel does not read).
 */
function rawRecord(tp: usize, tc: usize, tr: usize, r: i32, line: i32, offset: f64): bool {
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

// ---- sorting key fingerprints (scan/range.ts and scan/merge.ts) ----
// Candidate search works on 32-bit fingerprints of the 53-bit signature keys (their low 32 bits): half the memory
// traffic of the keys, three radix passes of 11 bits (2048 buckets: the counts stay in L1). Fingerprints that
// collide only add candidates, which exact keys then reject.
const DIGIT: i32 = 11;
const PASSES: i32 = 3;
const BUCKETS: i32 = 1 << DIGIT;
const COUNTS = memory.data(PASSES * BUCKETS * 4, 16);

@inline function fingerprint(k: f64): u32 {
  return <u32>(<u64>k);
}

/** Sorts n u32 at a, using b (n × 4 bytes) as scratch; returns where the sorted values are. */
export function sortU32(a: usize, b: usize, n: i32): usize {
  memory.fill(COUNTS, 0, PASSES * BUCKETS * 4);
  const mask: u32 = <u32>(BUCKETS - 1);
  for (let i: i32 = 0; i < n; i++) {
    const x = load<u32>(a + (<usize>i << 2));
    for (let d: i32 = 0; d < PASSES; d++) {
      const c = COUNTS + (<usize>(d * BUCKETS + <i32>((x >> <u32>(d * DIGIT)) & mask)) << 2);
      store<i32>(c, load<i32>(c) + 1);
    }
  }
  let src = a;
  let dst = b;
  for (let d: i32 = 0; d < PASSES; d++) {
    const c = COUNTS + (<usize>(d * BUCKETS) << 2);
    let sum: i32 = 0;
    for (let v: i32 = 0; v < BUCKETS; v++) {
      const k = load<i32>(c + (<usize>v << 2));
      store<i32>(c + (<usize>v << 2), sum);
      sum += k;
    }
    const shift = <u32>(d * DIGIT);
    for (let i: i32 = 0; i < n; i++) {
      const x = load<u32>(src + (<usize>i << 2));
      const slot = c + (<usize>(<i32>((x >> shift) & mask)) << 2);
      const at = load<i32>(slot);
      store<i32>(slot, at + 1);
      store<u32>(dst + (<usize>at << 2), x);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

// ---- exact keys of duplicate candidates (checks/text.ts normalizedHash, checks/record.ts exactRecordKeys) ----
const EXACT = memory.data(24, 8);

let nh1: i32 = 0;
let nh2: i32 = 0;
let nhPending = false;
let nhAny = false;

@inline function nhUnit(u: i32): void {
  let c = u;
  if (charClass(c) == 0) {
    nhPending = true;
    return;
  }
  if (nhPending) {
    if (nhAny) {
      nh1 = (nh1 ^ 0x20) * 0x01000193;
      nh2 = (nh2 << 5) - nh2 + 0x20;
    }
    nhPending = false;
  }
  nhAny = true;
  if (c >= 0x41 && c <= 0x5a) c += 0x20;
  nh1 = (nh1 ^ c) * 0x01000193;
  nh2 = (nh2 << 5) - nh2 + c;
}

/** The normalised hash of the decoded text of raw region [p, e) (same value as normalizedHash in JavaScript). */
function normalizedHash(p: usize, e: usize): f64 {
  nh1 = <i32>0x811c9dc5;
  nh2 = 0x01234567;
  nhPending = false;
  nhAny = false;
  decodeUnits(p, e);
  const h2 = (nh2 ^ <i32>(<u32>nh2 >> 16)) * 0x45d9f3b;
  return <f64>(<u32>nh1) * 2097152.0 + <f64>(<u32>h2 >> 11);
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

let exactFormat: i32 = -1;

export function exactResult(): usize {
  return EXACT;
}

// ---- duplicate candidates of a range (scan/range.ts and scan/merge.ts) ----

/** Fingerprints of the non-negative keys of src[0..n) to dst (skipping i where src[i] == other[i] when other ≠ 0). */
export function gatherFingerprints(src: usize, n: i32, dst: usize, other: usize): i32 {
  let m: i32 = 0;
  for (let i: i32 = 0; i < n; i++) {
    const k = load<f64>(src + (<usize>i << 3));
    if (k < 0) continue;
    if (other != 0 && load<f64>(other + (<usize>i << 3)) == k) continue;
    store<u32>(dst + (<usize>m << 2), fingerprint(k));
    m++;
  }
  return m;
}

/** The distinct values that occur more than once in sorted a[0..n), sorted, to out; returns their number. */
export function repeatedU32(a: usize, n: i32, out: usize): i32 {
  let m: i32 = 0;
  for (let i: i32 = 1; i < n; i++) {
    const k = load<u32>(a + (<usize>i << 2));
    if (k == load<u32>(a + (<usize>(i - 1) << 2)) && (m == 0 || load<u32>(out + (<usize>(m - 1) << 2)) != k)) {
      store<u32>(out + (<usize>m << 2), k);
      m++;
    }
  }
  return m;
}

/** The distinct values found in both sorted a[0..n) and b[0..m), sorted, to out; returns their number. */
export function commonU32(a: usize, n: i32, b: usize, m: i32, out: usize): i32 {
  let i: i32 = 0;
  let j: i32 = 0;
  let c: i32 = 0;
  while (i < n && j < m) {
    const x = load<u32>(a + (<usize>i << 2));
    const y = load<u32>(b + (<usize>j << 2));
    // equal values are rare: the steps are taken without a branch on the order (a merge's branch is a coin toss)
    if (x == y && (c == 0 || load<u32>(out + (<usize>(c - 1) << 2)) != x)) {
      store<u32>(out + (<usize>c << 2), x);
      c++;
    }
    i += <i32>(x <= y);
    j += <i32>(y <= x);
  }
  return c;
}

const FILTER_A = memory.data(8192, 16);
const FILTER_B = memory.data(8192, 16);

function buildFilter(f: usize, values: usize, n: i32): void {
  memory.fill(f, 0, 8192);
  for (let i: i32 = 0; i < n; i++) {
    const b = load<u32>(values + (<usize>i << 2)) & 0xffff;
    const w = f + (<usize>(b >> 5) << 2);
    store<u32>(w, load<u32>(w) | (1 << (b & 31)));
  }
}

@inline function inSet(f: usize, values: usize, n: i32, k: f64): bool {
  if (n == 0 || k < 0) return false;
  const x = fingerprint(k);
  const b = x & 0xffff;
  if ((load<u32>(f + (<usize>(b >> 5) << 2)) & (1 << (b & 31))) == 0) return false;
  let lo: i32 = 0;
  let hi: i32 = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = load<u32>(values + (<usize>mid << 2));
    if (v < x) lo = mid + 1;
    else if (v > x) hi = mid - 1;
    else return true;
  }
  return false;
}

/**
 * Sets cand[i] = 1 for the records whose record key's fingerprint is in dup or con, or whose swapped key's (when
 * it differs from the record key) is in con (dup and con: sorted fingerprints).
 */
export function markCandidates(sigR: usize, sigS: usize, n: i32, dup: usize, nd: i32, con: usize, nc: i32, cand: usize): void {
  buildFilter(FILTER_A, dup, nd);
  buildFilter(FILTER_B, con, nc);
  for (let i: i32 = 0; i < n; i++) {
    const o = <usize>i << 3;
    const kr = load<f64>(sigR + o);
    const ks = load<f64>(sigS + o);
    if (inSet(FILTER_A, dup, nd, kr) || inSet(FILTER_B, con, nc, kr) || (ks != kr && inSet(FILTER_B, con, nc, ks))) store<u8>(cand + <usize>i, 1);
  }
}

// ---- merging length statistics (scan/range.ts and scan/merge.ts) ----

/** dst[i] += src[i] for n u32. */
export function addU32(dst: usize, src: usize, n: i32): void {
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, i32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<u32>(dst + o, load<u32>(dst + o) + load<u32>(src + o));
  }
}

/** The smallest v with count[0] + … + count[v] > rank (counts: n u32), or -1 when the counts hold fewer values. */
export function rankValue(counts: usize, n: i32, rank: f64): i32 {
  let c: f64 = 0;
  for (let v: i32 = 0; v < n; v++) {
    c += <f64>load<u32>(counts + (<usize>v << 2));
    if (c > rank) return v;
  }
  return -1;
}
