/** Every file in ../shared/data is detected as the right format and parsed with its known quirks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scanFile, type ScanResult } from '../../src/core/scan/index.js';
import { readRecord } from '../../src/core/records.js';
import type { PreferenceRecord } from '../../src/core/types.js';
import { shared, skipWithoutShared } from '../helpers.js';

const data = (p: string): string => join(shared, 'data', p);

function allRecords(path: string, r: ScanResult): PreferenceRecord[] {
  const out: PreferenceRecord[] = [];
  for (let i = 0; i < r.records; i++) {
    const rec = readRecord(path, r.index, i, r.format).record;
    assert.ok(rec, `record ${i} reads back`);
    out.push(rec);
  }
  return out;
}

test('hh-harmless/dev.jsonl: 1,800 HH pairs, prompt mismatch on lines 1255 and 1689 only', async (t) => {
  if (skipWithoutShared(t)) return;
  const r = await scanFile(data('hh-harmless/dev.jsonl'));
  assert.equal(r.format, 'hh');
  assert.equal(r.records, 1800);
  assert.equal(r.errorCount, 0);
  assert.deepEqual(r.checks.promptMismatch, [1255, 1689]);
  // curly quotes and other multi-byte characters are fine text, not encoding problems
  assert.deepEqual(r.checks.encoding, []);
  const recs = allRecords(data('hh-harmless/dev.jsonl'), r);
  assert.ok(recs.some((x) => /[’“”]/.test(x.candidates[0].text)));
  assert.ok(recs.every((x) => x.prompt.endsWith('\n\nAssistant:')));
});

test('llamafactory/dpo_en_demo.json: 300 sharegpt pairs, 5 duplicates, 80 system turns, prompts end on human, chosen longer 43.7%', async (t) => {
  if (skipWithoutShared(t)) return;
  const path = data('llamafactory/dpo_en_demo.json');
  const r = await scanFile(path);
  assert.equal(r.format, 'sharegpt');
  assert.equal(r.source, 'json-array');
  assert.equal(r.records, 300);
  assert.equal(r.checks.duplicate.length, 5);
  assert.equal(r.lengths.chosenLongerShareChars, 0.4367);
  const recs = allRecords(path, r);
  assert.equal(recs.filter((x) => x.promptMessages?.[0]?.role === 'system').length, 80);
  assert.ok(recs.every((x) => x.promptMessages?.[x.promptMessages.length - 1]?.role === 'user'));
  // every duplicate points back to an earlier line holding the same record
  for (const line of r.checks.duplicate) assert.ok(r.related[line] < line);
});

test('llamafactory/dpo_zh_demo.json: 11 duplicates, 17 U+FFFD characters flagged as encoding problems', async (t) => {
  if (skipWithoutShared(t)) return;
  const path = data('llamafactory/dpo_zh_demo.json');
  const r = await scanFile(path);
  assert.equal(r.format, 'sharegpt');
  assert.equal(r.records, 300);
  assert.equal(r.checks.duplicate.length, 11);
  const recs = allRecords(path, r);
  const texts = (x: PreferenceRecord): string => [x.prompt, ...x.candidates.map((c) => c.text)].join('');
  const fffd = recs.reduce((s, x) => s + (texts(x).match(/\uFFFD/g)?.length ?? 0), 0);
  assert.equal(fffd, 17);
  const withFffd = recs.filter((x) => texts(x).includes('\uFFFD')).map((x) => x.line);
  assert.deepEqual(r.checks.encoding, withFffd);
  assert.ok(recs.some((x) => texts(x).includes('\u200B')), 'zero-width spaces are kept');
});

test('llamafactory/kto_en_demo.json: 300 KTO records, 150 desirable / 150 undesirable', async (t) => {
  if (skipWithoutShared(t)) return;
  const path = data('llamafactory/kto_en_demo.json');
  const r = await scanFile(path);
  assert.equal(r.format, 'kto');
  assert.equal(r.records, 300);
  assert.deepEqual(r.labels, { desirable: 150, undesirable: 150 });
  const recs = allRecords(path, r);
  assert.ok(recs.every((x) => x.candidates.length === 1 && x.candidates[0].messages?.every((m) => m.role === 'assistant')));
});

test('llamafactory/v1_dpo_demo.jsonl: 10 pairs; the prompt is the shared prefix of the two conversations', async (t) => {
  if (skipWithoutShared(t)) return;
  const path = data('llamafactory/v1_dpo_demo.jsonl');
  const r = await scanFile(path);
  assert.equal(r.format, 'sharegpt');
  assert.equal(r.records, 10);
  assert.deepEqual(r.checks.promptMismatch, []);
  for (const x of allRecords(path, r)) {
    assert.ok((x.promptMessages?.length ?? 0) >= 1);
    assert.equal(x.promptMessages?.[x.promptMessages.length - 1].role, 'user');
    for (const c of x.candidates) assert.ok(c.messages?.every((m) => m.role === 'assistant'));
  }
});

test('torchtune files: conversational implicit prompt (1) and Stack Exchange paired (25)', async (t) => {
  if (skipWithoutShared(t)) return;
  const a = await scanFile(data('torchtune/hh_rlhf_tiny.json'));
  assert.deepEqual([a.format, a.records], ['trl-conversational', 1]);
  const rec = readRecord(data('torchtune/hh_rlhf_tiny.json'), a.index, 0, a.format).record;
  assert.equal(rec?.prompt, 'user: What do I do when I have a hole in my trousers?');
  assert.deepEqual(rec?.candidates.map((c) => c.text), ['Fix the hole.', 'Take them off.']);
  const b = await scanFile(data('torchtune/stack_exchange_paired_tiny.json'));
  assert.deepEqual([b.format, b.records], ['pairwise-index', 25]);
  const first = readRecord(data('torchtune/stack_exchange_paired_tiny.json'), b.index, 0, b.format).record;
  assert.deepEqual(first?.candidates.map((c) => c.field), ['response_j', 'response_k']);
});

test('alpacaeval annotations: 805 pairs; the 16 ties are exactly the 16 identical pairs', async (t) => {
  if (skipWithoutShared(t)) return;
  const r = await scanFile(data('alpacaeval/alpaca-7b__alpaca_eval_gpt4__annotations.json'));
  assert.equal(r.format, 'pairwise-index');
  assert.equal(r.records, 805);
  assert.equal(r.checks.scoreTie.length, 16);
  assert.deepEqual(r.checks.scoreTie, r.checks.identical);
});

test('oasst/en_100_tree.jsonl: 100 trees give 211 fully ranked records', async (t) => {
  if (skipWithoutShared(t)) return;
  const path = data('oasst/en_100_tree.jsonl');
  const r = await scanFile(path);
  assert.equal(r.format, 'ranked');
  assert.equal(r.records, 211);
  assert.equal(r.errorCount, 0);
  assert.equal(new Set(r.index.line).size <= 100, true);
  const recs = allRecords(path, r);
  for (const x of recs) {
    assert.ok(x.candidates.length >= 2);
    const ranks = x.candidates.map((c) => c.rank ?? -1);
    assert.deepEqual(ranks, [...ranks].sort((p, q) => p - q), 'best first');
  }
});

test('--tokenizer with the demo tokenizer counts BPE tokens', async (t) => {
  if (skipWithoutShared(t)) return;
  const dir = join(shared, 'demo', 'models', 'tiny-hh-sft');
  const r = await scanFile(data('hh-harmless/dev.jsonl'), { tokenizerDir: dir, checks: { maxPromptLength: 192, maxCompletionLength: 128, maxLength: 320 } });
  assert.match(r.lengths.tokenizer, /tokenizer\.json/);
  const w = await scanFile(data('hh-harmless/dev.jsonl'));
  assert.ok(r.lengths.chosen.tokens.mean > w.lengths.chosen.tokens.mean, 'BPE gives more tokens than words');
  assert.ok(r.checks.truncationRisk.length > 0);
});
