// Reading one text: character classes, UTF-8, the SIMD scan of a JSON string or raw text and its statistics,
// token hashes (the low-separation check), the banded edit distance and the hashes of checks/text.ts.

import { tokCap } from './config';

// Per-field statistics: 4 fields (0 prompt, 1 chosen, 2 rejected, 3 a message's content: scan/conv.ts) × 16 i32.
// [0..4] totals: chars, words, nonWs, s1, enc; [5..9] the same at the end of the last "\n\nAssistant:";
// [10] raw start, [11] raw end (exclusive, before the closing quote), [12] raw end of that marker (-1: none).
export const ST = memory.data(4 * 16 * 4, 16);
export const DP = memory.data(2 * 64 * 4, 16); // rows of the banded edit distance (k ≤ 31)

// ---- character classes (tokenize/words.ts) ----
// 0 space, 1 word, 2 punctuation, 3 single (CJK)
export function asciiClass(c: i32): i32 {
  if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return 0;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f) return 1;
  if (c < 0x20 || c == 0x7f) return 0;
  return 2;
}

export const ASCII_CLASS = memory.data(128);
for (let c: i32 = 0; c < 128; c++) store<u8>(ASCII_CLASS + <usize>c, <u8>asciiClass(c));

@inline export function charClass(c: i32): i32 {
  if (c < 128) return <i32>load<u8>(ASCII_CLASS + <usize>c);
  return wideClass(c);
}

export function wideClass(c: i32): i32 {
  if (c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff)
    return 0;
  if ((c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) return 3;
  if ((c >= 0x2010 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xa1 && c <= 0xbf && c != 0xaa && c != 0xb5 && c != 0xba)) return 2;
  return 1;
}

// ---- UTF-8: decodes the sequence at p (first byte ≥ 0x80) strictly; returns its length, 0 when invalid ----
export let cp: i32 = 0;
export function utf8(p: usize, le: usize): i32 {
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
export let sS1: i32 = 0;
export let sEnc: i32 = 0;
/**
 * Whether the last text scanned starts or ends with a newline or holds two in a row: then a "\n\n" joining it to
 * another text (renderMessages, a response of several messages) is not the only place such a join could be read
 * (scan/conv.ts compares joined texts by their parts only when no part has this).
 */
export let sNewlines = false;

export const IOTA: v128 = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

// "Assistant:" (10 non-space code units): the sum of (c | 0x20).
export const ASSISTANT_S1: i32 = 0x61 + 0x73 + 0x73 + 0x69 + 0x73 + 0x74 + 0x61 + 0x6e + 0x74 + 0x3a;

@inline export function hsum(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/** Lanes holding '"', '\\', a control character, DEL or a byte ≥ 0x80 (signed compare after +1). */
@inline export function specialBytes(v: v128): v128 {
  return v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c))), i8x16.lt_s(i8x16.add(v, i8x16.splat(1)), i8x16.splat(0x21)));
}

/**
 * Lanes holding a word character [0-9A-Za-z_], by signed range tests (x86 has no unsigned byte compare); valid for
 * bytes < 0x80, the only ones counted with it. `lower` is v | 0x20.
 */
@inline export function wordBytes(v: v128, lower: v128): v128 {
  return v128.or(
    v128.or(i8x16.lt_s(i8x16.add(lower, i8x16.splat(0x1f)), i8x16.splat(-102)), i8x16.lt_s(i8x16.add(v, i8x16.splat(0x50)), i8x16.splat(-118))),
    i8x16.eq(v, i8x16.splat(0x5f)),
  );
}

/** Writes one set of field statistics (chars, words, nonWs, s1, enc) at `at` (a slot's totals or its snapshot). */
@inline export function putStats(at: usize, chars: i32, words: i32, nonWs: i32, s1: i32, enc: i32): void {
  store<i32>(at, chars, 0);
  store<i32>(at, words, 4);
  store<i32>(at, nonWs, 8);
  store<i32>(at, s1, 12);
  store<i32>(at, enc, 16);
}

/** Lanes holding a control character, DEL or a byte ≥ 0x80: the special bytes of a raw text (no quotes or escapes). */
@inline export function specialRaw(v: v128): v128 {
  return i8x16.lt_s(i8x16.add(v, i8x16.splat(1)), i8x16.splat(0x21));
}

/**
 * Scans a text and fills field slot `f` of ST. JSON (M = u16): the body of a JSON string, from p (after the opening
 * quote) to its closing quote, within [p, le); returns the position after the quote. Raw (M = u8, a Parquet value):
 * the UTF-8 bytes [p, le) themselves, where a quote or a backslash is a character and a newline, tab or carriage return
 * a space; returns le. With `from` ≥ 0, the bytes [start, p) are known to equal field `from`'s prompt (up to its last
 * "\n\nAssistant:"), and scanning resumes from that field's snapshot. Returns 0 to send the record to the exact path.
 */
export function scanString<M>(start: usize, p: usize, le: usize, f: i32, markers: bool, from: i32): usize {
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
  sNewlines = false;
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
      if (nlEnd == p && p > start) sNewlines = true;
      putStats(slot, chars, words, nonWs, sS1 + hsum(i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16))), sEnc);
      store<i32>(slot, <i32>le, 44);
      return le;
    }
    const b = <i32>load<u8>(p);
    if (!RAW && b == 0x22) {
      // closing quote
      if (nlEnd == p && p > start) sNewlines = true;
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
        if (prevNl || p == start) sNewlines = true;
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
export function resumeAt(p: usize, room: i32): usize {
  if (st(1, 12) < 0) return p;
  const plen = st(1, 12) - st(1, 10);
  return room >= plen && bytesEqual(p, <usize>st(1, 10), plen) ? p + <usize>plen : p;
}

@inline export function isAssistant(p: usize): bool {
  // "Assistan" little-endian, then "t:"
  return load<u64>(p) == 0x6e61747369737341 && load<u16>(p, 8) == 0x3a74;
}

// ---- decoding the texts the scan accepted ----
/** The regions decoded are raw texts (scanRows), not JSON string bodies (scan, exactKeys). */
export let rawText = false;

/**
 * The character at p of a region the scan accepted (a JSON string body with the escapes \n \t \r \" \\, or a raw
 * text): its code point in the high 32 bits, the position after it in the low ones; 0 when its UTF-8 is invalid.
 */
@inline export function nextChar(p: usize, e: usize): u64 {
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
export const FNV_OFFSET: i32 = <i32>0x811c9dc5;
export const FNV_PRIME: i32 = 0x01000193;

/**
 * Token hashes of the decoded text of raw region [p, e) (see decodeUnits) into `out`; -1 when they do not fit the
 * scratch. Stops once `limit` tokens are out (the last one may then be the start of a longer word: callers use
 * limit − 1). The hasher's state stays in locals: ASCII, the common case, costs a class lookup per byte.
 */
export function tokenHashes(p: usize, e: usize, out: usize, limit: i32): i32 {
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
export function decodeUnits(p: usize, e: usize): bool {
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
export function boundedEditDistance(a: usize, n: i32, b: usize, m: i32, k: i32, rows: i32): i32 {
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
export function textSignature(words: i32, nonWs: i32, s1: i32): f64 {
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

export let cA: i32 = 0;
export let cB: i32 = 0;
@inline export function combineStart(): void {
  cA = <i32>0x9e3779b9;
  cB = 0x7f4a7c15;
}
export function combineAdd(h: f64): void {
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
@inline export function combineEnd(): f64 {
  return <f64>(<u32>cA) * 2097152.0 + <f64>(<u32>cB >> 11);
}
/** combineHashes([a, b, c]), or combineHashes([a, b, c, d]) when d ≥ 0. */
export function combine(a: f64, b: f64, c: f64, d: f64): f64 {
  combineStart();
  combineAdd(a);
  combineAdd(b);
  combineAdd(c);
  if (d >= 0) combineAdd(d);
  return combineEnd();
}


// ---- exact keys of duplicate candidates (checks/text.ts normalizedHash, checks/record.ts exactRecordKeys) ----
export const EXACT = memory.data(24, 8);

export let nh1: i32 = 0;
export let nh2: i32 = 0;
export let nhPending = false;
export let nhAny = false;

@inline export function nhUnit(u: i32): void {
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

/** Starts a normalised hash (units go to nhUnit). */
export function nhReset(): void {
  nh1 = <i32>0x811c9dc5;
  nh2 = 0x01234567;
  nhPending = false;
  nhAny = false;
}

/** The normalised hash of the decoded text of raw region [p, e) (same value as normalizedHash in JavaScript). */
export function normalizedHash(p: usize, e: usize): f64 {
  nhReset();
  decodeUnits(p, e);
  return nhFinish();
}

/** The normalised hash of the units fed since nhReset. */
export function nhFinish(): f64 {
  const h2 = (nh2 ^ <i32>(<u32>nh2 >> 16)) * 0x45d9f3b;
  return <f64>(<u32>nh1) * 2097152.0 + <f64>(<u32>h2 >> 11);
}

@inline export function st(f: i32, i: i32): i32 {
  return load<i32>(ST + <usize>(f * 64 + i * 4));
}

export function bytesEqual(a: usize, b: usize, n: i32): bool {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) if (!i8x16.all_true(i8x16.eq(v128.load(a + i), v128.load(b + i)))) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}
