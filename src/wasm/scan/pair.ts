// Two responses of a pair: the identical and low-separation checks on their raw regions (records.ts, conv.ts).

import { BIT_IDENTICAL, BIT_LOW_SEPARATION } from '../../core/kernels/layout';
import { cfgMaxEdits, tokA, tokB } from './config';
import { boundedEditDistance, bytesEqual, tokenHashes } from './text';

/** Length of the common prefix of [a, a + n) and [b, b + n). */
export function commonPrefix(a: usize, b: usize, n: i32): i32 {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a + i), v128.load(b + i))) ^ 0xffff;
    if (m != 0) return i + ctz<i32>(m);
  }
  while (i < n && load<u8>(a + i) == load<u8>(b + i)) i++;
  return i;
}

/** Length of the common suffix of the n bytes before a and before b. */
export function commonSuffix(a: usize, b: usize, n: i32): i32 {
  let i: i32 = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a - i - 16), v128.load(b - i - 16))) ^ 0xffff;
    if (m != 0) return i + clz<i32>(m) - 16;
  }
  while (i < n && load<u8>(a - i - 1) == load<u8>(b - i - 1)) i++;
  return i;
}

/**
 * The identical and low-separation bits of a pair whose response texts are the raw regions [cs, ce) and [rs, re)
 * (cW, rW: their word counts): BIT_IDENTICAL, BIT_LOW_SEPARATION or 0; -1 when the token hashes do not fit the
 * scratch (the record goes to the exact path).
 */
export function separation(cs: usize, ce: usize, rs: usize, re: usize, cW: i32, rW: i32): i32 {
  const cl = <i32>(ce - cs);
  if (cl == <i32>(re - rs) && bytesEqual(cs, rs, cl)) return BIT_IDENTICAL;
  if (abs<i32>(cW - rW) > cfgMaxEdits) return 0;
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
  if (m0 < 0) return -1;
  if (n0 == 9 && boundedEditDistance(tokA, 9, tokB, m0 == 9 + k ? m0 - 1 : m0, k, 8) > k) return 0;
  const n = tokenHashes(cs, ce, tokA, 0x7fffffff);
  const m = n < 0 ? -1 : tokenHashes(rs, re, tokB, 0x7fffffff);
  if (m < 0) return -1;
  return boundedEditDistance(tokA, n, tokB, m, k, 0x7fffffff) <= k ? BIT_LOW_SEPARATION : 0;
}
