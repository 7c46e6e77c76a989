/**
 * Word-level tokenization: the documented fallback for token-based checks when no model tokenizer is given.
 * A token is a maximal run of letters, digits and underscores (ASCII or any non-ASCII letter), a single CJK
 * character, or a single other non-space character. Model tokenizers (BPE) usually give 1.2–1.5× more tokens
 * for English; truncation checks with this fallback are therefore an approximation and say so.
 */

const enum C {
  Space = 0,
  Word = 1,
  Punct = 2,
  Single = 3,
}

/** Character classes of ASCII code units (0 space, 1 word, 2 punctuation). */
export const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) ASCII[c] = C.Space;
  else if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) ASCII[c] = C.Word;
  else if (c < 0x20 || c === 0x7f) ASCII[c] = C.Space;
  else ASCII[c] = C.Punct;
}

export function charClass(c: number): number {
  if (c < 128) return ASCII[c];
  if (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff)
    return C.Space;
  // CJK ideographs, kana, hangul: one token per character.
  if ((c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) return C.Single;
  // General punctuation, curly quotes, dashes.
  if ((c >= 0x2010 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xa1 && c <= 0xbf && c !== 0xaa && c !== 0xb5 && c !== 0xba)) return C.Punct;
  return C.Word;
}

/** Number of word-level tokens. */
export function countWordTokens(s: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const k = c < 128 ? ASCII[c] : charClass(c);
    if (k === C.Word) {
      if (!inWord) {
        n++;
        inWord = true;
      }
    } else {
      inWord = false;
      if (k !== C.Space) n++;
    }
  }
  return n;
}

/** Word-level tokens as 32-bit hashes (for edit distances). */
export function wordTokenHashes(s: string): Int32Array {
  const out: number[] = [];
  let h = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const k = c < 128 ? ASCII[c] : charClass(c);
    if (k === C.Word) {
      if (!inWord) {
        h = 0x811c9dc5;
        inWord = true;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else {
      if (inWord) {
        out.push(h);
        inWord = false;
      }
      if (k !== C.Space) out.push(Math.imul(0x811c9dc5 ^ c, 0x01000193) ^ 0x5bd1e995);
    }
  }
  if (inWord) out.push(h);
  return Int32Array.from(out);
}
