/** SPINAL traces and the Llama (with-past export) scores against the independent PyTorch implementation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spinalTrace } from '../../src/core/spinal/spinal.js';
import { scanFile } from '../../src/core/scan/index.js';
import { readRecord } from '../../src/core/records.js';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreFile } from '../../src/core/engine/score.js';
import type { PreferenceRecord } from '../../src/core/types.js';
import { scored, shared, skipWithoutShared } from '../helpers.js';

interface GoldTrace {
  layers: Array<{ layer: number; contraction: number; transport: number | null; tokens: number }>;
}

async function records(n: number): Promise<PreferenceRecord[]> {
  const f = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
  const r = await scanFile(f);
  return Array.from({ length: n }, (_, i) => readRecord(f, r.index, i, r.format).record as PreferenceRecord);
}

for (const [name, dir] of [
  ['spinal-sft', ['models', 'tiny-hh-sft']],
  ['spinal-dpo', ['runs', 'tiny-hh-dpo']],
  ['spinal-llama', ['models', 'tiny-hh-llama-lm']],
] as const) {
  test(`${name}: contraction and transport per layer match the golden trace within 1e-3 (lines 1–32)`, async (t) => {
    if (skipWithoutShared(t)) return;
    const gold = JSON.parse(readFileSync(join(shared, 'demo', 'golden', `${name}.json`), 'utf8')) as GoldTrace;
    const trace = await spinalTrace(join(shared, 'demo', ...dir), await records(32), { maxPromptLength: 192, maxCompletionLength: 128, cacheDir: mkdtempSync(join(tmpdir(), 'pl-')) });
    assert.equal(trace.layers.length, gold.layers.length);
    assert.equal(trace.tokens, gold.layers[0].tokens);
    let max = 0;
    trace.layers.forEach((l, i) => {
      const g = gold.layers[i];
      max = Math.max(max, Math.abs(l.contraction - g.contraction));
      assert.ok(Math.abs(l.contraction - g.contraction) <= 1e-3, `layer ${i} contraction ${l.contraction} vs ${g.contraction}`);
      if (g.transport === null) assert.equal(l.transport, null);
      else {
        max = Math.max(max, Math.abs((l.transport ?? NaN) - g.transport));
        assert.ok(Math.abs((l.transport ?? NaN) - g.transport) <= 1e-3, `layer ${i} transport ${l.transport} vs ${g.transport}`);
      }
    });
    console.log(`${name}: max |Δ| ${max.toExponential(2)}`);
  });
}

test('Llama with-past export (position_ids, empty past key/values, GQA): logps match the golden file', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readFileSync(join(shared, 'demo', 'golden', 'llama-dev-1-20.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; chosen: { ids: number[]; logp: number[]; sum_logp: number }; rejected: { ids: number[]; logp: number[]; sum_logp: number } });
  const m = await ScoringModel.load(join(shared, 'demo', 'models', 'tiny-hh-llama-lm'), { provider: 'cpu', cacheDir: mkdtempSync(join(tmpdir(), 'pl-')) });
  let n = 0;
  for await (const line of scoreFile(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), m, null, { beta: 0.1, maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 20], noCache: true })) {
    const s = scored(line);
    const g = gold.find((x) => x.line === s.line);
    assert.ok(g && s.chosen && s.rejected);
    for (const [mine, side] of [[s.chosen, g.chosen], [s.rejected, g.rejected]] as const) {
      assert.deepEqual(mine.tokens.map((x) => x.id), side.ids);
      mine.tokens.forEach((x, i) => assert.ok(Math.abs(x.logp - side.logp[i]) <= 1e-4));
      assert.ok(Math.abs(mine.logp - side.sum_logp) <= 1e-3);
    }
    n++;
  }
  assert.equal(n, 20);
});

test('checkpoint comparison on the demo run: margins across steps, sign flips found', async (t) => {
  if (skipWithoutShared(t)) return;
  const { parseRun } = await import('../../src/core/runs/runs.js');
  const { compareCheckpoints } = await import('../../src/core/compare/checkpoints.js');
  const run = parseRun(join(shared, 'demo', 'runs', 'tiny-hh-dpo'));
  const cmp = await compareCheckpoints(run, run.referenceModel ?? '', await records(12), { beta: 0.1, limits: { maxPromptLength: 192, maxCompletionLength: 128 }, provider: 'cpu', cacheDir: mkdtempSync(join(tmpdir(), 'pl-')) });
  assert.deepEqual(cmp.steps, [84, 168, 252, 336, 339]);
  assert.equal(cmp.records.length, 12);
  for (const r of cmp.records) assert.equal(r.margins.length, 5);
  // The last step is the final policy: its margins equal preflens score's with the same models.
  const gold = readFileSync(join(shared, 'demo', 'golden', 'dev-1-50.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; margin: number });
  for (const r of cmp.records) assert.ok(Math.abs((r.margins[4] ?? NaN) - (gold.find((g) => g.line === r.line)?.margin ?? NaN)) < 1e-3);
  const flips = cmp.records.filter((r) => r.margins.some((m, i) => i > 0 && m !== null && r.margins[i - 1] !== null && Math.sign(m) !== Math.sign(r.margins[i - 1] ?? 0))).map((r) => r.line);
  assert.deepEqual(cmp.flipped, flips);
  console.log(`checkpoint comparison: ${cmp.flipped.length} of 12 records flipped sign`);
});
