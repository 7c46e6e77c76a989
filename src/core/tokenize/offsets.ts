/**
 * Character offsets of tokens. Neither JS tokenizer library returns offsets, so they are rebuilt from the token
 * strings: byte-level BPE token strings map back to UTF-8 bytes through GPT-2's byte↔unicode table;
 * SentencePiece-style tokens use "▁" for spaces and <0xXX> for byte fallback. Byte positions are converted to
 * UTF-16 indices of the text; a token that covers part of a multi-byte character spans that whole character
 * (neighbouring spans may then overlap).
 */

let BYTE_DECODER: Map<string, number> | null = null;

/** GPT-2's bytes_to_unicode: for each byte 0..255 (the index), the character that stands for it in tokens. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCharCode(cs[i])));
  return out;
}

/** GPT-2's bytes_to_unicode, inverted: unicode character of a token string → byte. */
export function byteDecoder(): Map<string, number> {
  BYTE_DECODER ??= new Map(bytesToUnicode().map((ch, b) => [ch, b]));
  return BYTE_DECODER;
}

export type TokenStyle = 'byte-level' | 'sentencepiece' | 'plain';

/** UTF-8 byte length of each token. */
export function tokenByteLengths(tokens: string[], style: TokenStyle): number[] {
  const dec = byteDecoder();
  const enc = new TextEncoder();
  return tokens.map((t) => {
    if (style === 'byte-level') {
      let n = 0;
      for (const ch of t) n += dec.has(ch) ? 1 : enc.encode(ch).length;
      return n;
    }
    if (style === 'sentencepiece') {
      if (/^<0x[0-9A-Fa-f]{2}>$/.test(t)) return 1;
      return enc.encode(t.replace(/\u2581/g, ' ')).length;
    }
    return enc.encode(t).length;
  });
}

/** For each UTF-8 byte of `text`: the UTF-16 index where its character starts, and where it ends. */
function byteToUtf16(text: string): { start: Int32Array; end: Int32Array } {
  const bytes = Buffer.byteLength(text, 'utf8');
  const start = new Int32Array(bytes + 1);
  const end = new Int32Array(bytes + 1);
  let b = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    const units = cp > 0xffff ? 2 : 1;
    const nb = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < nb; k++) {
      start[b + k] = i;
      end[b + k] = i + units;
    }
    b += nb;
    i += units;
  }
  start[bytes] = text.length;
  end[bytes] = text.length;
  return { start, end };
}

export interface Span {
  start: number;
  end: number;
}

/**
 * Spans of consecutive tokens over `text`, given each token's UTF-8 byte length. `skipBytes` bytes at the start
 * belong to no character of the text (a prefix space added by a Metaspace pre-tokenizer).
 */
export function tokenSpans(text: string, byteLengths: number[], skipBytes = 0): Span[] {
  const map = byteToUtf16(text);
  const total = map.start.length - 1;
  const out: Span[] = [];
  let b = -skipBytes;
  for (const n of byteLengths) {
    const b0 = Math.max(0, Math.min(total, b));
    const b1 = Math.max(0, Math.min(total, b + n));
    if (b1 <= b0) out.push({ start: map.start[b0], end: map.start[b0] });
    else out.push({ start: map.start[b0], end: map.end[b1 - 1] });
    b += n;
  }
  return out;
}
