/** GRPO rollouts (src/core/rollouts/rollouts.ts, `preflens rollouts`), issue #13 item 4. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { findRollouts, policyForStep, promptText, readRollouts, rolloutContext, rolloutRun } from '../../src/core/rollouts/rollouts.js';
import { markLzo, sql, writeParquet } from '../parquet.js';
import { repoRoot } from '../helpers.js';

interface Gen {
  prompt: string | Array<{ role: string; content: string }>;
  completion: string;
  accuracy_reward: number;
  format_reward: number;
  advantage: number;
  solution: string;
}

/** A TRL completions file as GRPOTrainer writes it (step, prompt, completion, rewards, extras, advantage). */
async function trlFile(file: string, step: number, rows: Gen[], options: string): Promise<void> {
  const prompt = (p: Gen['prompt']): string => (typeof p === 'string' ? sql(p) : `[${p.map((m) => `{'role': ${sql(m.role)}, 'content': ${sql(m.content)}}`).join(', ')}]`);
  const values = rows.map((r) => `(${step}, ${prompt(r.prompt)}, ${sql(r.completion)}, ${r.accuracy_reward}::DOUBLE, ${r.format_reward}::DOUBLE, ${sql(r.solution)}, ${r.advantage}::DOUBLE)`).join(', ');
  await writeParquet(file, `SELECT * FROM (VALUES ${values}) t(step, prompt, completion, accuracy_reward, format_reward, solution, advantage)`, options);
}

const chat = (q: string): Array<{ role: string; content: string }> => [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: q }];
const gen = (prompt: Gen['prompt'], completion: string, acc: number, fmt: number): Gen => ({ prompt, completion, accuracy_reward: acc, format_reward: fmt, advantage: 0, solution: '4' });
const len = (n: number): string => 'x'.repeat(n);

async function trlRun(): Promise<{ dir: string; step10: Gen[]; step20: Gen[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-grpo-'));
  mkdirSync(join(dir, 'completions'));
  // step 10: conversational prompts (lists of messages); group B has no reward variance
  const step10 = [...[1, 0, 1, 0].map((a, i) => gen(chat('2+2?'), `answer ${i}`, a, 1)), ...[0, 0, 0, 0].map((a, i) => gen(chat('3+3?'), `reply ${i}`, a, 1))];
  // step 20: text prompts; in group A the two rewards disagree (total constant), in group B longer is better
  const step20 = [...[[0, 1], [0, 1], [1, 0], [1, 0]].map(([a, f], i) => gen('Q: 5+5?', len([5, 10, 20, 40][i]), a, f)), ...[0, 0.5, 1, 1].map((a, i) => gen('Q: 7+7?', len([5, 10, 20, 40][i]), a, 1))];
  await trlFile(join(dir, 'completions', 'completions_00010.parquet'), 10, step10, 'COMPRESSION snappy');
  await trlFile(join(dir, 'completions', 'completions_00020.parquet'), 20, step20, 'COMPRESSION zstd');
  const row = (step: number, clipped: number): Record<string, number> => ({ step, loss: 0.01, 'rewards/accuracy_reward/mean': 0.5, 'rewards/format_reward/mean': 0.9, 'completions/clipped_ratio': clipped, frac_reward_zero_std: 0.5 });
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 20, log_history: [row(10, 0.05), row(20, 0.5)] }));
  return { dir, step10, step20 };
}

test('TRL completions (Snappy and ZSTD, conversational and text prompts): groups per prompt, rewards, totals, advantages, lengths; the checks', async () => {
  const { dir, step10, step20 } = await trlRun();
  assert.equal(findRollouts(dir)?.source.name, 'trl');
  const r = await readRollouts(dir, rolloutContext(dir));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.rewardNames, ['accuracy_reward', 'format_reward'], 'the run names its reward functions; "solution" is an extra column');
  assert.deepEqual(r.steps.map((s) => [s.step, s.groups.length, s.groups.map((g) => g.size)]), [[10, 2, [4, 4]], [20, 2, [4, 4]]]);
  const g = r.steps[0].groups[0];
  assert.equal(g.prompt, promptText(chat('2+2?')));
  assert.equal(g.prompt, 'system: Answer briefly.\nuser: 2+2?');
  assert.deepEqual(g.rewards.accuracy_reward, step10.slice(0, 4).map((x) => x.accuracy_reward));
  assert.deepEqual(g.total, step10.slice(0, 4).map((x) => x.accuracy_reward + x.format_reward));
  assert.deepEqual(g.advantage, [0, 0, 0, 0]);
  assert.deepEqual(g.extra.solution, ['4', '4', '4', '4']);
  assert.deepEqual(r.steps[1].groups[1].lengths, step20.slice(4).map((x) => x.completion.length));
  assert.deepEqual(r.steps.map((s) => s.groups.map((x) => x.zeroVariance)), [[false, true], [true, false]]);
  const byId = Object.fromEntries(r.checks.map((c) => [c.id, c]));
  assert.equal(byId['rollouts-no-signal'].severity, 'info', 'half the groups, not more');
  assert.deepEqual(byId['rollouts-no-signal'].steps, [10, 20]);
  assert.deepEqual(byId['rollouts-length-reward'].steps, [20]);
  assert.deepEqual(byId['rollouts-reward-disagreement'].steps, [20]);
  assert.match(byId['rollouts-reward-disagreement'].message, /accuracy_reward and format_reward/);
  assert.deepEqual(byId['rollouts-clipped'].steps, [20], 'from the run\'s completions/clipped_ratio');
  assert.deepEqual(r.clipped, [[10, 0.05], [20, 0.5]]);
  // TRL's reward_weights change the total (and so the variance): format weighted 0 makes group A of step 20 vary
  const w = await readRollouts(dir, rolloutContext(dir, { format_reward: 0 }));
  assert.deepEqual(w.steps[1].groups[0].total, [0, 0, 1, 1]);
  assert.equal(w.steps[1].groups[0].zeroVariance, false);
});

test('preflens rollouts DIR --json prints the contract; bad files are reported with file and row group or column, the rest is read', async () => {
  const { dir } = await trlRun();
  const cli = join(repoRoot, 'dist', 'cli.js');
  const ok = spawnSync(process.execPath, [cli, 'rollouts', dir, '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout) as { dir: string; source: string; rewardNames: string[]; steps: Array<{ step: number; groups: Array<Record<string, unknown>> }>; checks: Array<Record<string, unknown>> };
  assert.equal(j.source, 'trl');
  assert.deepEqual(Object.keys(j.steps[0].groups[0]).sort(), ['advantage', 'lengths', 'prompt', 'rewards', 'size', 'total', 'zeroVariance']);
  assert.deepEqual(Object.keys(j.checks[0]).sort(), ['id', 'message', 'severity', 'steps']);
  // a file whose pages use a compression no reader here has (LZO), and a file without a completion column
  const bad = join(dir, 'completions', 'completions_00030.parquet');
  await trlFile(bad, 30, [gen('Q', 'A', 1, 1)], 'COMPRESSION uncompressed');
  assert.ok(markLzo(bad) > 0);
  await writeParquet(join(dir, 'completions', 'completions_00040.parquet'), `SELECT 40 AS step, 'Q' AS prompt, 1.0::DOUBLE AS accuracy_reward`);
  const r = spawnSync(process.execPath, [cli, 'rollouts', dir, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /completions_00030\.parquet: row group 1: cannot be read \(.*compression LZO/);
  assert.match(r.stderr, /completions_00040\.parquet: column completion: no "completion" column/);
  assert.deepEqual((JSON.parse(r.stdout) as typeof j).steps.map((s) => s.step), [10, 20], 'the good files are still read');
  const none = spawnSync(process.execPath, [cli, 'rollouts', tmpdir() + '/preflens-nothing-here'], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no rollouts/);
});

test('verl rollout dumps (<step>.jsonl): score is the total, numeric extras are rewards; missing fields and bad lines are reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-verl-'));
  const line = (input: string, output: string, score: number, acc?: number): string => JSON.stringify({ input, output, gts: '42', score, step: 1, ...(acc === undefined ? {} : { acc }) });
  writeFileSync(join(dir, '1.jsonl'), [line('<|im_start|>user\nQ1', 'a', 1, 1), line('<|im_start|>user\nQ1', 'bb', 0, 0), line('<|im_start|>user\nQ2', 'c', 1, 1), line('<|im_start|>user\nQ2', 'dd', 1)].join('\n') + '\n');
  writeFileSync(join(dir, '2.jsonl'), [line('Q1', 'a', 0.5, 1), '{not json', JSON.stringify({ input: 'Q1', score: 1 })].join('\n') + '\n');
  const r = await readRollouts(dir);
  assert.equal(r.source, 'verl');
  assert.deepEqual(r.rewardNames, ['score', 'acc']);
  assert.deepEqual(r.steps[0].groups.map((g) => [g.size, g.total, g.zeroVariance]), [[2, [1, 0], false], [2, [1, 1], true]]);
  assert.deepEqual(r.steps[0].groups[1].rewards.acc, [1, null]);
  assert.deepEqual(r.steps[0].groups[0].extra.gts, ['42', '42']);
  assert.equal(r.steps[0].groups[0].advantage, null);
  const where = r.problems.map((p) => `${p.file.split('/').pop()}: ${p.where}`);
  assert.ok(where.includes('1.jsonl: field acc'), where.join());
  assert.ok(where.includes('2.jsonl: line 2'), where.join());
  assert.ok(where.includes('2.jsonl: line 3, field output'), where.join());
  // the folder given may be the run, with the dumps in rollout_data/
  const run = mkdtempSync(join(tmpdir(), 'preflens-verl-run-'));
  mkdirSync(join(run, 'rollout_data'));
  copyFileSync(join(dir, '1.jsonl'), join(run, 'rollout_data', '1.jsonl'));
  assert.equal(findRollouts(run)?.source.name, 'verl');
});

test('a rollout group scored under a policy and a reference: per-token logp, ref logp and their difference match float64 forward passes', async () => {
  const { ScoringModel } = await import('../../src/core/engine/model.js');
  const { scoreRecords } = await import('../../src/core/engine/score.js');
  const { groupRecord } = await import('../../src/core/rollouts/rollouts.js');
  const { TINY, tinyWeights, forward, writeTinyModel } = await import('../tinyModel.js');
  const { randomGpt2Weights } = await import('../gpt2.js');
  const { fixture } = await import('../helpers.js');
  // the reference: the tiny model with other weights (so that logp − ref logp is not 0)
  const refDir = mkdtempSync(join(tmpdir(), 'preflens-tiny-ref-'));
  const refW = randomGpt2Weights(TINY, 7);
  writeTinyModel(refDir, TINY, refW);
  const cache = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const policy = await ScoringModel.load(fixture('tiny-gpt2'), { provider: 'cpu', cacheDir: cache });
  const ref = await ScoringModel.load(refDir, { provider: 'cpu', cacheDir: cache });
  const group = { prompt: 'Q: 2+2?', size: 2, rewards: {}, total: [1, 0], advantage: null, lengths: [1, 2], zeroVariance: false, completions: ['4', 'five'], extra: {} };
  const [out] = await scoreRecords([groupRecord(group, 10)], policy, ref, { beta: 0.1, convention: 'trl-legacy', maxPromptLength: 24, maxCompletionLength: 32, noCache: true });
  assert.ok(out && 'candidates' in out && out.candidates);
  const promptIds = [...Buffer.from(group.prompt, 'utf8')];
  out.candidates.forEach((c, k) => {
    const ids = [...Buffer.from(group.completions[k], 'utf8'), 256];
    assert.deepEqual(c.tokens.map((t) => t.id), ids);
    const lp = forward(TINY, tinyWeights(), [...promptIds, ...ids]).logprobs;
    const rp = forward(TINY, refW, [...promptIds, ...ids]).logprobs;
    c.tokens.forEach((t, i) => {
      const want = lp[promptIds.length - 1 + i][ids[i]];
      const wantRef = rp[promptIds.length - 1 + i][ids[i]];
      assert.ok(Math.abs(t.logp - want) < 1e-4, `logp ${t.logp} vs ${want}`);
      assert.ok(t.ref_logp !== undefined && Math.abs(t.ref_logp - wantRef) < 1e-4, `ref logp ${t.ref_logp} vs ${wantRef}`);
    });
    assert.ok(c.tokens.some((t) => Math.abs(t.logp - (t.ref_logp ?? 0)) > 1e-3), 'the two models differ');
  });
  await policy.release();
  await ref.release();
});

test('the policy of a step: the run\'s checkpoint at or before it, else its final model; the run found from its completions folder', async () => {
  const { dir } = await trlRun();
  for (const cp of ['checkpoint-10', 'checkpoint-30']) {
    mkdirSync(join(dir, cp));
    writeFileSync(join(dir, cp, 'model.safetensors'), '');
  }
  writeFileSync(join(dir, 'model.safetensors'), '');
  const run = rolloutRun(join(dir, 'completions'));
  assert.equal(run?.dir, join(dir, 'completions', '..'));
  assert.ok(run);
  assert.deepEqual(policyForStep(run, 20), { dir: join(dir, 'checkpoint-10'), step: 10 });
  assert.deepEqual(policyForStep(run, 30), { dir: join(dir, 'checkpoint-30'), step: 30 });
  const final = policyForStep(run, 5);
  assert.equal(final?.dir, run.dir, 'before every checkpoint: the final model');
  assert.equal(rolloutRun(tmpdir() + '/preflens-no-run-here'), null);
});

test('NeMo RL training data (exp_NNN/train_data_step<N>.jsonl): grouped by prompt, rewards, advantages of the response tokens; damaged lines reported', async () => {
  const root = mkdtempSync(join(tmpdir(), 'preflens-nemorl-'));
  const exp = join(root, 'logs', 'exp_002');
  mkdirSync(exp, { recursive: true });
  mkdirSync(join(root, 'logs', 'exp_001'));
  // as nemo_rl/utils/logger.py log_batched_dict_as_jsonl writes GRPO's log_data: one object per sample, with its idx
  const line = (i: number, prompt: string, response: string, reward: number, adv: number): string =>
    JSON.stringify({ content: ['<|im_start|>system\nBe brief.<|im_end|>', prompt, response], rewards: reward, input_lengths: 12, token_ids: [1, 2, 3, 4], token_loss_mask: [0, 0, 1, 1], sample_loss_mask: 1, advantages: [0, 0, adv, adv], generation_logprobs: [0, 0, -1, -2], prev_logprobs: [0, 0, -1, -2], idx: i });
  const step3 = [line(0, 'Q: 2+2?', '4', 1, 0.5), line(1, 'Q: 2+2?', '5', 0, -0.5), line(2, 'Q: 3+3?', '6', 1, 0), line(3, 'Q: 3+3?', '6', 1, 0)];
  writeFileSync(join(exp, 'train_data_step3.jsonl'), step3.join('\n') + '\n');
  writeFileSync(join(exp, 'train_data_step1.jsonl'), [line(0, 'Q: 1+1?', '2', 1, 0.7), 'null', '{"content": "just text"}', line(3, 'Q: 1+1?', '3', 0, -0.7)].join('\n') + '\n');
  const r = await readRollouts(root);
  assert.equal(r.source, 'nemo-rl');
  assert.equal(r.label, 'NeMo RL training data');
  assert.deepEqual(r.steps.map((s) => s.step), [1, 3], 'the newest experiment folder, steps in order');
  const g = r.steps[1].groups;
  assert.deepEqual(g.map((x) => x.prompt), ['<|im_start|>system\nBe brief.<|im_end|>\nQ: 2+2?', '<|im_start|>system\nBe brief.<|im_end|>\nQ: 3+3?']);
  assert.deepEqual(g[0].total, [1, 0]);
  assert.deepEqual(g[0].advantage, [0.5, -0.5], 'the advantage of the first response token');
  assert.deepEqual(g[0].completions, ['4', '5']);
  assert.equal(g[1].zeroVariance, true);
  assert.deepEqual(g[0].extra.idx, [0, 1]);
  assert.equal(g[0].extra.token_ids, undefined, 'per-token arrays are not extras');
  assert.deepEqual(r.problems.map((p) => p.where), ['line 2', 'line 3, field content']);
  assert.match(r.problems[0].message, /not a JSON object \(null\)/);
  assert.ok(r.checks.some((c) => c.id === 'rollouts-no-signal'));
});

test('a rollout source is one implementation: a format given to readRollouts is found, read, grouped and checked with no other edit', async () => {
  const { dict } = await import('../../src/core/rollouts/row.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-src-'));
  writeFileSync(join(dir, 'step-7.tsv'), 'p1\ta\t1\np1\tb\t0\np2\tc\t2\np2\td\t2\n');
  const tsv = {
    name: 'tsv-test',
    label: 'TSV rollouts',
    where: 'step-N.tsv',
    find: (d: string) => (readdirSync(d).includes('step-7.tsv') ? [{ step: 7, file: join(d, 'step-7.tsv') }] : null),
    read: async (file: string) => ({
      rows: readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t')).map(([prompt, completion, score]) => ({ prompt, completion, rewards: dict([['score', Number(score)]]), advantage: null, extra: dict<unknown>() })),
      rewardNames: ['score'],
    }),
    total: (r: { rewards: Record<string, number | null> }) => r.rewards.score ?? null,
  };
  await assert.rejects(readRollouts(dir), /no rollouts \(TRL completions.*verl.*NeMo RL/);
  const r = await readRollouts(dir, { sources: [tsv] });
  assert.equal(r.source, 'tsv-test');
  assert.deepEqual(r.steps[0].groups.map((g) => [g.prompt, g.total, g.zeroVariance]), [['p1', [1, 0], false], ['p2', [2, 2], true]]);
  assert.deepEqual(r.checks.map((c) => c.id), ['rollouts-no-signal']);
});
