/**
 * Word-level differences between two responses (Myers' O((N+M)D) algorithm), for highlighting where chosen and
 * rejected differ. Spans are UTF-16 offsets into each text.
 */
import type { Span } from './contract.js';

export type { Span };


interface Tok {
  start: number;
  end: number;
  key: string;
}

/** Words, single punctuation characters and whitespace runs, with their offsets. */
export function diffTokens(s: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out.push({ start: m.index, end: m.index + m[0].length, key: m[0] });
  return out;
}

/** Returns the spans of `a` and of `b` that are not part of a longest common subsequence of tokens. */
export function diffSpans(a: string, b: string, maxEdits = 4000): { a: Span[]; b: Span[]; distance: number } {
  const ta = diffTokens(a);
  const tb = diffTokens(b);
  // Trim common prefix and suffix first (cheap and usual).
  let pre = 0;
  while (pre < ta.length && pre < tb.length && ta[pre].key === tb[pre].key) pre++;
  let suf = 0;
  while (suf < ta.length - pre && suf < tb.length - pre && ta[ta.length - 1 - suf].key === tb[tb.length - 1 - suf].key) suf++;
  const A = ta.slice(pre, ta.length - suf);
  const B = tb.slice(pre, tb.length - suf);
  const n = A.length;
  const m = B.length;
  const keepA = new Uint8Array(n);
  const keepB = new Uint8Array(m);
  let distance = n + m;
  if (n > 0 && m > 0) {
    const max = Math.min(n + m, maxEdits);
    const off = max + 1;
    const v = new Int32Array(2 * max + 3);
    const trace: Int32Array[] = [];
    let found = -1;
    for (let d = 0; d <= max && found < 0; d++) {
      trace.push(v.slice());
      for (let k = -d; k <= d; k += 2) {
        let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
        let y = x - k;
        while (x < n && y < m && A[x].key === B[y].key) {
          x++;
          y++;
        }
        v[off + k] = x;
        if (x >= n && y >= m) {
          found = d;
          break;
        }
      }
    }
    if (found >= 0) {
      distance = found;
      // Backtrack to mark matched tokens.
      let x = n;
      let y = m;
      for (let d = found; d > 0; d--) {
        const vp = trace[d];
        const k = x - y;
        const prevK = k === -d || (k !== d && vp[off + k - 1] < vp[off + k + 1]) ? k + 1 : k - 1;
        const prevX = vp[off + prevK];
        const prevY = prevX - prevK;
        while (x > prevX && y > prevY) {
          keepA[x - 1] = 1;
          keepB[y - 1] = 1;
          x--;
          y--;
        }
        x = prevX;
        y = prevY;
      }
      while (x > 0 && y > 0) {
        keepA[x - 1] = 1;
        keepB[y - 1] = 1;
        x--;
        y--;
      }
    }
  }
  const spans = (toks: Tok[], keep: Uint8Array): Span[] => {
    const out: Span[] = [];
    toks.forEach((t, i) => {
      if (keep[i]) return;
      // Whitespace-only changes between changed words are merged; a lone whitespace change is kept.
      const last = out[out.length - 1];
      if (last && last.end === t.start) last.end = t.end;
      else out.push({ start: t.start, end: t.end });
    });
    return out.filter((s, _i, arr) => arr.length === 1 || !/^\s+$/.test((toks === A ? a : b).slice(s.start, s.end)));
  };
  return { a: spans(A, keepA), b: spans(B, keepB), distance };
}
