import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffSpans } from '../../src/core/diff.js';

const cut = (s: string, spans: Array<{ start: number; end: number }>): string[] => spans.map((x) => s.slice(x.start, x.end).trim());

test('diff marks only the differing words', () => {
  const a = 'The cat sat on the mat.';
  const b = 'The dog sat on the red mat.';
  const d = diffSpans(a, b);
  assert.deepEqual(cut(a, d.a), ['cat']);
  assert.deepEqual(cut(b, d.b), ['dog', 'red']);
  // cat→dog (delete + insert) and the inserted 'red' with its space: 4 token edits
  assert.equal(d.distance, 4);
});

test('identical texts have no spans; disjoint texts are fully marked', () => {
  assert.deepEqual(diffSpans('same text', 'same text').a, []);
  const d = diffSpans('alpha', 'beta');
  assert.deepEqual(cut('alpha', d.a), ['alpha']);
  assert.deepEqual(cut('beta', d.b), ['beta']);
});

test('offsets are UTF-16 indices (emoji and curly quotes)', () => {
  const a = 'I’m happy 😀 today';
  const b = 'I’m sad 😀 today';
  const d = diffSpans(a, b);
  assert.deepEqual(cut(a, d.a), ['happy']);
  assert.deepEqual(cut(b, d.b), ['sad']);
});
