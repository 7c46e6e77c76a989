// Keys and statistics the driver merges: radix sort of key fingerprints, the candidate search of a range and the
// merge of ranges' length statistics.


// ---- sorting key fingerprints (scan/range.ts and scan/merge.ts) ----
// Candidate search works on 32-bit fingerprints of the 53-bit signature keys (their low 32 bits): half the memory
// traffic of the keys, three radix passes of 11 bits (2048 buckets: the counts stay in L1). Fingerprints that
// collide only add candidates, which exact keys then reject.
export const DIGIT: i32 = 11;
export const PASSES: i32 = 3;
export const BUCKETS: i32 = 1 << DIGIT;
export const COUNTS = memory.data(PASSES * BUCKETS * 4, 16);

@inline export function fingerprint(k: f64): u32 {
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

export const FILTER_A = memory.data(8192, 16);
export const FILTER_B = memory.data(8192, 16);

export function buildFilter(f: usize, values: usize, n: i32): void {
  memory.fill(f, 0, 8192);
  for (let i: i32 = 0; i < n; i++) {
    const b = load<u32>(values + (<usize>i << 2)) & 0xffff;
    const w = f + (<usize>(b >> 5) << 2);
    store<u32>(w, load<u32>(w) | (1 << (b & 31)));
  }
}

@inline export function inSet(f: usize, values: usize, n: i32, k: f64): bool {
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
