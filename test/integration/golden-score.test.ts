/** preflens score against the independent PyTorch implementation's golden numbers (../shared/demo/golden). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreFile, type ScoredRecord } from '../../src/core/engine/score.js';
import { shared, skipWithoutShared } from '../helpers.js';

interface GoldSide {
  prompt_ids: number[];
  ids: number[];
  logp: number[];
  ref_logp: number[];
  reward: number[];
  sum_logp: number;
  sum_ref_logp: number;
  sum_reward: number;
}
interface Gold {
  line: number;
  chosen: GoldSide;
  rejected: GoldSide;
  margin: number;
  dpo_loss: number;
}

test('policy/reference log-probabilities, rewards and margins match the PyTorch golden file (lines 1–50)', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readFileSync(join(shared, 'demo', 'golden', 'dev-1-50.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Gold);
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir });
  const ref = await ScoringModel.load(join(shared, 'demo', 'models', 'tiny-hh-sft'), { provider: 'cpu', cacheDir });
  const opts = { beta: 0.1, maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 50] as [number, number], cacheDir };
  const got: ScoredRecord[] = [];
  for await (const r of scoreFile(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), policy, ref, opts)) got.push(r);
  assert.equal(got.length, 50);
  let maxTok = 0;
  let maxSum = 0;
  for (const g of gold) {
    const r = got.find((x) => x.line === g.line);
    assert.ok(r?.chosen && r.rejected, `line ${g.line} scored`);
    for (const [side, mine] of [[g.chosen, r.chosen], [g.rejected, r.rejected]] as const) {
      assert.deepEqual(mine.tokens.map((x) => x.id), side.ids, `line ${g.line}: token ids`);
      mine.tokens.forEach((x, i) => {
        maxTok = Math.max(maxTok, Math.abs(x.logp - side.logp[i]), Math.abs((x.ref_logp ?? NaN) - side.ref_logp[i]));
        assert.ok(Math.abs(x.logp - side.logp[i]) <= 1e-4, `line ${g.line} token ${i}: logp ${x.logp} vs ${side.logp[i]}`);
        assert.ok(Math.abs((x.ref_logp ?? NaN) - side.ref_logp[i]) <= 1e-4, `line ${g.line} token ${i}: ref_logp`);
        assert.ok(Math.abs((x.reward ?? NaN) - side.reward[i]) <= 1e-5, `line ${g.line} token ${i}: reward`);
      });
      for (const [a, b] of [[mine.logp, side.sum_logp], [mine.ref_logp ?? NaN, side.sum_ref_logp], [mine.reward ?? NaN, side.sum_reward]]) {
        maxSum = Math.max(maxSum, Math.abs(a - b));
        assert.ok(Math.abs(a - b) <= 1e-3, `line ${g.line}: sum ${a} vs ${b}`);
      }
    }
    assert.ok(Math.abs((r.margin ?? NaN) - g.margin) <= 1e-3, `line ${g.line}: margin ${r.margin} vs ${g.margin}`);
    assert.ok(Math.abs((r.dpo_loss ?? NaN) - g.dpo_loss) <= 1e-3, `line ${g.line}: dpo_loss`);
  }
  console.log(`golden: max |Δ| per-token logp ${maxTok.toExponential(2)}, sums ${maxSum.toExponential(2)}`);
});

test('the score cache returns the same numbers and is used on a second run', async (t) => {
  if (skipWithoutShared(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir });
  const opts = { beta: 0.1, maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 6] as [number, number], cacheDir };
  const file = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
  const a: ScoredRecord[] = [];
  for await (const r of scoreFile(file, policy, null, opts)) a.push(r);
  const b: ScoredRecord[] = [];
  let tokens = -1;
  for await (const r of scoreFile(file, policy, null, { ...opts, onProgress: (p) => (tokens = p.tokens) })) b.push(r);
  assert.deepEqual(b, a);
  assert.equal(tokens, 0, 'nothing recomputed on the second run');
  assert.equal(a[0].margin, undefined, 'reference-free mode has no DPO margin');
  assert.equal(typeof a[0].mean_logp_margin, 'number');
});
