/**
 * Texts: one pass for lengths, encoding problems and a signature (analyzeText), the normalised hash that decides
 * duplicates (normalizedHash), and the bounded edit distance of the low-separation check.
 */
import { ASCII, charClass } from '../tokenize/words.js';

export interface TextInfo {
  chars: number;
  /** Word-level token count (see tokenize/words.ts). */
  words: number;
  /** U+FFFD, C0/C1 control characters (other than tab, LF, CR) or lone surrogates. */
  encoding: boolean;
  /**
   * Signature of the normalised text (see textSignature): equal normalised texts have equal signatures.
   * Duplicates and contradictions are found by signature first and decided with normalizedHash.
   */
  sig: number;
}

// Word counting without branches: INC[inWord * 4 + class] is the token increment, class 1 (word) sets inWord.
const INC = new Uint8Array([0, 1, 1, 1, 0, 0, 1, 1]);

export function analyzeText(s: string): TextInfo {
  let words = 0;
  let inWord = 0;
  let encoding = false;
  let nonWs = 0;
  let s1 = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let k: number;
    if (c < 128) {
      k = ASCII[c];
      if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) encoding = true;
      else if (c === 0x7f) encoding = true;
    } else {
      if (c === 0xfffd || c <= 0x9f) encoding = true;
      else if (c >= 0xd800 && c <= 0xdfff) {
        if (c <= 0xdbff) {
          const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (!(d >= 0xdc00 && d <= 0xdfff)) encoding = true;
        } else {
          const b = i > 0 ? s.charCodeAt(i - 1) : 0;
          if (!(b >= 0xd800 && b <= 0xdbff)) encoding = true;
        }
      }
      k = charClass(c);
    }
    words += INC[(inWord << 2) | k];
    inWord = k === 1 ? 1 : 0;
    if (k === 0) continue;
    nonWs++;
    s1 = (s1 + (c | 0x20)) | 0;
  }
  return { chars: n, words, encoding, sig: textSignature(words, nonWs, s1) };
}

/**
 * 53-bit hash of the text with ASCII case folded and whitespace runs collapsed and trimmed (two 32-bit hashes:
 * FNV-1a and a polynomial hash). The scan kernel computes the same value from raw bytes (scanKernel.ts).
 */
export function normalizedHash(s: string): number {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x01234567 | 0;
  let pendingSpace = false;
  let any = false;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if ((c < 128 ? ASCII[c] : charClass(c)) === 0) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace) {
      if (any) {
        h1 = Math.imul(h1 ^ 0x20, 0x01000193);
        h2 = ((h2 << 5) - h2 + 0x20) | 0;
      }
      pendingSpace = false;
    }
    any = true;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = ((h2 << 5) - h2 + c) | 0;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x45d9f3b);
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) >>> 11);
}

/**
 * A 53-bit signature of a normalised text (ASCII case folded, whitespace collapsed and trimmed) that needs no
 * sequential pass: its word-level token count, its number of non-space code units, and the sum (mod 2³²) of those
 * code units (each with bit 0x20 set, which folds ASCII case). Order-insensitive on purpose: the WebAssembly scanner
 * (src/wasm/scanKernel.ts) computes it 16 bytes at a time. Equal signatures only nominate duplicate candidates;
 * `hash` decides.
 */
export function textSignature(words: number, nonWs: number, s1: number): number {
  let a = 0x243f6a88 | 0;
  let b = 0x85a308d3 | 0;
  for (const x of [words, nonWs, s1]) {
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

/** Combines hashes into one 53-bit hash (order-sensitive). */
export function combineHashes(hs: readonly number[]): number {
  let a = 0x9e3779b9 | 0;
  let b = 0x7f4a7c15 | 0;
  for (const h of hs) {
    const lo = h % 0x100000000 | 0;
    const hi = Math.floor(h / 0x100000000) | 0;
    a = Math.imul(a ^ lo, 0x01000193);
    a = Math.imul(a ^ hi, 0x01000193);
    b = Math.imul(b ^ hi, 0x5bd1e995);
    b ^= b >>> 13;
    b = Math.imul(b ^ lo, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

/**
 * Edit distance between two token sequences if it is at most `k`, else k + 1. Banded (Ukkonen): O(k·n) time,
 * O(k) memory, so a bounded check never builds a full DP table.
 */
export function boundedEditDistance(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > k) return k + 1;
  const w = 2 * k + 1;
  const INF = k + 1;
  let prev = new Int32Array(w).fill(INF);
  let cur = new Int32Array(w).fill(INF);
  // Row i holds D[i][j] for j = i - k .. i + k at band index j - i + k.
  for (let d = 0; d <= k && d <= m; d++) prev[d + k] = d;
  for (let i = 1; i <= n; i++) {
    cur.fill(INF);
    let rowMin = INF;
    for (let t = 0; t < w; t++) {
      const j = i - k + t;
      if (j < 0 || j > m) continue;
      let v = INF;
      if (j === 0) v = i;
      else {
        // substitution / match: D[i-1][j-1] at band index t in prev row
        const sub = prev[t] + (a[i - 1] === b[j - 1] ? 0 : 1);
        v = sub;
        // deletion: D[i-1][j] at band index t + 1 in prev row
        if (t + 1 < w && prev[t + 1] + 1 < v) v = prev[t + 1] + 1;
        // insertion: D[i][j-1] at band index t - 1 in this row
        if (t > 0 && cur[t - 1] + 1 < v) v = cur[t - 1] + 1;
      }
      if (v > INF) v = INF;
      cur[t] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > k) return k + 1;
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  const r = prev[m - n + k];
  return r > k ? k + 1 : r;
}
