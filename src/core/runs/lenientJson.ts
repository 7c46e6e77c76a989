/**
 * JSON as Python's json.dumps writes it: trainer_state.json and trainer logs hold bare NaN, Infinity and -Infinity.
 * Parsed with JSON.parse itself; only when that fails, the text is rewritten once — the bare tokens outside strings
 * become marker strings, the text between them copied as slices (string literals skipped with indexOf, no regular
 * expression: V8's overflows its stack on a string literal of many megabytes) — and parsed again with a reviver that
 * turns the markers back into numbers. Memory stays a small multiple of the text (no copy built a character at a
 * time: a 58 MB trainer_state.json of 300,000 rows peaked at 2.56 GB that way).
 */

const NAN = '\u0000NaN';
const INF = '\u0000Infinity';
const NEG_INF = '\u0000-Infinity';
// the markers as JSON string literals (their NUL escaped: a raw control character is not JSON)
const LITERALS: ReadonlyArray<[string, string]> = [
  ['NaN', JSON.stringify(NAN)],
  ['-Infinity', JSON.stringify(NEG_INF)],
  ['Infinity', JSON.stringify(INF)],
];

/** The index after the string literal whose opening quote is at `i` (the text's length when it does not end). */
function stringEnd(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let b = q - 1; b >= from && text.charCodeAt(b) === 92; b--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** JSON.parse that accepts bare NaN, Infinity and -Infinity outside strings (Python's json.dumps writes them). */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    if (!/NaN|Infinity/.test(text)) throw first;
  }
  const parts: string[] = [];
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i = stringEnd(text, i);
      continue;
    }
    if (c === 78 /* N */ || c === 73 /* I */ || c === 45 /* - */) {
      const hit = LITERALS.find(([token]) => text.startsWith(token, i));
      if (hit) {
        parts.push(text.slice(last, i), hit[1]);
        i += hit[0].length;
        last = i;
        continue;
      }
    }
    i++;
  }
  parts.push(text.slice(last));
  return JSON.parse(parts.join(''), (_k, v: unknown) => (v === NAN ? NaN : v === INF ? Infinity : v === NEG_INF ? -Infinity : v));
}
