/** JSON as Python's json.dumps writes it: trainer_state.json and trainer logs hold bare NaN and Infinity. */

/** JSON.parse that accepts bare NaN, Infinity and -Infinity outside strings (Python's json.dumps writes them). */
export function parseLenientJson(text: string): unknown {
  let out = '';
  let i = 0;
  let inStr = false;
  while (i < text.length) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inStr = false;
      i++;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      i++;
      continue;
    }
    if (text.startsWith('NaN', i)) {
      out += '"\\u0000NaN"';
      i += 3;
    } else if (text.startsWith('-Infinity', i)) {
      out += '"\\u0000-Infinity"';
      i += 9;
    } else if (text.startsWith('Infinity', i)) {
      out += '"\\u0000Infinity"';
      i += 8;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out, (_k, v: unknown) => (v === '\u0000NaN' ? NaN : v === '\u0000Infinity' ? Infinity : v === '\u0000-Infinity' ? -Infinity : v));
}
