/**
 * Hostile inputs to the readers (issue #24): damaged or adversarial checkpoints, adapters, configs, templates, Parquet
 * files, event files, trainer logs, rollouts and huge records — all generated here, none committed. Each must give a
 * clear message naming the file and the place, never the wrong weights, never a silent NaN, never an internal error,
 * and never unbounded memory or time; input files are never modified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ScoringModel } from '../../src/core/engine/model.js';
import { runJobs } from '../../src/core/engine/scorer.js';
import { scoreRecords } from '../../src/core/engine/score.js';
import { isFailed } from '../../src/core/contract.js';
import { readSafetensorsRaw, writeCheckpoint, writeSafetensorsRaw } from '../checkpoint.js';
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
