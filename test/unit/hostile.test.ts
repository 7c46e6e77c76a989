/**
 * Hostile inputs to the readers (issue #24): damaged or adversarial checkpoints, adapters, configs, templates, Parquet
 * files, event files, trainer logs, rollouts and huge records — all generated here, none committed. Each must give a
 * clear message naming the file and the place, never the wrong weights, never a silent NaN, never an internal error,
 * and never unbounded memory or time; input files are never modified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ScoringModel } from '../../src/core/engine/model.js';
import { runJobs } from '../../src/core/engine/scorer.js';
import { scoreRecords } from '../../src/core/engine/score.js';
import { isFailed } from '../../src/core/contract.js';
import { parseRun } from '../../src/core/runs/runs.js';
import { maskedCrc, readEventFile } from '../../src/core/runs/tfevents.js';
import { readRollouts, rolloutContext } from '../../src/core/rollouts/rollouts.js';
import { openParquet, readRowGroup } from '../../src/core/parquet/parquet.js';
import { MAX_RECORD_BYTES } from '../../src/core/jsonl/reader.js';
import { MAX_TOKENIZE_CHARS, ModelTokenizer } from '../../src/core/tokenize/encoder.js';
import { spinalTrace } from '../../src/core/spinal/spinal.js';
import { HiddenStateError } from '../../src/core/spinal/hidden.js';
import type { PreferenceRecord } from '../../src/core/types.js';
import { readSafetensorsRaw, writeCheckpoint, writeSafetensorsRaw, writeTokenizer } from '../checkpoint.js';
import { eventBytes, frame } from '../tfevents.js';
import { editFooter, markLzo, rootChildren, writeParquet } from '../parquet.js';
import { repoRoot } from '../helpers.js';

const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `preflens-hostile-${name}-`));
const cli = join(repoRoot, 'dist', 'cli.js');
const run = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PREFLENS_CACHE_DIR: tmp('cache') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const llama = { vocab_size: 260, hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, intermediate_size: 48, num_hidden_layers: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, eos_token_id: 256, bos_token_id: 256, model_type: 'llama', rope_theta: 10000, tie_word_embeddings: false };
const ids = [5, 9, 77, 3, 120, 44, 8, 200, 31];

async function logps(dir: string, cacheDir: string): Promise<number[]> {
  const m = await ScoringModel.load(dir, { provider: 'cpu', cacheDir });
  const [s] = await runJobs(m, [{ ids, respStart: 1 }]);
  await m.release();
  return Array.from(s.logp);
}

async function loadError(dir: string, cacheDir = tmp('cache')): Promise<string> {
  try {
    await ScoringModel.load(dir, { provider: 'cpu', cacheDir });
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return '(loaded)';
}

test('the graph cache keys what it reads: a folder never runs on another folder\'s weights (A scored, A overwritten in place, B identical to the old A)', async () => {
  const root = tmp('ab');
  const cacheDir = tmp('cache');
  writeCheckpoint(join(root, 'A'), llama, 'F32', 1, 3);
  writeCheckpoint(join(root, 'B'), llama, 'F32', 1, 3);
  const original = await logps(join(root, 'A'), cacheDir);
  // A's weights overwritten in place with others of the same size
  writeCheckpoint(join(root, 'A'), llama, 'F32', 1, 4);
  const changed = await logps(join(root, 'A'), cacheDir);
  assert.notDeepEqual(changed, original);
  assert.deepEqual(await logps(join(root, 'B'), cacheDir), original, 'B, byte-identical to the original A, scores as it did');
  // a checkpoint whose shards resolve to different folders is refused even when its content was seen before
  writeCheckpoint(join(root, 'S'), llama, 'F32', 2, 5);
  await logps(join(root, 'S'), cacheDir);
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);
  cpSync(join(root, 'S'), join(root, 'T'), { recursive: true });
  const shard = 'model-00002-of-00002.safetensors';
  cpSync(join(root, 'T', shard), join(elsewhere, shard));
  rmSync(join(root, 'T', shard));
  symlinkSync(join(elsewhere, shard), join(root, 'T', shard));
  assert.match(await loadError(join(root, 'T'), cacheDir), /resolve to different folders/);
});

test('safetensors as the format requires: overlapping, negative or fractional data_offsets, and a tensor in a shard the index does not name, are errors naming file and tensor', async () => {
  const root = tmp('st');
  const fresh = (name: string, shards = 1): string => {
    const d = join(root, name);
    writeCheckpoint(d, llama, 'F32', shards, 2);
    return d;
  };
  // two tensors of the same size: the second made to read the first's bytes
  let d = fresh('overlap');
  let f = join(d, 'model.safetensors');
  let { header, data } = readSafetensorsRaw(f);
  const a = header['model.layers.0.self_attn.k_proj.weight'] as { data_offsets: number[] };
  const b = header['model.layers.0.self_attn.v_proj.weight'] as { data_offsets: number[] };
  b.data_offsets = [...a.data_offsets];
  writeSafetensorsRaw(f, header, data);
  assert.match(await loadError(d), /model\.safetensors: tensor "model\.layers\.0\.self_attn\.(k|v)_proj\.weight" overlaps tensor/);
  for (const [name, offsets, want] of [
    ['negative', [-4, 12], /data_offsets \[-4,12\] must be two integers 0 ≤ begin ≤ end/],
    ['fractional', [0.5, 16.5], /data_offsets \[0\.5,16\.5\] must be two integers/],
  ] as const) {
    d = fresh(name);
    f = join(d, 'model.safetensors');
    ({ header, data } = readSafetensorsRaw(f));
    (header['model.norm.weight'] as { data_offsets: number[] }).data_offsets = [...offsets];
    writeSafetensorsRaw(f, header, data);
    const msg = await loadError(d);
    assert.match(msg, want, msg);
    assert.doesNotMatch(msg, /truncated/, 'not reported as truncation');
  }
  // bytes after the last tensor
  d = fresh('trailing');
  f = join(d, 'model.safetensors');
  ({ header, data } = readSafetensorsRaw(f));
  writeSafetensorsRaw(f, header, Buffer.concat([data, Buffer.alloc(16)]));
  assert.match(await loadError(d), /last 16 bytes belong to no tensor/);
  // a tensor present in two shards: the index names one
  d = fresh('twice', 2);
  const s1 = readSafetensorsRaw(join(d, 'model-00001-of-00002.safetensors'));
  const s2 = join(d, 'model-00002-of-00002.safetensors');
  const r2 = readSafetensorsRaw(s2);
  const name = Object.keys(s1.header).find((k) => k !== '__metadata__') as string;
  const t = s1.header[name] as { dtype: string; shape: number[]; data_offsets: number[] };
  const end = r2.data.length;
  r2.header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [end, end + t.data_offsets[1] - t.data_offsets[0]] };
  writeSafetensorsRaw(s2, r2.header, Buffer.concat([r2.data, s1.data.subarray(t.data_offsets[0], t.data_offsets[1])]));
  assert.match(await loadError(d), new RegExp(`model-00002-of-00002\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" is in this shard, but model\\.safetensors\\.index\\.json puts it in model-00001-of-00002\\.safetensors`));
  // a weight_map value that is not a string
  d = fresh('weightmap', 2);
  const idx = JSON.parse(readFileSync(join(d, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, unknown> };
  idx.weight_map['model.norm.weight'] = 7;
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(idx));
  assert.match(await loadError(d), /weight_map\["model\.norm\.weight"\] is 7, not the file name of a shard/);
});

test('config.json values are checked: types and ranges, layer counts the weights have (1e9 layers is an error, not a hang); fewer layers than the weights is a warning naming the unused tensors', async () => {
  const root = tmp('cfg');
  let n = 0;
  const withConfig = (patch: Record<string, unknown>): string => {
    const d = join(root, `c${n++}`);
    writeCheckpoint(d, llama, 'F32', 1, 6);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...llama, ...patch }).replace('"__NEG_INF__"', '-1e999'));
    return d;
  };
  for (const [patch, want] of [
    [{ rope_theta: '__NEG_INF__' }, /"rope_theta" is -Infinity; it must be a positive finite number/],
    [{ num_attention_heads: 0 }, /"num_attention_heads" is 0; it must be a positive integer/],
    [{ hidden_size: 32.5 }, /"hidden_size" is 32\.5; it must be a positive integer/],
    [{ num_hidden_layers: 1e9 }, /the config says 1000000000 layers, but the checkpoint's weights hold 2/],
    [{ tie_word_embeddings: 'true' }, /"tie_word_embeddings" is "true"; it must be true or false/],
    [{ rms_norm_eps: -1 }, /"rms_norm_eps" is -1; it must be a positive finite number/],
    [{ num_key_value_heads: 3 }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
  ] as const) {
    const msg = await loadError(withConfig(patch));
    assert.match(msg, want, `${JSON.stringify(patch)}: ${msg}`);
    assert.match(msg, /config\.json/, 'the message names the file');
  }
  // fewer layers than the weights: transformers warns about the unused weights, and so does PrefLens
  const d = withConfig({ num_hidden_layers: 1 });
  const m = await ScoringModel.load(d, { provider: 'cpu', cacheDir: tmp('cache') });
  assert.equal(m.warnings.length, 1);
  assert.match(m.warnings[0], /tensors of the checkpoint are not used .*model\.layers\.1\./);
  await m.release();
});

test('non-finite weights never print silent nulls: a NaN in lora_B is an error naming the tensor; a NaN in the base makes the record an error (model, response, token named) and the CLI exits 1', async () => {
  const root = tmp('nan');
  // a LoRA adapter with one NaN in lora_B
  const base = join(root, 'base');
  writeCheckpoint(base, llama, 'F32', 1, 7);
  const ad = join(root, 'adapter');
  mkdirSync(ad);
  const { writeSafetensors } = await import('../checkpoint.js');
  const B = Float32Array.from({ length: 16 * 2 }, (_, i) => (i === 5 ? NaN : 0.01 * i));
  writeSafetensors(ad, [
    { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', shape: [2, 32], data: Float32Array.from({ length: 64 }, (_, i) => 0.01 * i) },
    { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', shape: [32, 2], data: Float32Array.from({ length: 64 }, (_, i) => (i === 5 ? NaN : B[i % 32])) },
  ], 'F32', 1, 'adapter_model');
  writeFileSync(join(ad, 'adapter_config.json'), JSON.stringify({ base_model_name_or_path: '../base', peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['model.layers.0.self_attn.q_proj'] }));
  assert.match(await loadError(ad), /adapter_model\.safetensors: model\.layers\.0\.self_attn\.q_proj: lora_B holds NaN at element 5/);
  // a NaN in the base's weights: the record is an error, the next record of another model is fine
  const bad = join(root, 'nanbase');
  writeCheckpoint(bad, llama, 'F32', 1, 7);
  const f = join(bad, 'model.safetensors');
  const { header, data } = readSafetensorsRaw(f);
  const at = (header['model.layers.1.mlp.down_proj.weight'] as { data_offsets: number[] }).data_offsets[0];
  data.writeFloatLE(NaN, at);
  writeSafetensorsRaw(f, header, data);
  const m = await ScoringModel.load(bad, { provider: 'cpu', cacheDir: tmp('cache') });
  const rec = { index: 0, line: 7, offset: 0, format: 'trl-standard' as const, kind: 'pair' as const, prompt: 'Hi there', candidates: [{ role: 'chosen' as const, text: ' yes', field: 'chosen' }, { role: 'rejected' as const, text: ' no', field: 'rejected' }] };
  const [line] = await scoreRecords([rec], m, null, { beta: 0.1, maxPromptLength: null, maxCompletionLength: null, convention: 'trl-legacy', noCache: true });
  assert.ok(isFailed(line), JSON.stringify(line));
  assert.match(line.error, new RegExp(`the policy .*nanbase gives NaN as the log-probability of token 1 of the chosen response \\(id 32, " "\\): its output is not finite`));
  await m.release();
  const data1 = join(root, 'data.jsonl');
  writeFileSync(data1, JSON.stringify({ prompt: 'Hi there', chosen: ' yes', rejected: ' no' }) + '\n');
  const r = run('score', data1, '--policy', bad, '--convention', 'trl-legacy', '--no-cache');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /data\.jsonl: line 1: the policy .* gives NaN/);
  assert.match(r.err, /1 failed/);
  assert.match(r.out, /"error":/, 'the line is in the output, with its error');
});

test('adapters: a base that is the adapter itself, two adapters naming each other, a bad target_modules regex, use_rslora "true": each a clear error, never a stack overflow', async () => {
  const root = tmp('adapters');
  const cfg = (base: string, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ base_model_name_or_path: base, peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj'], ...extra });
  const a = join(root, 'a');
  const b = join(root, 'b');
  mkdirSync(a);
  mkdirSync(b);
  writeFileSync(join(a, 'adapter_config.json'), cfg('.'));
  assert.match(await loadError(a), /adapter_config\.json: its base .* is the adapter itself/);
  writeFileSync(join(a, 'adapter_config.json'), cfg('../b'));
  writeFileSync(join(b, 'adapter_config.json'), cfg('../a'));
  assert.match(await loadError(a), /adapters that name each other as their base \(.*a → .*b → .*a\)/);
  const base = join(root, 'base');
  writeCheckpoint(base, llama, 'F32', 1, 8);
  writeFileSync(join(a, 'adapter_config.json'), cfg('../base', { target_modules: 'model.(layers' }));
  assert.match(await loadError(a), /adapter_config\.json: target_modules "model\.\(layers" is not a valid regular expression/);
  writeFileSync(join(a, 'adapter_config.json'), cfg('../base', { use_rslora: 'true' }));
  assert.match(await loadError(a), /adapter_config\.json: use_rslora is "true"; it must be true or false/);
});

test('names are data: metrics, tags, settings, rewards and columns called __proto__ or constructor are series and columns like any other; a log row that is an array is reported, not series "0" and "1"', async () => {
  const dir = tmp('names');
  // written as text: an object literal's __proto__ would set a prototype
  writeFileSync(
    join(dir, 'trainer_state.json'),
    '{"global_step": 2, "log_history": [{"step": 1, "loss": 0.5, "__proto__": 1, "constructor": 2, "toString": 3}, [7, 8], "text", {"step": 2, "loss": 0.4, "__proto__": NaN, "constructor": 4, "toString": 5}]}',
  );
  mkdirSync(join(dir, 'runs', 'x'), { recursive: true });
  writeFileSync(
    join(dir, 'runs', 'x', 'events.out.tfevents.1.host.1.0'),
    Buffer.concat([frame(eventBytes(0, [])), frame(eventBytes(3, [{ tag: 'train/__proto__', simple: 9 }, { tag: 'eval/constructor', simple: 8 }, { tag: 'hasOwnProperty/text_summary', text: 'x' }]))].map((b) => Buffer.from(b))),
  );
  const r = parseRun(dir);
  assert.deepEqual(Object.keys(r.series).sort(), ['__proto__', 'constructor', 'loss', 'toString']);
  assert.deepEqual(r.series.__proto__.map(([s]) => s), [1, 2, 3]);
  assert.ok(Number.isNaN(r.series.__proto__[1][1]), 'the logged NaN kept');
  assert.deepEqual(r.series.constructor, [[1, 2], [2, 4]]);
  assert.deepEqual(r.eval.constructor, [[3, 8]]);
  assert.equal(r.settings.hasOwnProperty, 'x');
  assert.deepEqual(r.problems.map((p) => [p.where, p.message]), [
    ['log_history[1]', 'an array, not a row of logged values: skipped'],
    ['log_history[2]', 'string, not a row of logged values: skipped'],
  ]);
  const out = run('run', dir);
  assert.equal(out.code, 0, out.err);
  assert.match(out.out, /log_history\[1\]: an array/);

  // a dataset's and a rollout's names
  const data = join(tmp('names-data'), 'g.jsonl');
  writeFileSync(data, '{"prompt": "p", "completions": ["a", "b"], "__proto__": [1, 0], "constructor": [0.5, 0.5]}\n');
  const st = run('stats', data, '--json');
  assert.equal(st.code, 0, st.err);
  const rollDir = tmp('names-verl');
  writeFileSync(join(rollDir, '5.jsonl'), ['{"input": "q", "output": "a", "score": 1, "__proto__": 1, "constructor": 0}', '{"input": "q", "output": "b", "score": 0, "__proto__": 0, "constructor": 1}'].join('\n') + '\n');
  const ro = await readRollouts(rollDir);
  assert.deepEqual(ro.rewardNames.sort(), ['__proto__', 'constructor', 'score']);
  assert.deepEqual(ro.steps[0].groups[0].rewards.__proto__, [1, 0]);
  assert.deepEqual(ro.steps[0].groups[0].rewards.constructor, [0, 1]);
  // a Parquet column called __proto__ is a cell, not the row's prototype
  const pq = join(tmp('names-pq'), 'p.parquet');
  await writeParquet(pq, `SELECT 'p' AS prompt, 'a' AS chosen, 'b' AS rejected, 'x' AS "__proto__", 2 AS "constructor"`);
  const pf = await openParquet(pq);
  const [row] = await readRowGroup(pf, 0);
  assert.equal(row.__proto__, 'x');
  assert.equal(row.constructor, 2);
  assert.equal(Object.getPrototypeOf(row), null);
});

test('rollouts: reward columns holding strings are reported per column (never a silent "mean total reward NaN"); verl and NeMo RL lines that are null, a number or an array are reported by line', async () => {
  const dir = tmp('roll-str');
  mkdirSync(join(dir, 'completions'));
  await writeParquet(join(dir, 'completions', 'completions_00010.parquet'), `SELECT * FROM (VALUES (10, 'q', 'a', '1.0', 0.5::DOUBLE), (10, 'q', 'b', '0.0', 0.5::DOUBLE)) t(step, prompt, completion, accuracy_reward, format_reward)`);
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 10, log_history: [{ step: 10, 'rewards/accuracy_reward/mean': 0.5, 'rewards/format_reward/mean': 0.5 }] }));
  const r = await readRollouts(dir, rolloutContext(dir));
  assert.deepEqual(r.problems.map((p) => [p.where, p.message]), [['column accuracy_reward', '2 values are not a number (the first, row 1: "1.0"): no reward there']]);
  const out = run('rollouts', dir);
  assert.equal(out.code, 0, out.err);
  assert.doesNotMatch(out.out, /NaN/);
  assert.match(out.err, /column accuracy_reward: 2 values are not a number/);
  // every reward a string: the step says so
  await writeParquet(join(dir, 'completions', 'completions_00010.parquet'), `SELECT * FROM (VALUES (10, 'q', 'a', '1.0', 'x'), (10, 'q', 'b', '0.0', 'y')) t(step, prompt, completion, accuracy_reward, format_reward)`);
  const none = run('rollouts', dir);
  assert.match(none.out, /step 10: 1 groups of 2, no total reward \(no completion has a numeric reward\)/);
  assert.doesNotMatch(none.out, /NaN/);

  const verl = tmp('verl-bad');
  writeFileSync(join(verl, '3.jsonl'), ['null', '42', '[1, 2]', '"s"', '{"input": "q", "output": "a", "score": "high"}', '{"input": "q", "output": "b", "score": 0}'].join('\n') + '\n');
  const v = await readRollouts(verl);
  assert.deepEqual(v.problems.map((p) => [p.where, p.message]), [
    ['line 1', 'not a JSON object (null)'],
    ['line 2', 'not a JSON object (number)'],
    ['line 3', 'not a JSON object (an array)'],
    ['line 4', 'not a JSON object (string)'],
    ['field score', '1 value is not a number (the first, line 5: "high"): no reward there'],
  ]);
  assert.deepEqual(v.steps[0].groups[0].total, [null, 0]);
  const nemo = tmp('nemo-bad');
  mkdirSync(join(nemo, 'exp_001'));
  writeFileSync(join(nemo, 'exp_001', 'train_data_step1.jsonl'), ['null', '7', '[]', JSON.stringify({ content: ['q', 'a'], rewards: '1' }), JSON.stringify({ content: ['q', 'b'], rewards: 0 })].join('\n') + '\n');
  const n = await readRollouts(nemo);
  assert.deepEqual(n.problems.map((p) => [p.where, p.message]), [
    ['line 1', 'not a JSON object (null)'],
    ['line 2', 'not a JSON object (number)'],
    ['line 3', 'not a JSON object (an array)'],
    ['field rewards', '1 value is not a number (the first, line 4: "1"): no reward there'],
  ]);
});

test('event files: a CRC-valid absurd record length is reported and the records after it are read; an event "file" that is a folder is named', () => {
  const dir = tmp('ev');
  const good = (step: number): Buffer => Buffer.from(frame(eventBytes(step, [{ tag: 'train/loss', simple: step / 100 }])));
  // a header announcing 2^40 bytes, its length CRC valid
  const bad = Buffer.alloc(16);
  bad.writeBigUInt64LE(2n ** 40n, 0);
  bad.writeUInt32LE(maskedCrc(bad, 0, 8), 8);
  const file = join(dir, 'events.out.tfevents.1.host.1.0');
  writeFileSync(file, Buffer.concat([good(1), bad, good(2), good(3)]));
  const r = readEventFile(file);
  assert.deepEqual(r.scalars.get('train/loss')?.map(([s]) => s), [1, 2, 3]);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].offset, good(1).length);
  assert.match(r.problems[0].message, /corrupt record: a length of 1099511627776 bytes/);
  mkdirSync(join(dir, 'events.out.tfevents.2.host.1.0'));
  const run1 = parseRun(dir);
  assert.deepEqual(run1.series.loss?.map(([s]) => s), [1, 2, 3]);
  const folder = run1.problems.find((p) => p.file.endsWith('events.out.tfevents.2.host.1.0'));
  assert.ok(folder, 'the folder is named');
  assert.equal(folder.message, 'is a folder, not an event file: not read');
  const out = run('run', dir);
  assert.equal(out.code, 0, out.err);
  assert.match(out.out, /events\.out\.tfevents\.2\.host\.1\.0: the path: is a folder/);
  assert.doesNotMatch(out.out, /events .*tfevents\.2/, 'not listed as an event file read');
});

/** Runs `code` (an ES module body) in a child Node and returns what it printed as JSON. */
function child(code: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
}

test('trainer logs in bounded memory: a 58 MB trainer_state.json of 300,000 rows with NaN peaks at a small multiple of plain JSON.parse of it; a 50 MB log line is read', () => {
  const dir = tmp('big-state');
  const rows: string[] = [];
  for (let i = 1; i <= 300_000; i++) rows.push(`{"epoch": ${(i / 300_000).toFixed(6)}, "grad_norm": ${i % 97 === 0 ? 'NaN' : (1 + (i % 13) / 7).toFixed(6)}, "learning_rate": 5e-07, "loss": ${(0.7 - i * 1e-6).toFixed(6)}, "rewards/margins": ${(i * 1e-5).toFixed(6)}, "rewards/chosen": ${(i * 2e-6).toFixed(6)}, "rewards/rejected": ${(-i * 2e-6).toFixed(6)}, "logps/chosen": -${(100 + (i % 50)).toFixed(4)}, "step": ${i}}`);
  const text = `{"global_step": 300000, "log_history": [\n${rows.join(',\n')}\n]}`;
  writeFileSync(join(dir, 'trainer_state.json'), text);
  const mb = Buffer.byteLength(text) / 2 ** 20;
  assert.ok(mb > 50, `${mb} MB`);
  const runs = JSON.stringify(join(repoRoot, 'out', 'src', 'core', 'runs', 'runs.js'));
  const file = JSON.stringify(join(dir, 'trainer_state.json'));
  const ours = child(`import { createRequire } from 'node:module'; const { parseRun } = createRequire(import.meta.url)(${runs}); const r = parseRun(${JSON.stringify(dir)}); console.log(JSON.stringify({ n: r.series.loss.length, nan: r.series.grad_norm.filter(([, v]) => Number.isNaN(v)).length, rss: process.resourceUsage().maxRSS / 1024 }));`);
  const plain = child(`import { readFileSync } from 'node:fs'; const t = readFileSync(${file}, 'utf8').replaceAll('NaN', 'null'); const v = JSON.parse(t); console.log(JSON.stringify({ n: v.log_history.length, rss: process.resourceUsage().maxRSS / 1024 }));`);
  assert.equal(ours.n, 300_000);
  assert.equal(ours.nan, Math.floor(300_000 / 97));
  // the old reader peaked at 2.56 GB (about 14 times plain JSON.parse)
  assert.ok(ours.rss < 3 * plain.rss, `peak RSS ${ours.rss.toFixed(0)} MB against ${plain.rss.toFixed(0)} MB for JSON.parse`);
  // LLaMA-Factory's log with one line of 50 MB (a NaN in it)
  const logDir = tmp('big-line');
  writeFileSync(join(logDir, 'trainer_log.jsonl'), `{"current_steps": 1, "loss": 0.5}\n{"current_steps": 2, "loss": NaN, "note": "${'x'.repeat(50 * 2 ** 20)}"}\n{"current_steps": 3, "loss": 0.3}\n`);
  const r = parseRun(logDir);
  assert.deepEqual(r.series.loss.map(([s]) => s), [1, 2, 3]);
  assert.ok(Number.isNaN(r.series.loss[1][1]));
});

/** Runs the CLI in a child that prints its peak RSS (MB) on stderr when it exits (a preloaded hook). */
function runMeasured(...args: string[]): { code: number | null; out: string; err: string; rssMb: number } {
  const hook = join(tmp('rss'), 'rss.cjs');
  writeFileSync(hook, "process.on('exit', () => process.stderr.write('\\nPEAK_RSS ' + process.resourceUsage().maxRSS / 1024 + '\\n'));\n");
  const r = spawnSync(process.execPath, ['--require', hook, cli, ...args], { encoding: 'utf8', env: { ...process.env, PREFLENS_CACHE_DIR: tmp('cache') } });
  const rss = Number(/PEAK_RSS ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  return { code: r.status, out: r.stdout, err: r.stderr, rssMb: rss };
}

test('a record over the 64 MiB limit is an error naming its line, streamed past (never held): JSON Lines (stats, score, export), a JSON array element, a JSON file of one object', () => {
  const dir = tmp('huge');
  const big = 'x'.repeat(MAX_RECORD_BYTES + 1024);
  const file = join(dir, 'big.jsonl');
  const line2 = JSON.stringify({ prompt: 'p2', chosen: big, rejected: 'b' });
  const size = line2.length.toLocaleString('en-US');
  writeFileSync(file, [JSON.stringify({ prompt: 'p1', chosen: 'a', rejected: 'b' }), line2, JSON.stringify({ prompt: 'p3', chosen: 'c', rejected: 'd' })].join('\n') + '\n');
  const limit = new RegExp(`line 2  a record of ${size} bytes, over PrefLens' limit of 67,108,864 bytes \\(64 MiB\\) for one record: not read`);
  for (const workers of ['1', '2']) {
    const st = runMeasured('stats', file, '--workers', workers);
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, /records {2}2 {3}errors 1/);
    assert.match(st.out, limit);
    // the line is never held: no more than a few times the limit (the kernel's input area grows to it once)
    assert.ok(st.rssMb < 400, `stats peaked at ${st.rssMb} MB`);
  }
  const sc = run('score', file, '--policy', join(repoRoot, 'test', 'fixtures', 'tiny-gpt2'), '--no-cache');
  assert.equal(sc.code, 0, sc.err);
  assert.match(sc.err, new RegExp(`big\\.jsonl: line 2: a record of ${size} bytes, over PrefLens' limit .* \\(skipped\\)`));
  assert.deepEqual(sc.out.trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line), [1, 3]);
  const out = join(dir, 'out.jsonl');
  const ex = run('export', file, '--out', out);
  assert.equal(ex.code, 0, ex.err);
  assert.match(ex.err, /wrote 2 records .* 1 unreadable lines not exported/);
  assert.equal(readFileSync(out, 'utf8').split('\n').filter(Boolean).length, 2);
  // a JSON array element, and a .json file holding one object
  const arr = join(dir, 'big.json');
  writeFileSync(arr, `[${JSON.stringify({ prompt: 'p1', chosen: 'a', rejected: 'b' })},\n${JSON.stringify({ prompt: 'p2', chosen: big, rejected: 'b' })},\n${JSON.stringify({ prompt: 'p3', chosen: 'c', rejected: 'd' })}]`);
  const sa = run('stats', arr);
  assert.match(sa.out, /records {2}2 {3}errors 1/);
  assert.match(sa.out, new RegExp(`line 2  a record of ${size} bytes, over PrefLens' limit`));
  const one = join(dir, 'one.json');
  writeFileSync(one, JSON.stringify({ prompt: 'p', chosen: big, rejected: 'b' }));
  const so = run('stats', one);
  assert.match(so.out + so.err, /over PrefLens' limit of 67,108,864 bytes/);
  assert.doesNotMatch(so.err, /internal error/);
});

test('bounded tokenization: a response of 1.5 M characters is tokenized only as far as the convention keeps it, with the ids of the whole tokenization; where the convention keeps its end the record is reported, not tokenized whole', () => {
  const tok = ModelTokenizer.load(join(repoRoot, 'test', 'fixtures', 'tiny-gpt2'));
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat,', 'naïve', '日本語', '🙂', '  spaced', 'end.\n'];
  let text = '';
  for (let n = 0; text.length < MAX_TOKENIZE_CHARS * 1.5; n++) text += words[(n * 7) % words.length] + ' ';
  const rec = { index: 0, line: 4, offset: 0, format: 'trl-standard' as const, kind: 'pair' as const, prompt: 'Tell me a story.', candidates: [{ role: 'chosen' as const, text, field: 'chosen' }, { role: 'rejected' as const, text: ' no', field: 'rejected' }] };
  const whole = tok.hf.tokenizer.encode(rec.prompt + text + (tok.eosToken ?? ''), { add_special_tokens: true }).ids;
  const trl = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 512, truncationMode: 'keep_start' });
  const r = trl.responses[0];
  assert.equal(trl.skipped, undefined);
  assert.deepEqual([...r.promptIds, ...r.ids], whole.slice(0, 512), 'the first max_length ids of the whole tokenization');
  assert.ok(r.truncated);
  // offsets still point into the response
  assert.equal(text.slice(r.starts[0], r.ends[0]), r.pieces[0]);
  const legacy = tok.encodeRecord(rec, { convention: 'trl-legacy', maxPromptLength: 128, maxCompletionLength: 200, maxLength: 1024, truncationMode: 'keep_end' });
  assert.deepEqual(legacy.responses[0].ids, tok.hf.tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, 200));
  const keepEnd = tok.encodeRecord(rec, { convention: 'trl-legacy', maxPromptLength: 128, maxCompletionLength: null, maxLength: 1024, truncationMode: 'keep_end' });
  assert.match(keepEnd.skipped ?? '', /the chosen is 1,57\d,\d{3} characters, over PrefLens' limit of 1,048,576 for tokenizing a text whole \(the convention keeps its end/);
  // a prompt that alone fills max_length: dropped as TRL drops it, tokenized only that far
  const longPrompt = tok.encodeRecord({ ...rec, prompt: text, candidates: [{ role: 'chosen', text: ' a', field: 'chosen' }, { role: 'rejected', text: ' b', field: 'rejected' }] }, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 512, truncationMode: 'keep_start' });
  assert.match(longPrompt.skipped ?? '', /the prompt alone is over 512 tokens, max_length is 512: TRL drops this record/);
});

test('chat templates are bounded: a loop of 10⁸ steps, range(10⁹), a string doubled 40 times and a record of 10⁶ messages each make their record an error, in seconds', () => {
  const dir = tmp('tpl');
  writeTokenizer(dir);
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  const withTemplate = (template: string): ModelTokenizer => {
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: template }));
    return ModelTokenizer.load(dir);
  };
  const conv = (n: number): PreferenceRecord => ({
    index: 0,
    line: 9,
    offset: 0,
    format: 'trl-conversational',
    kind: 'pair',
    prompt: 'q',
    promptMessages: Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` })),
    candidates: [
      { role: 'chosen', text: 'a', field: 'chosen', messages: [{ role: 'assistant', content: 'a' }] },
      { role: 'rejected', text: 'b', field: 'rejected', messages: [{ role: 'assistant', content: 'b' }] },
    ],
  });
  const limits = { convention: 'trl' as const, maxPromptLength: null, maxCompletionLength: null, maxLength: 1024 };
  const t0 = Date.now();
  const loop = withTemplate('{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}').encodeRecord(conv(1), limits);
  assert.match(loop.skipped ?? '', /the chat template cannot render this record: the chat template took more than 1,000,000 steps/);
  const range = withTemplate('{% for i in range(1000000000) %}x{% endfor %}').encodeRecord(conv(1), limits);
  assert.match(range.skipped ?? '', /range\(\) of 1000000000 numbers is over PrefLens' limit of 100000/);
  const doubling = withTemplate("{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}").encodeRecord(conv(1), limits);
  assert.match(doubling.skipped ?? '', /the chat template made a text of [\d,]+ characters, over PrefLens' limit of 134,217,728: stopped/);
  const plain = withTemplate("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}");
  assert.equal(plain.encodeRecord(conv(3), limits).skipped, undefined);
  const many = plain.encodeRecord(conv(1_000_000), limits);
  assert.match(many.skipped ?? '', /took more than 1,000,000 steps to render this record/);
  assert.ok(Date.now() - t0 < 60_000, `${Date.now() - t0} ms`);
});

test('SPINAL: NaN hidden states are an error naming the layer, the token and the line (not "did not converge")', async () => {
  const dir = tmp('spinal-nan');
  writeCheckpoint(dir, llama, 'F32', 1, 7);
  const f = join(dir, 'model.safetensors');
  const { header, data } = readSafetensorsRaw(f);
  const at = (header['model.layers.1.mlp.down_proj.weight'] as { data_offsets: number[] }).data_offsets[0];
  for (let i = 0; i < 64; i++) data.writeFloatLE(NaN, at + 4 * i);
  writeSafetensorsRaw(f, header, data);
  const rec = (line: number): PreferenceRecord => ({ index: 0, line, offset: 0, format: 'trl-standard', kind: 'pair', prompt: 'Hi there', candidates: [{ role: 'chosen', text: ' yes indeed', field: 'chosen' }, { role: 'rejected', text: ' no', field: 'rejected' }] });
  await assert.rejects(
    spinalTrace(dir, [rec(3), rec(5)], { provider: 'cpu', cacheDir: tmp('cache'), convention: 'trl-legacy', maxPromptLength: null, maxCompletionLength: null }),
    (e: Error) => {
      assert.ok(e instanceof HiddenStateError, String(e));
      assert.match(e.message, /the hidden state at layer 2 is NaN \(dimension \d+\) at token 1 of a response on line 3/);
      return true;
    },
  );
});

test('an --out that is a folder is refused before any work, and no temporary file is left', () => {
  const dir = tmp('outdir');
  const target = join(dir, 'here');
  mkdirSync(target);
  const data = join(repoRoot, 'test', 'fixtures', 'trl-standard.jsonl');
  for (const args of [['export', data, '--out', target], ['score', data, '--policy', join(repoRoot, 'test', 'fixtures', 'tiny-gpt2'), '--out', target]]) {
    const r = run(...args);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /--out .*here is a folder: give the name of a new file/);
  }
  const missing = run('export', data, '--out', join(dir, 'no', 'such', 'x.jsonl'));
  assert.match(missing.err, /the folder .*no\/such does not exist/);
  assert.deepEqual(readdirSync(dir), ['here'], 'nothing left beside it');
});

test('Parquet: footers that lie are clear errors naming the file; all-null chosen/rejected are errors per row (not prompt-only data); an unreadable column is read around and named; a damaged row group counts all its rows and never stops export or score', async () => {
  const dir = tmp('pq');
  const rows = (n: number): string => `SELECT 'p' || i AS prompt, 'a' || i AS chosen, 'b' || i AS rejected FROM range(${n}) t(i)`;
  const lie = async (name: string, edit: Parameters<typeof editFooter>[1], patch?: Parameters<typeof editFooter>[2]): Promise<string> => {
    const f = join(dir, name);
    await writeParquet(f, rows(10));
    await editFooter(f, edit, patch);
    return f;
  };
  const cases: Array<[string, RegExp]> = [
    [await lie('rows.parquet', (md) => { md.num_rows = 2n ** 40n; md.row_groups[0].num_rows = 2n ** 40n; }), /the footer is inconsistent: row group 1 says 1,099,511,627,776 rows, its columns hold at most 10 values/],
    [await lie('total.parquet', (md) => { md.num_rows = 2n ** 40n; }), /the footer is inconsistent: it says 1,099,511,627,776 rows, its row groups hold 10/],
    [await lie('more-children.parquet', () => undefined, rootChildren(7)), /the footer is inconsistent: the schema's num_children announce more elements than its 4/],
    [await lie('fewer-children.parquet', () => undefined, rootChildren(2)), /the footer is inconsistent: the schema's root announces 2 columns, which take 2 of its 3 elements/],
  ];
  for (const [f, message] of cases)
    for (const cmd of [['stats', f], ['export', f, '--out', join(dir, 'x.jsonl')]]) {
      const r = run(...cmd);
      assert.equal(r.code, 1, `${cmd.join(' ')}: ${r.err}`);
      assert.match(r.err, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${message.source}`));
    }
  // chosen and rejected all null: the columns say pairs
  const nulls = join(dir, 'nulls.parquet');
  await writeParquet(nulls, `SELECT 'p' || i AS prompt, NULL::VARCHAR AS chosen, NULL::VARCHAR AS rejected FROM range(5) t(i)`);
  const n = run('stats', nulls, '--json');
  const nj = JSON.parse(n.out) as { format: string; records: number; errorCount: number; errors: Array<{ line: number; message: string }> };
  assert.equal(nj.format, 'trl-standard');
  assert.equal(nj.records, 0);
  assert.equal(nj.errorCount, 5);
  assert.deepEqual(nj.errors.map((e) => e.message), Array(5).fill('field "chosen": missing'));
  // an INTERVAL column no reader here decodes: the rows are read without it, and it is named
  const interval = join(dir, 'interval.parquet');
  await writeParquet(interval, `SELECT 'p' || i AS prompt, 'a' || i AS chosen, 'b' AS rejected, INTERVAL 3 DAY AS took FROM range(10) t(i)`);
  const iv = run('stats', interval);
  assert.equal(iv.code, 0, iv.err);
  assert.match(iv.out, /records {2}10 {3}errors 0/);
  assert.match(iv.out, /file {2}.*interval\.parquet: column took \(FIXED_LEN_BYTE_ARRAY\) cannot be read \(parquet interval not supported\): left out of every row/);
  const ivOut = join(dir, 'interval.jsonl');
  const ie = run('export', interval, '--out', ivOut);
  assert.match(ie.err, /wrote 10 records/);
  assert.match(ie.err, /warning: .*column took/);
  // the first row group (2,048 rows) in a compression nobody decodes: 2,048 unreadable rows, the other 7,952 exported and scored
  const lzo = join(dir, 'lzo.parquet');
  await writeParquet(lzo, rows(10000), 'COMPRESSION uncompressed, ROW_GROUP_SIZE 2048');
  assert.equal(markLzo(lzo, 3), 3);
  const ls = run('stats', lzo, '--json');
  const lj = JSON.parse(ls.out) as { records: number; errorCount: number; errors: Array<{ line: number; rows?: number }> };
  assert.equal(lj.records, 7952);
  assert.equal(lj.errorCount, 2048);
  assert.deepEqual(lj.errors.map((e) => [e.line, e.rows]), [[1, 2048]]);
  assert.match(run('stats', lzo).out, /rows 1–2048 {2}.*row group 1, column prompt: compression LZO is not supported/);
  const lzoOut = join(dir, 'lzo.jsonl');
  const le = run('export', lzo, '--out', lzoOut);
  assert.equal(le.code, 0, le.err);
  assert.match(le.err, /wrote 7952 records .* 2048 unreadable rows not exported/);
  const exported = readFileSync(lzoOut, 'utf8').trim().split('\n');
  assert.equal(exported.length, 7952);
  assert.deepEqual(JSON.parse(exported[0]), { prompt: 'p2048', chosen: 'a2048', rejected: 'b2048' });
  const sc = run('score', lzo, '--policy', join(repoRoot, 'test', 'fixtures', 'tiny-gpt2'), '--lines', '2047-2050', '--no-cache');
  assert.equal(sc.code, 0, sc.err);
  assert.match(sc.err, /rows 2047–2048: .*compression LZO is not supported .*\(skipped\)/);
  assert.deepEqual(sc.out.trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line), [2049, 2050]);
});
