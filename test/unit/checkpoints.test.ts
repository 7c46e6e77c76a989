/**
 * Checkpoints opened without ONNX (src/core/engine/build.ts): for every supported family, a random checkpoint
 * written by test/checkpoint.ts is scored through the built graph and compared with the float64 reference written
 * from transformers' modeling code; LoRA adapters (rsLoRA too) against the merged reference; the hub cache; and
 * every kind of bad input named in issue #12.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ScoringModel } from '../../src/core/engine/model.js';
import { runJobs } from '../../src/core/engine/scorer.js';
import { openModelFolder } from '../../src/core/engine/folder.js';
import { locateModel } from '../../src/core/hub.js';
import { invFreq } from '../../src/core/engine/build.js';
import { archOf } from '../../src/core/engine/families/index.js';
import { ConfigJson } from '../../src/core/engine/config.js';
import { dropTensor, referenceLogps, writeCheckpoint, writeSafetensors, type Lora } from '../checkpoint.js';
import { rng } from '../gpt2.js';

const base = { vocab_size: 260, hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, intermediate_size: 48, num_hidden_layers: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, eos_token_id: 256, bos_token_id: 256 };

const FAMILIES: Array<{ name: string; cfg: Record<string, unknown>; dtype: 'F32' | 'F16' | 'BF16'; shards: number }> = [
  { name: 'llama (llama3 rope scaling, bf16, 2 shards)', dtype: 'BF16', shards: 2, cfg: { ...base, model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_act: 'silu', rope_theta: 10000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, tie_word_embeddings: false } },
  { name: 'llama (linear rope scaling, tied)', dtype: 'F32', shards: 1, cfg: { ...base, model_type: 'llama', rope_theta: 500, rope_scaling: { type: 'linear', factor: 2 }, tie_word_embeddings: true } },
  { name: 'mistral (sliding window 4)', dtype: 'F32', shards: 1, cfg: { ...base, model_type: 'mistral', rope_theta: 1e6, sliding_window: 4, tie_word_embeddings: false } },
  { name: 'qwen2 (q/k/v biases, f16)', dtype: 'F16', shards: 1, cfg: { ...base, model_type: 'qwen2', rope_theta: 1e6, tie_word_embeddings: true, use_sliding_window: false } },
  { name: 'qwen3 (q_norm/k_norm)', dtype: 'F32', shards: 3, cfg: { ...base, model_type: 'qwen3', rope_theta: 1e6, tie_word_embeddings: false } },
  { name: 'gemma2 (soft-capping, sliding layers, query_pre_attn_scalar)', dtype: 'BF16', shards: 1, cfg: { ...base, model_type: 'gemma2', hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 16, attn_logit_softcapping: 2.0, final_logit_softcapping: 3.0, sliding_window: 3, rope_theta: 10000, tie_word_embeddings: true } },
  { name: 'gemma3_text (local/global rope, q/k norms, linear scaling)', dtype: 'F32', shards: 1, cfg: { ...base, model_type: 'gemma3_text', hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 8, sliding_window: 3, sliding_window_pattern: 2, rope_theta: 1e6, rope_local_base_freq: 100, rope_scaling: { rope_type: 'linear', factor: 2 }, tie_word_embeddings: true } },
  { name: 'phi3 (fused qkv/gate_up, partial rotary)', dtype: 'F32', shards: 1, cfg: { ...base, model_type: 'phi3', rope_theta: 10000, partial_rotary_factor: 0.5, sliding_window: 5, tie_word_embeddings: false } },
  { name: 'gpt2', dtype: 'F32', shards: 1, cfg: { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 260, n_embd: 32, n_head: 4, n_layer: 2, n_positions: 64, layer_norm_epsilon: 1e-5, eos_token_id: 256 } },
];

function sequences(n: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: 9 + i * 3 }, () => Math.floor(Math.abs(r() * 1000)) % 257));
}

async function scoreIds(m: ScoringModel, seqs: number[][]): Promise<number[][]> {
  const stats = await runJobs(m, seqs.map((ids) => ({ ids, respStart: 1 })), { tokenBudget: 64 });
  return stats.map((s) => Array.from(s.logp));
}

for (const fam of FAMILIES) {
  test(`built graph = float64 transformers reference: ${fam.name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'preflens-ckpt-'));
    const w = writeCheckpoint(dir, fam.cfg, fam.dtype, fam.shards, 7);
    const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
    const m = await ScoringModel.load(dir, { provider: 'cpu', cacheDir });
    assert.equal(m.kind, 'checkpoint');
    assert.match(m.description, new RegExp(`${fam.dtype}, ${fam.shards} ${fam.shards === 1 ? 'file' : 'shards'}`));
    const seqs = sequences(3, 3);
    const got = await scoreIds(m, seqs);
    let max = 0;
    seqs.forEach((ids, i) => {
      const ref = referenceLogps(fam.cfg, w, ids);
      assert.equal(got[i].length, ref.length);
      ref.forEach((x, t) => (max = Math.max(max, Math.abs(x - got[i][t]))));
    });
    console.log(`${fam.name}: max |Δ logp| vs float64 reference ${max.toExponential(2)}`);
    assert.ok(max < 2e-5, `max |Δ| ${max}`);
    // The built graph is cached: a second load reuses it and gives the same numbers.
    const again = await ScoringModel.load(dir, { provider: 'cpu', cacheDir });
    assert.deepEqual(await scoreIds(again, seqs), got);
  });
}

function writeAdapter(dir: string, baseRef: string, cfg: Record<string, unknown>, targets: string[], r: number, alpha: number, rslora: boolean, extra: Record<string, unknown> = {}): Lora {
  mkdirSync(dir, { recursive: true });
  const D = Number(cfg.hidden_size);
  const H = Number(cfg.num_attention_heads);
  const K = Number(cfg.num_key_value_heads);
  const hd = Number(cfg.head_dim);
  const I = Number(cfg.intermediate_size);
  const dims: Record<string, [number, number]> = { q_proj: [D, H * hd], k_proj: [D, K * hd], v_proj: [D, K * hd], o_proj: [H * hd, D], gate_proj: [D, I], up_proj: [D, I], down_proj: [I, D] };
  const rr = rng(11);
  const tensors = [];
  for (let l = 0; l < Number(cfg.num_hidden_layers); l++)
    for (const t of targets) {
      const mod = `model.layers.${l}.${['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn'}.${t}`;
      const [inD, outD] = dims[t];
      const A = Float32Array.from({ length: r * inD }, () => 0.2 * rr());
      const B = Float32Array.from({ length: outD * r }, () => 0.2 * rr());
      tensors.push({ name: `base_model.model.${mod}.lora_A.weight`, shape: [r, inD], data: A }, { name: `base_model.model.${mod}.lora_B.weight`, shape: [outD, r], data: B });
    }
  const stored = writeSafetensors(dir, tensors, 'F32', 1, 'adapter_model');
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ base_model_name_or_path: baseRef, peft_type: 'LORA', task_type: 'CAUSAL_LM', r, lora_alpha: alpha, target_modules: targets, use_rslora: rslora, bias: 'none', modules_to_save: null, ...extra }));
  const weights = new Map<string, [Float64Array, Float64Array]>();
  for (const [name, v] of stored) {
    const m = /^base_model\.model\.(.*)\.lora_A\.weight$/.exec(name);
    if (m) weights.set(m[1], [v, stored.get(name.replace('lora_A', 'lora_B')) as Float64Array]);
  }
  return { r, alpha, rslora, weights };
}

test('LoRA adapter: policy = base + (α/√r)·B·A (rsLoRA), reference = its base in the same session; base found by a relative folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'preflens-lora-'));
  const cfg = FAMILIES[0].cfg;
  const w = writeCheckpoint(join(root, 'base'), cfg, 'BF16', 2, 5);
  const lora = writeAdapter(join(root, 'adapter'), '../base', cfg, ['q_proj', 'v_proj', 'down_proj'], 4, 8, true);
  const m = await ScoringModel.load(join(root, 'adapter'), { provider: 'cpu', cacheDir: join(root, 'cache') });
  assert.equal(m.kind, 'adapter');
  assert.match(m.description, /LoRA adapter \(r 4, α 8, rsLoRA; targets q_proj, v_proj, down_proj\) on base \.\.\/base/);
  const ref = m.baseOf();
  assert.ok(ref && ref.session === m.session, 'the reference shares the adapter session');
  assert.notEqual(ref.contentHash, m.contentHash);
  const seqs = sequences(2, 9);
  const pol = await scoreIds(m, seqs);
  const bas = await scoreIds(ref, seqs);
  let maxP = 0;
  let maxB = 0;
  let moved = 0;
  seqs.forEach((ids, i) => {
    const rp = referenceLogps(cfg, w, ids, lora);
    const rb = referenceLogps(cfg, w, ids);
    rp.forEach((x, t) => (maxP = Math.max(maxP, Math.abs(x - pol[i][t]))));
    rb.forEach((x, t) => (maxB = Math.max(maxB, Math.abs(x - bas[i][t]))));
    rp.forEach((x, t) => (moved = Math.max(moved, Math.abs(x - rb[t]))));
  });
  assert.ok(moved > 1e-2, 'the adapter changes the numbers');
  assert.ok(maxP < 2e-5 && maxB < 2e-5, `policy ${maxP}, base ${maxB}`);
});

test('hub cache: an id resolves through $HF_HUB_CACHE, else $HF_HOME/hub, following symlinks and text pointers into blobs/', () => {
  const root = mkdtempSync(join(tmpdir(), 'preflens-hub-'));
  const repo = join(root, 'hub', 'models--org--tiny');
  mkdirSync(join(repo, 'refs'), { recursive: true });
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  const snap = join(repo, 'snapshots', 'abc123');
  mkdirSync(snap, { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), 'abc123');
  const src = join(root, 'src');
  writeCheckpoint(src, FAMILIES[3].cfg, 'F16', 1, 2);
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  files.forEach((f, i) => {
    const blob = String(i).repeat(64);
    writeFileSync(join(repo, 'blobs', blob), readFileSync(join(src, f)));
    if (i % 2) symlinkSync(`../../blobs/${blob}`, join(snap, f));
    else writeFileSync(join(snap, f), `../../blobs/${blob}`); // a checkout without symlinks
  });
  const viaHome = locateModel('org/tiny', undefined, { HF_HOME: root });
  assert.equal(viaHome.dir, snap);
  assert.match(viaHome.foundIn, /\$HF_HOME\/hub/);
  assert.equal(locateModel('org/tiny', undefined, { HF_HUB_CACHE: join(root, 'hub') }).dir, snap);
  const prev = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = join(root, 'hub');
  try {
    const f = openModelFolder('org/tiny');
    assert.equal(f.kind, 'checkpoint');
    assert.equal(f.ckpt?.files.length, 1);
    assert.match(f.ckpt?.files[0] ?? '', /blobs\/1{64}$/);
  } finally {
    if (prev === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = prev;
  }
  assert.throws(() => locateModel('org/missing', undefined, { HF_HUB_CACHE: join(root, 'hub'), HF_HOME: root }), (e: Error) => {
    assert.match(e.message, /cannot find the model "org\/missing"/);
    assert.match(e.message, /\$HF_HUB_CACHE/);
    assert.match(e.message, /\$HF_HOME\/hub/);
    assert.match(e.message, /~\/\.cache\/huggingface\/hub/);
    return true;
  });
});

test('rotary frequencies follow transformers (llama3 keeps high frequencies, divides low ones by the factor)', () => {
  const r = { kind: 'llama3' as const, theta: 500000, factor: 8, low: 1, high: 4, original: 8192 };
  const inv = invFreq(r, 128);
  const plain = invFreq({ ...r, kind: 'default' }, 128);
  assert.equal(inv[0], plain[0]);
  assert.ok(Math.abs(inv[63] - plain[63] / 8) < 1e-12 * plain[63] + 1e-20);
  assert.ok(inv[31] < plain[31] && inv[31] > plain[31] / 8, "the medium band is smoothed");
});

async function loadError(dir: string): Promise<string> {
  try {
    await ScoringModel.load(dir, { provider: 'cpu', cacheDir: mkdtempSync(join(tmpdir(), 'preflens-cache-')) });
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return 'loaded';
}

test('bad checkpoints are clear errors naming the file and tensor', async () => {
  const root = mkdtempSync(join(tmpdir(), 'preflens-bad-'));
  const cfg = FAMILIES[2].cfg;
  const fresh = (name: string, shards = 1): string => {
    const d = join(root, name);
    writeCheckpoint(d, cfg, 'F32', shards, 3);
    return d;
  };
  // truncated file
  let d = fresh('truncated');
  const st = join(d, 'model.safetensors');
  truncateSync(st, statSync(st).size - 100);
  assert.match(await loadError(d), /model\.safetensors: tensor ".*" points past the end of the file .*truncated/);
  // header length past the end
  d = fresh('hdrlen');
  const b = readFileSync(join(d, 'model.safetensors'));
  b.writeBigUInt64LE(10n ** 12n, 0);
  writeFileSync(join(d, 'model.safetensors'), b);
  assert.match(await loadError(d), /header length .* points past the end/);
  // header not JSON
  d = fresh('notjson');
  const b2 = readFileSync(join(d, 'model.safetensors'));
  b2.write('#', 8);
  writeFileSync(join(d, 'model.safetensors'), b2);
  assert.match(await loadError(d), /model\.safetensors: the safetensors header is not JSON/);
  // unsupported dtype
  d = join(root, 'f8');
  mkdirSync(d);
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
  const hj = Buffer.from(JSON.stringify({ 'model.embed_tokens.weight': { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hj.length));
  writeFileSync(join(d, 'model.safetensors'), Buffer.concat([len, hj, Buffer.alloc(2)]));
  assert.match(await loadError(d), /tensor "model\.embed_tokens\.weight" has dtype F8_E4M3/);
  // a tensor missing, and one shaped unlike config.json
  d = fresh('shape');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 40 }));
  assert.match(await loadError(d), /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[48, 32\], but config\.json implies \[40, 32\]/);
  d = fresh('missing');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
  assert.match(await loadError(d), /config\.json: the config says 3 layers, but the checkpoint's weights hold 2/);
  // a tensor a layer needs, missing
  d = fresh('missing-tensor');
  dropTensor(join(d, 'model.safetensors'), 'model.layers.1.input_layernorm.weight');
  assert.match(await loadError(d), /tensor "model\.layers\.1\.input_layernorm\.weight" is missing/);
  // an index naming a missing shard
  d = fresh('shards', 2);
  const idx = JSON.parse(readFileSync(join(d, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  idx.weight_map['model.norm.weight'] = 'model-00003-of-00003.safetensors';
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(idx));
  assert.match(await loadError(d), /model\.safetensors\.index\.json names the shard model-00003-of-00003\.safetensors, which is not in/);
  // unknown model_type
  d = fresh('unknown');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mamba' }));
  assert.match(await loadError(d), /model_type "mamba" is not supported; PrefLens builds graphs for llama, mistral, qwen2/);
  // adapters: a target module the base does not have; a base that cannot be found; DoRA
  const good = fresh('base');
  const ad = join(root, 'ad1');
  writeAdapter(ad, good, cfg, ['q_proj'], 2, 4, false);
  const at = readFileSync(join(ad, 'adapter_model.safetensors'));
  writeFileSync(join(ad, 'adapter_model.safetensors'), Buffer.from(at.toString('latin1').replaceAll('self_attn.q_proj', 'self_attn.x_proj'), 'latin1'));
  writeFileSync(join(ad, 'adapter_config.json'), JSON.stringify({ base_model_name_or_path: good, peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['x_proj'] }));
  assert.match(await loadError(ad), /adapter_model\.safetensors: the adapter has weights for module model\.layers\.0\.self_attn\.x_proj, which the base model/);
  const ad2 = join(root, 'ad2');
  writeAdapter(ad2, 'nobody/nothing', cfg, ['q_proj'], 2, 4, false);
  assert.match(await loadError(ad2), /adapter_config\.json: the base model: cannot find the model "nobody\/nothing".*Searched/s);
  const ad3 = join(root, 'ad3');
  writeAdapter(ad3, good, cfg, ['q_proj'], 2, 4, false, { use_dora: true });
  assert.match(await loadError(ad3), /DoRA adapters \(use_dora\) are not supported/);
  // a folder that is no model
  const empty = join(root, 'empty');
  mkdirSync(empty);
  assert.match(await loadError(empty), /not a model folder/);
  assert.equal(archOf(new ConfigJson({ ...cfg }, 'x')).family, 'mistral');
});

test('the float16 graph (the CUDA one) is well-typed and agrees with the float32 graph: run here on the CPU', async () => {
  const { buildGraph } = await import('../../src/core/engine/build.js');
  const { addScoringOutputs } = await import('../../src/core/engine/graph.js');
  const { encodeModel } = await import('../../src/core/engine/onnx.js');
  const ort = await import('onnxruntime-node');
  for (const fam of [FAMILIES[0], FAMILIES[5], FAMILIES[7], FAMILIES[8]]) {
    const dir = mkdtempSync(join(tmpdir(), 'preflens-f16-'));
    writeCheckpoint(dir, fam.cfg, fam.dtype, fam.shards, 4);
    const f = openModelFolder(dir);
    const ids = sequences(1, 5)[0];
    const out: number[][] = [];
    for (const precision of ['float32', 'float16'] as const) {
      const g = buildGraph(f.arch as NonNullable<typeof f.arch>, f.ckpt as NonNullable<typeof f.ckpt>, { precision });
      const s = await ort.InferenceSession.create(addScoringOutputs(encodeModel(g.model), 10), { extra: { session: { model_external_initializers_file_folder_path: g.folder } } });
      const T = ids.length;
      const t = (a: number[]): InstanceType<typeof ort.Tensor> => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), [1, T]);
      const r = await s.run({ input_ids: t(ids), position_ids: t(ids.map((_, i) => i)), pl_targets: t([...ids.slice(1), 0]) });
      out.push(Array.from(r.pl_logp.data as Float32Array).slice(0, T - 1));
    }
    const max = Math.max(...out[0].map((x, i) => Math.abs(x - out[1][i])));
    assert.ok(max < 0.05, `${fam.name}: float16 vs float32 max |Δ logp| ${max}`);
  }
});

test('chat templates: chat_template.jinja (current transformers layout) wins over tokenizer_config.json; a list of named templates uses "default"', async () => {
  const { ModelTokenizer } = await import('../../src/core/tokenize/encoder.js');
  const { writeTokenizer } = await import('../checkpoint.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-tpl-'));
  writeTokenizer(dir);
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  const msgs = [{ role: 'user', content: 'hi' }];
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}' }] }));
  assert.equal(ModelTokenizer.load(dir).renderChat(msgs, 'full'), '<user>hi');
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: '[{{ messages[0].content }}]' }));
  const fromConfig = ModelTokenizer.load(dir);
  assert.equal(fromConfig.renderChat(msgs, 'full'), '[hi]');
  writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}|{{ m.content }}|{% endfor %}{% if add_generation_prompt %}A:{% endif %}');
  const fromFile = ModelTokenizer.load(dir);
  assert.equal(fromFile.renderChat(msgs, 'generation'), '|hi|A:');
  assert.notEqual(fromFile.hash, fromConfig.hash, 'the template is part of the tokenizer hash');
});

test('a model family is one descriptor: a family registered at run time is read, built and scored with no other edit', async () => {
  const { registerFamily, familyNames } = await import('../../src/core/engine/families/index.js');
  const { decoderArch } = await import('../../src/core/engine/families/decoder.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-family-'));
  const cfg = FAMILIES[0].cfg;
  const w = writeCheckpoint(dir, cfg, 'F32', 1, 9);
  // the same weights under a model_type PrefLens does not know
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'my_llama_test' }));
  const cacheDir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  await assert.rejects(ScoringModel.load(dir, { provider: 'cpu', cacheDir }), /model_type "my_llama_test" is not supported; PrefLens builds graphs for llama, mistral/);
  registerFamily({ modelTypes: ['my_llama_test'], description: 'a test family (Llama layout)', arch: (c) => decoderArch(c, 'my_llama_test') });
  assert.ok(familyNames().includes('my_llama_test'));
  const m = await ScoringModel.load(dir, { provider: 'cpu', cacheDir });
  assert.equal(m.folder.arch?.family, 'my_llama_test');
  const seqs = sequences(2, 4);
  const got = await scoreIds(m, seqs);
  let max = 0;
  seqs.forEach((ids, i) => referenceLogps(cfg, w, ids).forEach((x, t) => (max = Math.max(max, Math.abs(x - got[i][t])))));
  assert.ok(max < 2e-5, `max |Δ| ${max}`);
});
