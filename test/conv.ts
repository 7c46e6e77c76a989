/**
 * Test code: conversational records for the scan kernel's equivalence tests (test/unit/convKernel.test.ts,
 * convParquet.test.ts): texts full of what the kernel must read exactly (escapes, Unicode, control characters,
 * newlines that could hide a join), conversations of user/assistant turns, and responses that are identical, nearly
 * identical (low separation) or empty.
 */

export const PIECES = [
  'the', 'model', 'Answer', 'QUESTION', 'is', 'a', 'good', 'one', 'x_1', '42', 'don\'t', 'e.g.', '(yes)', '"quoted"',
  'back\\slash', 'tab\there', 'line\nbreak', '  ', ' ', '\t', '\n\n', 'café', 'naïve', '中文字', '😀', '\uFFFD', '\u0085',
  '\u00A0', '\u3000', '\u0001', '\u007F', '/', '—', '“x”', 'user: fake\n\nassistant:',
];

export function text(r: () => number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) {
    const p = r() < 0.7 ? PIECES[Math.floor(r() * 9)] : PIECES[Math.floor(r() * PIECES.length)];
    s += (i > 0 && r() < 0.85 ? ' ' : '') + p;
  }
  return s;
}

export type Msg = Record<string, unknown>;
export const m = (role: string, content: unknown, extra: Record<string, unknown> = {}): Msg => ({ role, content, ...extra });

/** A conversation of user/assistant turns, sometimes with a system turn first. */
export function conversation(r: () => number): Msg[] {
  const out: Msg[] = [];
  if (r() < 0.15) out.push(m('system', text(r, 1 + Math.floor(r() * 8))));
  for (let t = 0, n = 1 + Math.floor(r() * 3); t < n; t++) {
    out.push(m('user', text(r, 1 + Math.floor(r() * 20))));
    if (t < n - 1) out.push(m('assistant', text(r, 1 + Math.floor(r() * 20))));
  }
  return out;
}

/** A rejected response to `c`: the same (identical), nearly the same (low separation), empty, or another. */
export function response(r: () => number, c: string): string {
  const v = r();
  if (v < 0.05) return c;
  if (v < 0.15) return c.replace(/(\S+)(\s*)$/, (_x, w: string, sp: string) => (r() < 0.5 ? `${w} extra${sp}` : `other${sp}`));
  if (v < 0.2) return ' ';
  return text(r, Math.floor(r() * 25));
}
