/** preflens score against the independent PyTorch implementation's golden numbers (../shared/demo/golden). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreFile, type ScoredRecord } from '../../src/core/engine/score.js';
import { recordsOnLines } from '../../src/core/records.js';
import { scored, shared, skipWithoutShared } from '../helpers.js';

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

/** Compares scored records with golden ones: token ids, per-token numbers within `tol`, sums and pair numbers. */
function compare(gold: Gold[], got: ScoredRecord[], tol: number): { maxTok: number; maxSum: number } {
  let maxTok = 0;
  let maxSum = 0;
  for (const g of gold) {
    const r = got.find((x) => x.line === g.line);
    assert.ok(r?.chosen && r.rejected, `line ${g.line} scored`);
    for (const [side, mine] of [[g.chosen, r.chosen], [g.rejected, r.rejected]] as const) {
      assert.deepEqual(mine.tokens.map((x) => x.id), side.ids, `line ${g.line}: token ids`);
      mine.tokens.forEach((x, i) => {
        maxTok = Math.max(maxTok, Math.abs(x.logp - side.logp[i]), Math.abs((x.ref_logp ?? NaN) - side.ref_logp[i]));
        assert.ok(Math.abs(x.logp - side.logp[i]) <= tol, `line ${g.line} token ${i}: logp ${x.logp} vs ${side.logp[i]}`);
        assert.ok(Math.abs((x.ref_logp ?? NaN) - side.ref_logp[i]) <= tol, `line ${g.line} token ${i}: ref_logp`);
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
  return { maxTok, maxSum };
}

async function demoModels(): Promise<{ policy: ScoringModel; ref: ScoringModel; cacheDir: string }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir });
  const ref = await ScoringModel.load(join(shared, 'demo', 'models', 'tiny-hh-sft'), { provider: 'cpu', cacheDir });
  return { policy, ref, cacheDir };
}

const readGold = (name: string): Gold[] => readFileSync(join(shared, 'demo', 'golden', name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Gold);

test('policy/reference log-probabilities, rewards and margins match the PyTorch golden file (lines 1–50)', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readGold('dev-1-50.jsonl');
  const { policy, ref, cacheDir } = await demoModels();
  const opts = { beta: 0.1, maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 50] as [number, number], cacheDir };
  const got: ScoredRecord[] = [];
  for await (const r of scoreFile(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), policy, ref, opts)) got.push(scored(r));
  assert.equal(got.length, 50);
  const { maxTok, maxSum } = compare(gold, got, 1e-4);
  console.log(`golden: max |Δ| per-token logp ${maxTok.toExponential(2)}, sums ${maxSum.toExponential(2)}`);
});

test('chosen and rejected with different prompts: each response is scored after its own prompt (lines 1255, 1689)', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readGold('dev-prompt-mismatch.jsonl');
  const { policy, ref, cacheDir } = await demoModels();
  const file = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
  const limits = { maxPromptLength: 192, maxCompletionLength: 128 };
  const got: ScoredRecord[] = [];
  for (const g of gold) {
    for await (const r of scoreFile(file, policy, ref, { beta: 0.1, ...limits, lines: [g.line, g.line], cacheDir })) got.push(scored(r));
    // The prompts the trainer saw: the chosen transcript's for chosen, the rejected one's for rejected.
    const [rec] = recordsOnLines(file, [g.line, g.line]);
    assert.ok(rec.rejectedPrompt !== undefined, `line ${g.line} has two prompts`);
    const enc = policy.tokenizer.encodeRecord(rec, limits);
    assert.deepEqual(enc.responses[0].promptIds, g.chosen.prompt_ids, `line ${g.line}: chosen prompt ids`);
    assert.deepEqual(enc.responses[1].promptIds, g.rejected.prompt_ids, `line ${g.line}: rejected prompt ids`);
    assert.notDeepEqual(g.chosen.prompt_ids, g.rejected.prompt_ids);
  }
  const { maxTok } = compare(gold, got, 1e-5);
  console.log(`golden (prompt mismatch): max |Δ| per-token logp ${maxTok.toExponential(2)}`);
});

test('convention trl (TRL ≥ 0.29): joint tokenization, EOS text, max_length 512 keeping the start match the golden file (lines 1–20)', async (t) => {
  if (skipWithoutShared(t)) return;
  const gold = readGold('trl-dev-1-20.jsonl');
  const { policy, ref, cacheDir } = await demoModels();
  const got: ScoredRecord[] = [];
  const opts = { beta: 0.1, convention: 'trl' as const, maxPromptLength: null, maxCompletionLength: null, maxLength: 512, lines: [1, 20] as [number, number], cacheDir };
  for await (const r of scoreFile(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), policy, ref, opts)) got.push(scored(r));
  assert.equal(got.length, 20);
  const { maxTok } = compare(gold, got, 1e-5);
  // The prompt ids the trainer saw, and the legacy convention gives other numbers on the same records.
  const [rec] = recordsOnLines(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), [1, 1]);
  assert.deepEqual(policy.tokenizer.encodeRecord(rec, opts).responses[0].promptIds, gold[0].chosen.prompt_ids);
  const legacy = policy.tokenizer.encodeRecord(rec, { maxPromptLength: 192, maxCompletionLength: 128 });
  assert.notDeepEqual(legacy.responses[0].promptIds, gold[0].chosen.prompt_ids, 'trl-legacy keeps only 192 prompt tokens');
  console.log(`golden (trl): max |Δ| per-token logp ${maxTok.toExponential(2)}`);
});

test('the score cache returns the same numbers and is used on a second run', async (t) => {
  if (skipWithoutShared(t)) return;
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir });
  const opts = { beta: 0.1, maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 6] as [number, number], cacheDir };
  const file = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
  const a: ScoredRecord[] = [];
  for await (const r of scoreFile(file, policy, null, opts)) a.push(scored(r));
  const b: ScoredRecord[] = [];
  let tokens = -1;
  for await (const r of scoreFile(file, policy, null, { ...opts, onProgress: (p) => (tokens = p.tokens) })) b.push(scored(r));
  assert.deepEqual(b, a);
  assert.equal(tokens, 0, 'nothing recomputed on the second run');
  assert.equal(a[0].margin, undefined, 'reference-free mode has no DPO margin');
  assert.equal(typeof a[0].mean_logp_margin, 'number');
});
