// JSON syntax the scan kernel reads around a record's texts: whitespace, keys, the end of a line, and values skipped
// as strictly as JSON.parse reads them (records.ts, conv.ts).

import { specialBytes, utf8 } from './text';

@inline export function ws(p: usize, le: usize): usize {
  while (p < le) {
    const b = load<u8>(p);
    if (b != 0x20 && b != 0x09 && b != 0x0d) break;
    p++;
  }
  return p;
}

@inline function isHex(b: u32): bool {
  return (b - 0x30 < 10) || ((b | 0x20) - 0x61 < 6);
}

/** The position after the closing quote of the JSON string whose body starts at p; 0 when it is not valid JSON
 * (a raw control character, a bad escape) or not valid UTF-8 (which would set the encoding check). */
export function skipString(p: usize, le: usize): usize {
  for (;;) {
    while (p + 16 <= le) {
      const m = i8x16.bitmask(specialBytes(v128.load(p)));
      if (m == 0) {
        p += 16;
        continue;
      }
      p += <usize>ctz<i32>(m);
      break;
    }
    if (p >= le) return 0;
    const b = <u32>load<u8>(p);
    if (b == 0x22) return p + 1;
    if (b == 0x5c) {
      if (p + 1 >= le) return 0;
      const x = <u32>load<u8>(p + 1);
      if (x == 0x75) {
        if (p + 6 > le) return 0;
        for (let i: usize = 2; i < 6; i++) if (!isHex(<u32>load<u8>(p + i))) return 0;
        p += 6;
      } else if (x == 0x22 || x == 0x5c || x == 0x2f || x == 0x62 || x == 0x66 || x == 0x6e || x == 0x72 || x == 0x74) p += 2;
      else return 0;
      continue;
    }
    if (b < 0x20) return 0;
    if (b < 0x80) {
      p++; // DEL
      continue;
    }
    const n = utf8(p, le);
    if (n == 0) return 0;
    p += <usize>n;
  }
  return 0;
}

/** The position after the JSON number at p; 0 when it is not one. */
export function skipNumber(p: usize, le: usize): usize {
  if (p < le && load<u8>(p) == 0x2d) p++;
  if (p >= le) return 0;
  let b = <u32>load<u8>(p);
  if (b == 0x30) p++;
  else if (b - 0x31 < 9) {
    while (p < le && <u32>load<u8>(p) - 0x30 < 10) p++;
  } else return 0;
  if (p < le && load<u8>(p) == 0x2e) {
    p++;
    const s = p;
    while (p < le && <u32>load<u8>(p) - 0x30 < 10) p++;
    if (p == s) return 0;
  }
  if (p < le && (load<u8>(p) | 0x20) == 0x65) {
    p++;
    if (p < le && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    const s = p;
    while (p < le && <u32>load<u8>(p) - 0x30 < 10) p++;
    if (p == s) return 0;
  }
  return p;
}

/** The position after the literal `word` (4 or 5 ASCII bytes, little-endian in `w`) at p; 0 when it is not there. */
@inline export function literal(p: usize, le: usize, w: u64, n: usize): usize {
  if (p + n > le) return 0;
  const mask: u64 = n == 8 ? 0xffffffffffffffff : ((<u64>1 << (n * 8)) - 1);
  let v: u64 = 0;
  for (let i: usize = 0; i < n; i++) v |= <u64>load<u8>(p + i) << (i * 8);
  return (v & mask) == w ? p + n : 0;
}

const MAX_DEPTH: i32 = 64;

/**
 * The position after the JSON value at p (whitespace before it skipped); 0 when it is not valid JSON, nests deeper
 * than MAX_DEPTH, or holds invalid UTF-8. Containers are walked with a stack of their kinds in a u64 (1: object).
 */
export function skipValue(p: usize, le: usize): usize {
  let depth: i32 = 0;
  let kinds: u64 = 0;
  for (;;) {
    p = ws(p, le);
    if (p >= le) return 0;
    const b = <u32>load<u8>(p);
    // one value
    if (b == 0x22) p = skipString(p + 1, le);
    else if (b == 0x7b || b == 0x5b) {
      if (depth == MAX_DEPTH) return 0;
      const obj = b == 0x7b;
      kinds = (kinds << 1) | (obj ? 1 : 0);
      depth++;
      p = ws(p + 1, le);
      if (p >= le) return 0;
      if (load<u8>(p) == (obj ? 0x7d : 0x5d)) {
        // empty container
        kinds >>= 1;
        depth--;
        p++;
      } else {
        if (obj) {
          // the first key
          if (load<u8>(p) != 0x22) return 0;
          p = skipString(p + 1, le);
          if (p == 0) return 0;
          p = ws(p, le);
          if (p >= le || load<u8>(p) != 0x3a) return 0;
          p++;
        }
        continue; // the first member's value
      }
    } else if (b == 0x74) p = literal(p, le, 0x65757274, 4); // true
    else if (b == 0x66) p = literal(p, le, 0x65736c6166, 5); // false
    else if (b == 0x6e) p = literal(p, le, 0x6c6c756e, 4); // null
    else p = skipNumber(p, le);
    if (p == 0) return 0;
    // after a value: close containers or go to the next member
    for (;;) {
      if (depth == 0) return p;
      p = ws(p, le);
      if (p >= le) return 0;
      const c = <u32>load<u8>(p);
      const obj = (kinds & 1) != 0;
      if (c == (obj ? 0x7d : 0x5d)) {
        kinds >>= 1;
        depth--;
        p++;
        continue;
      }
      if (c != 0x2c) return 0;
      p = ws(p + 1, le);
      if (obj) {
        if (p >= le || load<u8>(p) != 0x22) return 0;
        p = skipString(p + 1, le);
        if (p == 0) return 0;
        p = ws(p, le);
        if (p >= le || load<u8>(p) != 0x3a) return 0;
        p++;
      }
      break;
    }
  }
  return 0;
}

/** A plain key at p (after its opening quote): ASCII without escapes; its end (the closing quote) in keyEnd. */
export let keyEnd: usize = 0;
export function plainKey(p: usize, le: usize): bool {
  while (p < le) {
    const b = load<u8>(p);
    if (b == 0x22) {
      keyEnd = p;
      return true;
    }
    if (b == 0x5c || b < 0x20 || b >= 0x80) return false;
    p++;
  }
  return false;
}


/**
 * An object member at p (its key's opening quote): a plain key (plainKey), a colon, whitespace around it. Returns the
 * first byte of the member's value, or 0 when the member is not so or the line ends before its value; the key is
 * [memberKey, keyEnd).
 */
export let memberKey: usize = 0;
@inline export function member(p: usize, le: usize): usize {
  if (p >= le || load<u8>(p) != 0x22) return 0;
  const ks = p + 1;
  if (!plainKey(ks, le)) return 0;
  memberKey = ks;
  p = ws(keyEnd + 1, le);
  if (p >= le || load<u8>(p) != 0x3a) return 0;
  p = ws(p + 1, le);
  return p < le ? p : 0;
}


/**
 * Where the line of a record that ended at p goes on: optional whitespace, then LF (or the end of the input, when it is
 * `final`); the next line's start, or 0 (not the end of the line, or the input may continue). The line's end, without
 * a CR, in lineEnd.
 */
export let lineEnd: usize = 0;
export function endOfLine(p: usize, end: usize, final: bool, ls: usize): usize {
  p = ws(p, end);
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
  return next;
}
