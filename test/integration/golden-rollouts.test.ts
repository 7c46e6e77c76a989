/**
 * A rollout group scored as the Rollouts panel scores it (rollouts.ts groupRecord, then the engine) against the
 * independent PyTorch implementation's golden numbers: a group whose prompt and completions are an HH pair's prompt
 * and responses must give those responses' per-token logp, reference logp and implicit reward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreRecords } from '../../src/core/engine/score.js';
import { groupRecord } from '../../src/core/rollouts/rollouts.js';
import { recordsOnLines } from '../../src/core/records.js';
import { shared, skipWithoutShared } from '../helpers.js';

interface GoldSide {
  ids: number[];
  logp: number[];
  ref_logp: number[];
  reward: number[];
}

test('a rollout group scored under the demo policy and reference: per-token logp, ref logp and β(logp − ref logp) equal the golden file (lines 1–10)', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readFileSync(join(shared, 'demo', 'golden', 'dev-1-50.jsonl'), 'utf8').trim().split('\n').slice(0, 10).map((l) => JSON.parse(l) as { line: number; chosen: GoldSide; rejected: GoldSide });
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir });
  const ref = await ScoringModel.load(join(shared, 'demo', 'models', 'tiny-hh-sft'), { provider: 'cpu', cacheDir });
  const recs = recordsOnLines(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), [1, 10]).filter((r) => r.rejectedPrompt === undefined);
  let max = 0;
  let checked = 0;
  for (const rec of recs) {
    const g = gold.find((x) => x.line === rec.line);
    assert.ok(g);
    const completions = rec.candidates.map((c) => c.text);
    const group = { prompt: rec.prompt, size: 2, rewards: {}, total: [null, null], advantage: null, lengths: completions.map((c) => c.length), zeroVariance: false, completions, extra: {} };
    const [out] = await scoreRecords([groupRecord(group, rec.line)], policy, ref, { beta: 0.1, convention: 'trl-legacy', maxPromptLength: 192, maxCompletionLength: 128, noCache: true });
    assert.ok(out && 'candidates' in out && out.candidates);
    [g.chosen, g.rejected].forEach((side, k) => {
      const c = out.candidates?.[k];
      assert.ok(c);
      assert.deepEqual(c.tokens.map((x) => x.id), side.ids, `line ${rec.line}: token ids`);
      c.tokens.forEach((x, i) => {
        const d = Math.max(Math.abs(x.logp - side.logp[i]), Math.abs((x.ref_logp ?? NaN) - side.ref_logp[i]), Math.abs((x.reward ?? NaN) - side.reward[i]));
        max = Math.max(max, d);
        assert.ok(d <= 1e-5, `line ${rec.line} completion ${k} token ${i}: |Δ| ${d}`);
        checked++;
      });
    });
  }
  assert.ok(checked > 500, `${checked} tokens`);
  console.log(`rollout group vs golden: ${checked} tokens, max |Δ| ${max.toExponential(2)}`);
  await policy.release();
  await ref.release();
});
