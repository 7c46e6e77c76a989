import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeText, boundedEditDistance, combineHashes, normalizedHash } from '../../src/core/checks/text.js';
import { countWordTokens, wordTokenHashes } from '../../src/core/tokenize/words.js';

function fullEditDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

test('bounded edit distance equals the full DP (capped at k+1) on 3,000 random pairs', () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let t = 0; t < 3000; t++) {
    const a = Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 4));
    const b = rnd() < 0.5 ? a.map((x) => (rnd() < 0.15 ? Math.floor(rnd() * 4) : x)) : Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 4));
    if (rnd() < 0.3) b.splice(Math.floor(rnd() * (b.length + 1)), 0, 9);
    const k = 1 + Math.floor(rnd() * 4);
    const full = fullEditDistance(a, b);
    assert.equal(boundedEditDistance(a, b, k), Math.min(full, k + 1), `a=${a} b=${b} k=${k}`);
  }
});

test('normalised hash ignores case and whitespace runs, not content', () => {
  assert.equal(normalizedHash('Hello   World\n'), normalizedHash(' hello world'));
  assert.notEqual(normalizedHash('hello world'), normalizedHash('hello worlds'));
  assert.notEqual(normalizedHash('ab'), normalizedHash('a b'));
  assert.notEqual(combineHashes([1, 2]), combineHashes([2, 1]));
});

test('encoding problems: U+FFFD, control characters, lone surrogates; not tabs, newlines or emoji', () => {
  assert.equal(analyzeText('a\uFFFDb').encoding, true);
  assert.equal(analyzeText('a\u0007b').encoding, true);
  assert.equal(analyzeText('a\u0085b').encoding, true);
  assert.equal(analyzeText('a\uD800b').encoding, true);
  assert.equal(analyzeText('tab\tnl\ncr\r “quote” 😀 中文').encoding, false);
});

test('word-level tokens: words, punctuation, CJK characters', () => {
  // Hello , world ! It ' s 2024 .
  assert.equal(countWordTokens("Hello, world! It's 2024."), 9);
  assert.equal(countWordTokens('中文字'), 3);
  assert.equal(countWordTokens('   '), 0);
  assert.equal(wordTokenHashes('a b a').length, 3);
  assert.equal(wordTokenHashes('a b a')[0], wordTokenHashes('a b a')[2]);
  assert.equal(analyzeText("Hello, world! It's 2024.").words, 9);
});
