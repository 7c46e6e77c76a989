/**
 * Chat templates render as Python's jinja2 does (src/core/tokenize/jinja.ts): @huggingface/jinja's strip, lstrip,
 * rstrip and trim ignore their `chars` and trim JavaScript's whitespace; the patch gives them Python's semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pyStrip, Template } from '../../src/core/tokenize/jinja.js';

const render = (t: string, vars: Record<string, unknown> = {}): string => new Template(t).render(vars);

test("Python's str.strip semantics: whitespace as str.isspace() counts it, or the given characters as a set of code points", () => {
  assert.equal(pyStrip('  a b \n', null, true, true), 'a b');
  assert.equal(pyStrip('\x1c\x1d\x85a\u3000', null, true, true), 'a', 'Python strips U+001C–U+001F, U+0085, U+3000');
  assert.equal(pyStrip('\ufeffa\ufeff', null, true, true), '\ufeffa\ufeff', 'Python keeps U+FEFF (JavaScript trims it)');
  assert.equal(pyStrip('xy</answer>', '</answer>', true, true), 'xy');
  assert.equal(pyStrip('\n\n Sure.\n', '\n', true, false), ' Sure.\n');
  assert.equal(pyStrip('🙂🙂a🙂', '🙂', true, true), 'a', 'characters beyond the BMP are one character each');
  assert.equal(pyStrip('abc', '', true, true), 'abc');
  assert.equal(pyStrip('', null, true, true), '');
});

test('templates: strip, lstrip and rstrip honour their chars argument; trim is Python strip; None means whitespace; a non-string argument is an error', () => {
  assert.equal(render("{{ s.strip('</answer>') }}", { s: 'xy</answer>' }), 'xy');
  assert.equal(render("{{ s.lstrip('\\n') }}|", { s: '\n\n Sure. ' }), ' Sure. |', "Qwen3's final assistant turn: content.lstrip('\\n') keeps the leading space");
  assert.equal(render("{{ s.rstrip('\\n') }}|", { s: 'a \n\n' }), 'a |');
  assert.equal(render('{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}', { s: ' \x85x\t ' }), 'x|x\t | \x85x');
  assert.equal(render('{{ s.strip(none) }}', { s: '  y ' }), 'y');
  assert.equal(render('{{ s | trim }}|', { s: '\ufeff a \x1c' }), '\ufeff a|');
  assert.equal(render("{{ s | trim('x') }}", { s: 'xxaxx' }), 'a');
  assert.equal(render("{{ '<think>\\n\\n</think>\\n\\n' ~ s.lstrip('\\n') }}", { s: '\n Sure.' }), '<think>\n\n</think>\n\n Sure.');
  assert.throws(() => render('{{ s.strip(3) }}', { s: 'a' }), /strip arg must be None or str/);
  // everything else of a string is as before
  assert.equal(render("{{ s.upper() }}|{{ s | length }}|{{ s.startswith('a') }}", { s: 'ab' }), 'AB|2|true');
});
