import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { runModels } from '../../src/core/runs/checkpoints.js';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseRun, RunError, isRunDir } from '../../src/core/runs/runs.js';
import { parseLenientJson } from '../../src/core/runs/lenientJson.js';
import { detectTrainer } from '../../src/core/runs/trainer.js';
import { lossTypeOf } from '../../src/core/engine/folder.js';
import { LOSS_FIELDS } from '../../src/core/metrics/pair.js';
import { fixture, shared, skipWithoutShared, repoRoot } from '../helpers.js';

const runs = (n: string): string => fixture(join('runs', n));

test('lenient JSON: bare NaN/Infinity outside strings, untouched inside strings', () => {
  const v = parseLenientJson('{"a": NaN, "b": -Infinity, "c": [Infinity], "s": "NaN and Infinity"}') as Record<string, unknown>;
  assert.ok(Number.isNaN(v.a));
  assert.equal(v.b, -Infinity);
  assert.deepEqual(v.c, [Infinity]);
  assert.equal(v.s, 'NaN and Infinity');
});

test('trainer_state with NaN/Inf and missing keys: series, eval rows and the non-finite check', () => {
  const r = parseRun(runs('nan'));
  assert.equal(r.format, 'trainer_state');
  assert.equal(r.trainer, 'dpo');
  assert.deepEqual(r.series.loss.map((x) => x[0]), [10, 20, 2], 'a row without "step" falls back to its index');
  assert.deepEqual(r.eval.loss, [[30, 0.7]]);
  const nf = r.checks.find((c) => c.id === 'non-finite');
  assert.ok(nf);
  assert.deepEqual(nf.steps, [20]);
  assert.equal(nf.severity, 'error');
});

test('GRPO run: groups without signal are flagged', () => {
  const r = parseRun(runs('grpo'));
  assert.equal(r.trainer, 'grpo');
  const c = r.checks.find((x) => x.id === 'grpo-no-signal');
  assert.ok(c);
  assert.equal(c.steps.length, 30);
});

test('LLaMA-Factory trainer_log.jsonl: lr → learning_rate, a jump in the schedule is flagged', () => {
  const r = parseRun(runs('llamafactory'));
  assert.equal(r.format, 'llamafactory_log');
  assert.equal(r.steps, 200);
  assert.equal(r.series.learning_rate.length, 20);
  const c = r.checks.find((x) => x.id === 'lr-schedule');
  assert.ok(c, JSON.stringify(r.checks));
  assert.ok(c.steps.includes(150));
});

test('collapse: loss → 0, margins exploding, grad norm → 0; rejected collapse; checkpoints', () => {
  const r = parseRun(runs('collapse'));
  const ids = r.checks.map((c) => c.id);
  assert.ok(ids.includes('collapse'), ids.join());
  assert.ok(ids.includes('rejected-collapse'), ids.join());
  assert.deepEqual(r.checkpoints.map((c) => [c.step, c.hasOnnx, c.hasSafetensors]), [[200, false, false], [400, false, true]]);
  assert.ok(isRunDir(runs('collapse')));
  // A run whose checkpoints are sharded safetensors or LoRA adapters (no ONNX): listed, and offered for comparison.
  const dir = mkdtempSync(join(tmpdir(), 'preflens-ckpts-'));
  writeFileSync(join(dir, 'trainer_state.json'), readFileSync(join(runs('collapse'), 'trainer_state.json')));
  mkdirSync(join(dir, 'checkpoint-10'));
  writeFileSync(join(dir, 'checkpoint-10', 'model.safetensors.index.json'), '{"weight_map": {}}');
  mkdirSync(join(dir, 'checkpoint-20'));
  writeFileSync(join(dir, 'checkpoint-20', 'adapter_config.json'), '{}');
  const withCk = parseRun(dir);
  assert.deepEqual(withCk.checkpoints.map((c) => [c.step, c.hasOnnx, c.hasSafetensors, c.hasAdapter]), [[10, false, true, false], [20, false, false, true]]);
  assert.deepEqual(runModels(withCk).map((m) => m.step), [10, 20]);
});

test('unreadable runs give a clear error', () => {
  assert.throws(() => parseRun(runs('broken')), (e: unknown) => e instanceof RunError && /trainer_state\.json: not valid JSON/.test(e.message));
  assert.throws(() => parseRun(runs('nope')), /no such folder/);
});

test('real runs: the TRL Llama-2 run (15 bare NaN) and the demo DPO run', (t) => {
  if (skipWithoutShared(t)) return;
  const a = parseRun(join(shared, 'runs', 'trl-dpo-llama2-stackexchange'));
  assert.equal(a.trainer, 'dpo');
  const nTrain = a.series.loss.length;
  assert.equal(nTrain, 100);
  assert.equal(a.eval.loss.length, 10);
  const nonFinite = [...Object.values(a.series), ...Object.values(a.eval)].flat().filter(([, v]) => !Number.isFinite(v)).length;
  assert.equal(nonFinite, 15);
  assert.equal(a.checks.find((c) => c.id === 'non-finite')?.severity, 'error');
  const b = parseRun(join(shared, 'demo', 'runs', 'tiny-hh-dpo'));
  assert.deepEqual(b.checkpoints.map((c) => c.step), [84, 168, 252, 336]);
  assert.ok(b.checkpoints.every((c) => c.hasOnnx && c.hasSafetensors));
  assert.ok(b.referenceModel?.endsWith(join('models', 'tiny-hh-sft')));
  assert.ok(b.eval['rewards/accuracies'].length >= 4);
});

test('preflens run --json and preflens spinal usage', () => {
  const cli = join(repoRoot, 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'run', runs('nan'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { series: Record<string, Array<[number, number | null]>>; checks: unknown[] };
  assert.deepEqual(j.series.loss[1], [20, null], 'NaN written as null');
  assert.ok(j.checks.length > 0);
  assert.equal(spawnSync(process.execPath, [cli, 'run', runs('broken')], { encoding: 'utf8' }).status, 1);
  assert.equal(spawnSync(process.execPath, [cli, 'spinal', fixture('hh.jsonl')], { encoding: 'utf8' }).status, 2);
  const sp = spawnSync(process.execPath, [cli, 'spinal', fixture('trl-standard.jsonl'), '--model', fixture('tiny-gpt2'), '--max-prompt-length', '24', '--max-completion-length', '32', '--json'], { encoding: 'utf8', env: { ...process.env, PREFLENS_CACHE_DIR: join(repoRoot, 'out', 'test-cache') } });
  assert.equal(sp.status, 0, sp.stderr);
  const t = JSON.parse(sp.stdout) as { records: number; tokens: number; layers: Array<{ layer: number; contraction: number; transport: number | null }> };
  assert.equal(t.records, 6);
  assert.deepEqual(t.layers.map((l) => l.layer), [0, 1, 2]);
  assert.equal(t.layers[2].transport, null);
  assert.ok(t.layers.every((l) => Number.isFinite(l.contraction)));
});

test('trainer families from TRL metric names', () => {
  assert.equal(detectTrainer(['loss', 'rewards/margins', 'logps/chosen']), 'dpo');
  assert.equal(detectTrainer(['loss', 'log_odds_ratio', 'nll_loss', 'rewards/margins']), 'orpo');
  assert.equal(detectTrainer(['loss', 'nll_loss', 'rewards/margins', 'logps/rejected']), 'cpo/simpo');
  assert.equal(detectTrainer(['loss', 'kl', 'rewards/chosen_sum']), 'kto');
  assert.equal(detectTrainer(['reward', 'reward_std', 'frac_reward_zero_std', 'kl']), 'grpo');
  assert.equal(detectTrainer(['loss', 'my_metric']), 'unknown');
});

test('GRPO run checks: completions cut off at max_completion_length, collapsing entropy; a healthy run has neither', () => {
  const run = (clipped: (i: number) => number, entropy: (i: number) => number): string => {
    const dir = mkdtempSync(join(tmpdir(), 'preflens-grpo-'));
    const log_history = Array.from({ length: 20 }, (_, i) => ({ step: i + 1, loss: 0.01, reward: 0.5, reward_std: 0.3, frac_reward_zero_std: 0.1, 'completions/clipped_ratio': clipped(i), entropy: entropy(i) }));
    writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 20, log_history }));
    return dir;
  };
  const bad = parseRun(run((i) => i / 40, (i) => 1 - i * 0.05));
  assert.equal(bad.trainer, 'grpo');
  const clipped = bad.checks.find((c) => c.id === 'grpo-clipped-completions');
  assert.ok(clipped, JSON.stringify(bad.checks));
  assert.deepEqual(clipped.steps, [16, 17, 18, 19, 20]);
  assert.match(clipped.message, /43% of completions hit max_completion_length/);
  const entropy = bad.checks.find((c) => c.id === 'grpo-entropy-collapse');
  assert.ok(entropy);
  assert.match(entropy.message, /from 0\.900 to 0\.150/);
  const good = parseRun(run(() => 0.05, (i) => 1 - i * 0.01));
  assert.deepEqual(good.checks.filter((c) => c.id.startsWith('grpo-')).map((c) => c.id), []);
});

test('LLaMA-Factory trainer_log.jsonl: accuracy is TRL\'s rewards/accuracies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-lf-'));
  const rows = Array.from({ length: 6 }, (_, i) => JSON.stringify({ current_steps: (i + 1) * 10, total_steps: 60, loss: 0.69 - i * 0.05, accuracy: 0.5 + i * 0.05, lr: 5e-6 }));
  writeFileSync(join(dir, 'trainer_log.jsonl'), rows.join('\n') + '\n');
  const r = parseRun(dir);
  assert.deepEqual(r.series['rewards/accuracies'].map(([, v]) => v), [0.5, 0.55, 0.6, 0.65, 0.7, 0.75].map((x) => x));
  assert.equal(r.series.accuracy, undefined);
  assert.equal(r.trainer, 'dpo');
});

test('trainer names: the model card first; DPO with an NLL term apart from CPO/SimPO; KTO runs get no pair checks', () => {
  const run = (rows: Array<Record<string, number>>, card?: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'preflens-trainer-'));
    writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: rows.length, log_history: rows.map((r, i) => ({ step: i + 1, ...r })) }));
    if (card) writeFileSync(join(dir, 'README.md'), card);
    return dir;
  };
  const grpoRows = Array.from({ length: 8 }, () => ({ reward: 0.5, reward_std: 0.2, frac_reward_zero_std: 0.1 }));
  assert.equal(parseRun(run(grpoRows)).trainer, 'grpo');
  assert.equal(parseRun(run(grpoRows, '## Training procedure\n\nThis model was trained with RLOO, a method introduced in [Back to Basics](https://huggingface.co/papers/2402.14740).\n\n- TRL: 0.29.0\n')).trainer, 'rloo');
  assert.equal(parseRun(run(grpoRows, 'This model was trained with [GRPO](https://x).')).trainer, 'grpo');
  // CPO/SimPO logs rewards = β·logps; DPO with rpo_alpha logs nll_loss too, but its rewards are β·(logps − ref).
  const cpo = Array.from({ length: 8 }, (_, i) => ({ loss: 1 - i * 0.05, nll_loss: 2, 'rewards/margins': 0.1 * i, 'logps/chosen': -100 - i, 'rewards/chosen': 0.1 * (-100 - i), 'logps/rejected': -120 }));
  assert.equal(parseRun(run(cpo)).trainer, 'cpo/simpo');
  const rpo = cpo.map((r, i) => ({ ...r, 'rewards/chosen': 0.1 * i - 0.5 }));
  assert.equal(parseRun(run(rpo)).trainer, 'dpo (with nll_loss: rpo_alpha or sft)');
  // A KTO run whose chosen logps fall while the margins grow: no likelihood-displacement (its examples are unpaired).
  const kto = Array.from({ length: 12 }, (_, i) => ({ loss: 0.5, kl: 0.1, 'rewards/margins': 0.1 * i, 'logps/chosen': -100 - 5 * i, 'logps/rejected': -120 - i }));
  const k = parseRun(run(kto));
  assert.equal(k.trainer, 'kto');
  assert.deepEqual(k.checks.map((x) => x.id), []);
  // The same numbers logged by DPO do fire it.
  const dpo = parseRun(run(kto.map(({ kl: _kl, ...r }) => r)));
  assert.ok(dpo.checks.some((x) => x.id === 'likelihood-displacement'));
  // KTO's own checks: a dead KL estimate, desirable rewards falling below 0, TRL's desirable/undesirable balance.
  const kto2 = Array.from({ length: 12 }, (_, i) => ({ loss: 0.5, kl: i < 1 ? 0.2 : 0, 'rewards/chosen': 0.2 - 0.05 * i, 'rewards/rejected': -0.1 * i, 'count/chosen': 3, 'count/rejected': 5 }));
  const k2 = parseRun(run(kto2));
  assert.equal(k2.trainer, 'kto');
  assert.deepEqual(k2.checks.map((x) => x.id).sort(), ['kto-desirable-falling', 'kto-imbalance', 'kto-kl-zero']);
  assert.match(k2.checks.find((x) => x.id === 'kto-imbalance')?.message ?? '', /36 desirable and 60 undesirable.*desirable_weight in \[1\.67, 2\.22\] or undesirable_weight in \[0\.45, 0\.60\]/);
  // Equal counts need no weights; 4:5 puts neither unit weight in TRL's range; 5:4 does (undesirable_weight 1 ∈ [0.94, 1.25]).
  const balanced = kto2.map((r) => ({ ...r, kl: 0.1, 'rewards/chosen': 0.1, 'count/chosen': 4, 'count/rejected': 4 }));
  assert.deepEqual(parseRun(run(balanced)).checks.map((x) => x.id), []);
  const inRange = kto2.map((r) => ({ ...r, kl: 0.1, 'rewards/chosen': 0.1, 'count/chosen': 4, 'count/rejected': 5 }));
  assert.deepEqual(parseRun(run(inRange)).checks.map((x) => x.id), ['kto-imbalance'], '4:5 is outside TRL\'s range for unit weights');
  const ok = kto2.map((r) => ({ ...r, kl: 0.1, 'rewards/chosen': 0.1, 'count/chosen': 5, 'count/rejected': 4 }));
  assert.deepEqual(parseRun(run(ok)).checks.map((x) => x.id), [], '5:4: undesirable_weight 1 ∈ [0.94, 1.25]');
});

test('the loss type a model was trained with: its run config (TRL dpo_config.json, LLaMA-Factory pref_loss), also from a checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-loss-'));
  assert.equal(lossTypeOf(dir), null);
  writeFileSync(join(dir, 'dpo_config.json'), JSON.stringify({ beta: 0.1, loss_type: 'hinge' }));
  assert.equal(lossTypeOf(dir), 'hinge');
  const cp = join(dir, 'checkpoint-10');
  mkdirSync(cp);
  assert.equal(lossTypeOf(cp), 'hinge', 'a checkpoint takes its run folder\'s config');
  const lf = mkdtempSync(join(tmpdir(), 'preflens-lf-'));
  writeFileSync(join(lf, 'training_args.yaml'), 'stage: dpo\npref_beta: 0.1\npref_loss: simpo\n');
  assert.equal(lossTypeOf(lf), 'simpo');
  assert.equal(LOSS_FIELDS.get('simpo'), 'simpo_loss');
  assert.equal(LOSS_FIELDS.get('__proto__'), undefined, 'a loss type is data, not a key of an object');
});

test('the demo run names its loss type', (t) => {
  if (skipWithoutShared(t)) return;
  assert.equal(lossTypeOf(join(shared, 'demo', 'runs', 'tiny-hh-dpo')), 'sigmoid');
  assert.equal(lossTypeOf(join(shared, 'demo', 'runs', 'tiny-hh-dpo', 'checkpoint-84')), 'sigmoid');
});

test('run checks are one table: an entry added to it is decided, marked on its series and listed in the README table, with no other edit', async () => {
  const { RUN_CHECKS, runChecks, checkSeries } = await import('../../src/core/runs/checks.js');
  const docs = (await import(join(repoRoot, 'scripts', 'docs.mjs'))) as { runChecksTable(t: unknown): string; withTables(r: string, t: Record<string, string>): string; generatedTables(): Record<string, string> };
  const extra = {
    id: 'loss-above-one',
    severity: 'info' as const,
    fires: '`loss` above 1 at the last step (test)',
    series: ['loss'],
    source: 'a test',
    cite: 'test',
    thresholds: { limit: 1 },
    decide: (run: { series: Record<string, Array<[number, number]>> }, t: Record<string, number>) => {
      const last = run.series.loss?.at(-1);
      return last && last[1] > t.limit ? { message: `loss ${last[1]}`, steps: [last[0]] } : null;
    },
  };
  const table = [...RUN_CHECKS, extra];
  const series = { loss: [[1, 3], [2, 2]] as Array<[number, number]> };
  assert.deepEqual(runChecks(series, {}, [], 'dpo', table), [{ id: 'loss-above-one', severity: 'info', message: 'loss 2', steps: [2], source: 'a test' }]);
  assert.deepEqual(runChecks(series, {}, [], 'dpo'), [], 'not in the table: not decided');
  assert.deepEqual(checkSeries(table).get('loss-above-one'), ['loss']);
  assert.match(docs.runChecksTable(table), /\| `loss-above-one` \(info\) \| `loss` above 1 at the last step \(test\) \| test \|/);
  // and the README holds the table generated from the real one
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.equal(docs.withTables(readme, docs.generatedTables()), readme, 'README.md is stale: npm run build && node scripts/docs.mjs');
});
