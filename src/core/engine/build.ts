/**
 * The ONNX graph of a transformers checkpoint, built from its config.json (docs/ARCHITECTURE.md, "Models"), for
 * the decoder families people fine-tune: llama (rope_scaling default/linear/llama3), mistral, qwen2 (q/k/v
 * biases), qwen3 (per-head q_norm/k_norm), gemma2 and gemma3 text (RMSNorm with 1 + w, embeddings × √d, GeGLU with
 * tanh GELU, pre/post feed-forward norms, query_pre_attn_scalar, attention and final logit soft-capping,
 * sliding-window layers), phi3 (fused qkv_proj and gate_up_proj, partial rotary) and gpt2. Definitions follow
 * transformers' modeling code (eager attention).
 *
 * Weights are never copied into the graph: every initializer is ONNX external data (file, offset, length) into the
 * safetensors files, read by onnxruntime from the one folder that holds them. Weights stored as bf16/f16 enter
 * through a Cast node that onnxruntime's constant folding turns into a float32 initializer at load time (float16
 * for the CUDA graph). Activations are [tokens, hidden] (batch × time flattened) so that every linear layer is one
 * Gemm with transB = 1 on the [out, in] weight as stored. RMSNorm is onnxruntime's SimplifiedLayerNormalization,
 * attention its GroupQueryAttention (measured faster than the plain ONNX form: bench/attention.mjs).
 *
 * A LoRA adapter adds, per target module, s · B(A x) at run time, s being the graph input `pl_lora_scale`: the
 * same session is the policy (s = α/r, or α/√r with rsLoRA) and its base as the reference (s = 0), so the two share
 * one copy of the base weights.
 *
 * Outputs: `logits` [batch, time, vocab] (float32) and, by name, the residual stream h_0 … h_L (`hidden.l`,
 * [batch·time, hidden]: 0 = after the embeddings, L = after the last block, before the final norm) for SPINAL.
 */
import { basename } from 'node:path';
import { DT, int64Tensor, node, onnx, valueInfo } from './onnx.js';
import { ModelError } from '../errors.js';
import { readFloat32, type Dtype, type SafetensorsCheckpoint, type TensorInfo } from './safetensors.js';

export const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gemma3', 'phi3', 'gpt2'] as const;
export type Family = (typeof FAMILIES)[number];

type Rope = { kind: 'default' | 'linear' | 'llama3'; theta: number; factor: number; low: number; high: number; original: number };

/** What the graph needs from config.json, with transformers' defaults per family. */
export interface Arch {
  family: Family;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  eps: number;
  norm: 'layernorm' | 'rmsnorm' | 'rmsnorm1p';
  act: 'silu' | 'gelu_tanh';
  tied: boolean;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  qkNorm: boolean;
  /** gemma: pre/post feed-forward norms and a post-attention norm before the residual add */
  sandwich: boolean;
  embedScale: number | null;
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** per layer: sliding window or null (full attention) */
  window: Array<number | null>;
  /** per layer: which rotary table (global, or gemma3's local one) */
  rope: Rope[];
  rotaryDim: number;
  positions: number | null;
  /** tensor-name prefix of the decoder ("model." for most, "" or "transformer." for gpt2) */
  prefix: string;
  lmHead: string;
}

const num = (c: Record<string, unknown>, k: string): number | null => (typeof c[k] === 'number' ? (c[k] as number) : null);

export function archOf(raw: Record<string, unknown>, configPath: string): Arch {
  const modelType = String(raw.model_type ?? '');
  let c = raw;
  if (modelType === 'gemma3' && typeof raw.text_config === 'object' && raw.text_config) c = { ...(raw.text_config as Record<string, unknown>), tie_word_embeddings: raw.tie_word_embeddings ?? (raw.text_config as Record<string, unknown>).tie_word_embeddings };
  if (!(FAMILIES as readonly string[]).includes(modelType))
    throw new ModelError(`${configPath}: model_type "${modelType || '(none)'}" is not supported; PrefLens builds graphs for ${FAMILIES.join(', ')} (or give an Optimum ONNX export with model.onnx)`);
  const family = modelType as Family;
  const need = (k: string, ...alts: string[]): number => {
    for (const key of [k, ...alts]) {
      const v = num(c, key);
      if (v !== null) return v;
    }
    throw new ModelError(`${configPath}: "${k}" is missing or not a number`);
  };
  if (family === 'gpt2') {
    const D = need('n_embd', 'hidden_size');
    const H = need('n_head', 'num_attention_heads');
    const act = String(c.activation_function ?? 'gelu_new');
    if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'].includes(act)) throw new ModelError(`${configPath}: activation_function "${act}" is not supported for gpt2 (gelu_new is)`);
    return {
      family, vocab: need('vocab_size'), hidden: D, layers: need('n_layer', 'num_hidden_layers'), heads: H, kvHeads: H, headDim: D / H,
      intermediate: num(c, 'n_inner') ?? 4 * D, eps: num(c, 'layer_norm_epsilon') ?? 1e-5, norm: 'layernorm', act: 'gelu_tanh', tied: true,
      qkvBias: true, oBias: true, mlpBias: true, qkNorm: false, sandwich: false, embedScale: null, attnScale: 1 / Math.sqrt(D / H),
      attnSoftcap: null, finalSoftcap: null, window: [], rope: [], rotaryDim: 0, positions: num(c, 'n_positions'), prefix: 'transformer.', lmHead: 'lm_head.weight',
    };
  }
  const D = need('hidden_size');
  const H = need('num_attention_heads');
  const L = need('num_hidden_layers');
  const headDim = num(c, 'head_dim') ?? D / H;
  const gemma = family.startsWith('gemma');
  const act = String(c.hidden_activation ?? c.hidden_act ?? (gemma ? 'gelu_pytorch_tanh' : 'silu'));
  const actKind = act === 'silu' || act === 'swish' ? 'silu' : ['gelu_pytorch_tanh', 'gelu_new', 'gelu_fast'].includes(act) ? 'gelu_tanh' : null;
  if (!actKind) throw new ModelError(`${configPath}: hidden_act "${act}" is not supported (silu and gelu_pytorch_tanh are)`);
  const ropeOf = (theta: number, scaling: unknown): Rope => {
    const r: Rope = { kind: 'default', theta, factor: 1, low: 1, high: 4, original: 8192 };
    if (!scaling || typeof scaling !== 'object') return r;
    const s = scaling as Record<string, unknown>;
    const type = String(s.rope_type ?? s.type ?? 'default');
    if (type === 'default') return r;
    if (type === 'linear') return { ...r, kind: 'linear', factor: Number(s.factor ?? 1) };
    if (type === 'llama3')
      return { ...r, kind: 'llama3', factor: Number(s.factor), low: Number(s.low_freq_factor ?? 1), high: Number(s.high_freq_factor ?? 4), original: Number(s.original_max_position_embeddings ?? 8192) };
    throw new ModelError(`${configPath}: rope_scaling type "${type}" is not supported (default, linear and llama3 are)`);
  };
  const theta = num(c, 'rope_theta') ?? 10000;
  const globalRope = ropeOf(theta, c.rope_scaling);
  const types = Array.isArray(c.layer_types) ? (c.layer_types as unknown[]).map(String) : null;
  const slidingWindow = num(c, 'sliding_window');
  const window: Array<number | null> = [];
  const rope: Rope[] = [];
  for (let l = 0; l < L; l++) {
    let sliding: boolean;
    if (types) sliding = types[l] === 'sliding_attention';
    else if (family === 'gemma2') sliding = l % 2 === 0;
    else if (family === 'gemma3' || family === 'gemma3_text') sliding = (l + 1) % (num(c, 'sliding_window_pattern') ?? 6) !== 0;
    else if (family === 'qwen2') sliding = c.use_sliding_window === true && l >= (num(c, 'max_window_layers') ?? L);
    else sliding = family === 'mistral' || family === 'phi3';
    window.push(sliding && slidingWindow ? slidingWindow : null);
    rope.push((family === 'gemma3' || family === 'gemma3_text') && sliding ? ropeOf(num(c, 'rope_local_base_freq') ?? 10000, null) : globalRope);
  }
  const qpas = num(c, 'query_pre_attn_scalar');
  const partial = num(c, 'partial_rotary_factor') ?? 1;
  return {
    family,
    vocab: need('vocab_size'),
    hidden: D,
    layers: L,
    heads: H,
    kvHeads: num(c, 'num_key_value_heads') ?? H,
    headDim,
    intermediate: need('intermediate_size'),
    eps: num(c, 'rms_norm_eps') ?? 1e-6,
    norm: gemma ? 'rmsnorm1p' : 'rmsnorm',
    act: actKind,
    tied: typeof c.tie_word_embeddings === 'boolean' ? c.tie_word_embeddings : gemma,
    qkvBias: family === 'qwen2' || c.attention_bias === true,
    oBias: c.attention_bias === true && family !== 'qwen2',
    mlpBias: c.mlp_bias === true,
    qkNorm: family === 'qwen3' || family === 'gemma3' || family === 'gemma3_text',
    sandwich: gemma,
    embedScale: gemma ? Math.fround(Math.sqrt(D)) : null,
    attnScale: gemma && qpas ? qpas ** -0.5 : headDim ** -0.5,
    attnSoftcap: num(c, 'attn_logit_softcapping'),
    finalSoftcap: num(c, 'final_logit_softcapping'),
    window,
    rope,
    rotaryDim: Math.floor(headDim * partial),
    positions: num(c, 'max_position_embeddings'),
    prefix: family === 'gemma3' ? 'language_model.model.' : 'model.',
    lmHead: family === 'gemma3' ? 'language_model.lm_head.weight' : 'lm_head.weight',
  };
}

/** transformers' inverse frequencies, in float32 as torch computes them. */
export function invFreq(r: Rope, dim: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = f(1 / f(Math.pow(r.theta, f((2 * i) / dim))));
  if (r.kind === 'linear') for (let i = 0; i < out.length; i++) out[i] = f(out[i] / r.factor);
  if (r.kind === 'llama3') {
    const lowWave = r.original / r.low;
    const highWave = r.original / r.high;
    for (let i = 0; i < out.length; i++) {
      const inv = out[i];
      const wave = f((2 * Math.PI) / inv);
      let v = wave > lowWave ? f(inv / r.factor) : inv;
      if (!(wave < highWave) && !(wave > lowWave)) {
        const smooth = f((r.original / wave - r.low) / (r.high - r.low));
        v = f(f(((1 - smooth) * v) / r.factor) + f(smooth * v));
      }
      out[i] = v;
    }
  }
  return out;
}

export interface AdapterSpec {
  r: number;
  alpha: number;
  rslora: boolean;
  /** PEFT's target_modules: module-name suffixes, or a regular expression / "all-linear" */
  targets: string[] | string;
  /** adapter tensors (PEFT names: base_model.model.<module>.lora_A.weight …) */
  weights: SafetensorsCheckpoint;
}

export interface BuildOptions {
  /** float16 for the CUDA graph (float32 norms, softmax, log-softmax and sums); float32 on CPU. */
  precision?: 'float32' | 'float16';
  adapter?: AdapterSpec;
}

export interface BuiltGraph {
  model: onnx.IModelProto;
  /** The folder onnxruntime reads external data from. */
  folder: string;
  hidden: string[];
  loraScale: number | null;
}

/** PEFT's target_modules: a list of module-name suffixes, a regular expression (full match), or "all-linear". */
export function targetsModule(targets: string[] | string, module: string): boolean {
  if (typeof targets === 'string') {
    if (targets === 'all-linear') return !/(^|\.)lm_head$/.test(module);
    return new RegExp(`^(?:${targets})$`).test(module);
  }
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

const ONNX_DT: Record<Dtype, number> = { F32: DT.FLOAT, F16: 10, BF16: 16 };
const FLOAT16 = 10;

/** Builds the decoder graph; a missing or misshaped tensor is an error naming the file and tensor. */
export function buildGraph(arch: Arch, ck: SafetensorsCheckpoint, opts: BuildOptions = {}): BuiltGraph {
  const folder = ck.commonFolder();
  if (!folder) throw new ModelError(`${ck.dir}: the checkpoint's files resolve to different folders (${ck.files.join(', ')}); onnxruntime reads external data from one folder`);
  const g = new GraphBuilder(withPrefix(arch, ck), ck, opts);
  const model = g.decoder();
  g.checkAdapterUsed();
  return { model, folder, hidden: g.hidden, loraScale: g.loraScale };
}

/** The logit-lens graph for SPINAL transport: inputs ha, hb [n, hidden] → bc [n] = Σ √(p_a p_b). */
export function buildLensGraph(arch: Arch, ck: SafetensorsCheckpoint): { model: onnx.IModelProto; folder: string } {
  const folder = ck.commonFolder();
  if (!folder) throw new ModelError(`${ck.dir}: the checkpoint's files resolve to different folders`);
  const g = new GraphBuilder(withPrefix(arch, ck), ck, {});
  return { model: g.lens(), folder };
}

/** The decoder's tensor-name prefix as this checkpoint stores it (gpt2 with or without "transformer.", gemma3's two layouts). */
function withPrefix(a: Arch, ck: SafetensorsCheckpoint): Arch {
  const probe = a.family === 'gpt2' ? 'wte.weight' : 'embed_tokens.weight';
  const candidates = a.family === 'gpt2' ? ['transformer.', ''] : a.family === 'gemma3' ? ['language_model.model.', 'model.language_model.', 'model.'] : ['model.'];
  const prefix = candidates.find((p) => ck.get(`${p}${probe}`)) ?? a.prefix;
  const lmHead = a.family === 'gemma3' && prefix === 'model.language_model.' ? 'lm_head.weight' : a.lmHead;
  return { ...a, prefix, lmHead };
}

class GraphBuilder {
  private nodes: onnx.INodeProto[] = [];
  private inits: onnx.ITensorProto[] = [];
  private done = new Map<string, string>();
  /** checkpoint tensors already added as external initializers */
  private external = new Set<string>();
  private seq = 0;
  readonly hidden: string[] = [];
  loraScale: number | null = null;
  private readonly ft: number;
  private readonly adapterTensors = new Map<string, TensorInfo>();
  private readonly consumed = new Set<string>();

  constructor(
    private readonly a: Arch,
    private readonly ck: SafetensorsCheckpoint,
    private readonly opts: BuildOptions,
  ) {
    this.ft = opts.precision === 'float16' ? FLOAT16 : DT.FLOAT;
    if (opts.adapter) {
      const ad = opts.adapter;
      this.loraScale = ad.rslora ? ad.alpha / Math.sqrt(ad.r) : ad.alpha / ad.r;
      for (const [name, t] of ad.weights.tensors) {
        const m = /^base_model\.model\.(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
        if (m) this.adapterTensors.set(`${m[1]}|${m[2]}`, t);
      }
    }
  }

  /** Every adapter weight must have been applied: a target module the base does not have is an error. */
  checkAdapterUsed(): void {
    const ad = this.opts.adapter;
    if (!ad) return;
    for (const key of this.adapterTensors.keys()) {
      const module = key.split('|')[0];
      if (!this.consumed.has(module))
        throw new ModelError(`${ad.weights.files[0]}: the adapter has weights for module ${module}, which the base model (${this.a.family}) does not have or target_modules does not select`);
    }
  }

  private n(op: string, ins: string[], attrs: Record<string, number | number[] | string> = {}, outs = 1, domain?: string): string[] {
    const id = `n${this.seq++}`;
    const outNames = Array.from({ length: outs }, (_, i) => `${id}_${op}${outs > 1 ? `_${i}` : ''}`);
    const nd = node(op, ins, outNames, `${id}/${op}`, attrs);
    if (domain) nd.domain = domain;
    this.nodes.push(nd);
    return outNames;
  }
  private n1(op: string, ins: string[], attrs: Record<string, number | number[] | string> = {}): string {
    return this.n(op, ins, attrs)[0];
  }
  private named(op: string, ins: string[], out: string, attrs: Record<string, number | number[] | string> = {}): string {
    this.nodes.push(node(op, ins, [out], `${out}/${op}`, attrs));
    return out;
  }
  private i64(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.seq++}`;
    this.inits.push(int64Tensor(name, values, dims));
    return name;
  }
  private f32(values: Float32Array | number[], dims: number[]): string {
    const name = `c${this.seq++}`;
    const f = values instanceof Float32Array ? values : Float32Array.from(values);
    this.inits.push({ name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) });
    return name;
  }
  /** A scalar in the compute type. */
  private scalar(v: number): string {
    const c = this.f32([v], []);
    return this.ft === DT.FLOAT ? c : this.n1('Cast', [c], { to: this.ft });
  }
  private toF32(x: string): string {
    return this.ft === DT.FLOAT ? x : this.n1('Cast', [x], { to: DT.FLOAT });
  }
  private fromF32(x: string): string {
    return this.ft === DT.FLOAT ? x : this.n1('Cast', [x], { to: this.ft });
  }

  /** A checkpoint tensor in the compute type: external data into its safetensors file, cast where needed. */
  private w(name: string, shape: number[], plusOne = false): string {
    const key = `${name}|${plusOne}`;
    const have = this.done.get(key);
    if (have) return have;
    const t = this.ck.need(name, shape);
    const ext: onnx.ITensorProto = {
      name,
      dims: t.shape,
      dataType: ONNX_DT[t.dtype],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: basename(t.file) },
        { key: 'offset', value: String(t.offset) },
        { key: 'length', value: String(t.length) },
      ],
    };
    if (!this.external.has(name)) {
      this.external.add(name);
      this.inits.push(ext);
    }
    let out = name;
    if (plusOne) {
      // Gemma's RMSNorm scales by (1 + w), computed in float32.
      const wf = ONNX_DT[t.dtype] === DT.FLOAT ? name : this.n1('Cast', [name], { to: DT.FLOAT });
      out = this.n1('Add', [wf, this.f32([1], [])]);
      if (this.ft !== DT.FLOAT) out = this.n1('Cast', [out], { to: this.ft });
    } else if (ONNX_DT[t.dtype] !== this.ft) out = this.n1('Cast', [name], { to: this.ft });
    this.done.set(key, out);
    return out;
  }

  private rms(x: string, weight: string, dim: number, plusOne: boolean): string {
    // SimplifiedLayerNormalization computes in float32 for float16 inputs (as transformers upcasts).
    return this.n1('SimplifiedLayerNormalization', [x, this.w(weight, [dim], plusOne)], { axis: -1, epsilon: this.a.eps, stash_type: 1 });
  }

  private norm(x: string, prefix: string, dim: number): string {
    if (this.a.norm === 'layernorm')
      return this.n1('LayerNormalization', [x, this.w(`${prefix}.weight`, [dim]), this.w(`${prefix}.bias`, [dim])], { axis: -1, epsilon: this.a.eps, stash_type: 1 });
    return this.rms(x, `${prefix}.weight`, dim, this.a.norm === 'rmsnorm1p');
  }

  /** y = x Wᵀ (+ b) for an HF Linear [out, in] (gpt2's Conv1D is [in, out]), plus the LoRA term where targeted. */
  private linear(x: string, module: string, inDim: number, outDim: number, bias: boolean, conv1d = false): string {
    const W = this.w(`${module}.weight`, conv1d ? [inDim, outDim] : [outDim, inDim]);
    const ins = [x, W];
    if (bias) ins.push(this.w(`${module}.bias`, [outDim]));
    let y = this.n1('Gemm', ins, { transB: conv1d ? 0 : 1 });
    const ad = this.opts.adapter;
    if (ad && targetsModule(ad.targets, module)) {
      const A = this.adapterTensors.get(`${module}|A`);
      const B = this.adapterTensors.get(`${module}|B`);
      if (!A || !B) throw new ModelError(`${ad.weights.files[0]}: target_modules selects ${module}, but the adapter has no lora_A/lora_B weights for it`);
      this.consumed.add(module);
      if (A.shape[0] !== ad.r || A.shape[1] !== inDim || B.shape[0] !== outDim || B.shape[1] !== ad.r)
        throw new ModelError(`${A.file}: ${module}: lora_A is [${A.shape}] and lora_B [${B.shape}], but the base layer is [${outDim}, ${inDim}] with r = ${ad.r}`);
      const a = this.fromF32(this.f32(readFloat32(A), A.shape));
      const b = this.fromF32(this.f32(readFloat32(B), B.shape));
      const ax = this.n1('Gemm', [x, a], { transB: 1 });
      const bax = this.n1('Gemm', [ax, b], { transB: 1 });
      y = this.n1('Add', [y, this.n1('Mul', [bax, this.loraScaleInput()])]);
    }
    return y;
  }

  private scaleInput: string | null = null;

  /** The graph input pl_lora_scale in the compute type (cast once). */
  private loraScaleInput(): string {
    this.scaleInput ??= this.fromF32('pl_lora_scale');
    return this.scaleInput;
  }

  private act(x: string): string {
    if (this.a.act === 'silu') return this.n1('Mul', [x, this.n1('Sigmoid', [x])]);
    return this.n1('Gelu', [x], { approximate: 'tanh' });
  }

  private softcap(x: string, cap: number): string {
    return this.n1('Mul', [this.n1('Tanh', [this.n1('Div', [x, this.f32([cap], [])])]), this.f32([cap], [])]);
  }

  private shapes!: { BT: string; B1: string; T: string };
  private ropeCache = new Map<string, { cos: string; sin: string }>();

  private prelude(): string {
    const a = this.a;
    const bt = this.n1('Shape', ['input_ids']);
    const B1 = this.n1('Slice', [bt, this.i64([0]), this.i64([1])]);
    const T = this.n1('Slice', [bt, this.i64([1]), this.i64([2])]);
    this.shapes = { BT: bt, B1, T };
    const flat = this.i64([-1, a.hidden]);
    if (a.family === 'gpt2') {
      const p = a.prefix;
      const wte = this.n1('Gather', [this.w(`${p}wte.weight`, [a.vocab, a.hidden]), 'input_ids']);
      const wpe = this.n1('Gather', [this.w(`${p}wpe.weight`, [a.positions ?? 1024, a.hidden]), 'position_ids']);
      return this.named('Reshape', [this.n1('Add', [wte, wpe]), flat], 'hidden.0');
    }
    let e = this.n1('Gather', [this.w(`${a.prefix}embed_tokens.weight`, [a.vocab, a.hidden]), 'input_ids']);
    e = this.n1('Reshape', [e, flat]);
    if (a.embedScale !== null) e = this.n1('Mul', [e, this.scalar(a.embedScale)]);
    return this.named('Identity', [e], 'hidden.0');
  }

  private ropeTables(r: Rope): { cos: string; sin: string } {
    const key = JSON.stringify(r);
    const have = this.ropeCache.get(key);
    if (have) return have;
    const inv = this.f32(invFreq(r, this.a.rotaryDim), [this.a.rotaryDim / 2]);
    const pos = this.n1('Unsqueeze', [this.n1('Cast', ['position_ids'], { to: DT.FLOAT }), this.i64([-1])]);
    const freqs = this.n1('Mul', [pos, inv]); // [B, T, rd/2]
    const emb = this.n1('Concat', [freqs, freqs], { axis: -1 });
    const ax2 = this.i64([2]);
    const out = { cos: this.fromF32(this.n1('Unsqueeze', [this.n1('Cos', [emb]), ax2])), sin: this.fromF32(this.n1('Unsqueeze', [this.n1('Sin', [emb]), ax2])) };
    this.ropeCache.set(key, out);
    return out;
  }

  /** x [B, T, H, hd] → x·cos + rotate_half(x)·sin on the first rotaryDim dims. */
  private applyRope(x: string, r: Rope): string {
    const { cos, sin } = this.ropeTables(r);
    const rd = this.a.rotaryDim;
    const hd = this.a.headDim;
    let rot = x;
    let pass: string | null = null;
    if (rd < hd) {
      [rot, pass] = this.n('Split', [x, this.i64([rd, hd - rd])], { axis: -1 }, 2);
    }
    const [x1, x2] = this.n('Split', [rot, this.i64([rd / 2, rd / 2])], { axis: -1 }, 2);
    const rh = this.n1('Concat', [this.n1('Neg', [x2]), x1], { axis: -1 });
    const y = this.n1('Add', [this.n1('Mul', [rot, cos]), this.n1('Mul', [rh, sin])]);
    return pass ? this.n1('Concat', [y, pass], { axis: -1 }) : y;
  }

  private lengths: { seqlens: string; total: string } | null = null;

  /** GroupQueryAttention's lengths for right-padded batches: every row is taken as full (T); padded positions only
   * attend to earlier ones (causal) and their outputs are never read. */
  private gqaLengths(): { seqlens: string; total: string } {
    if (this.lengths) return this.lengths;
    const T32 = this.n1('Cast', [this.shapes.T], { to: DT.INT32 });
    const total = this.n1('Squeeze', [T32, this.i64([0])]);
    const one = this.n1('Cast', [this.i64([1])], { to: DT.INT32 });
    const seqlens = this.n1('Expand', [this.n1('Sub', [T32, one]), this.shapes.B1]);
    this.lengths = { seqlens, total };
    return this.lengths;
  }

  /** [N, heads·hd] → [B, T, heads, hd] */
  private heads(x: string, h: number): string {
    const shape = this.n1('Concat', [this.shapes.B1, this.i64([-1, h, this.a.headDim])], { axis: 0 });
    return this.n1('Reshape', [x, shape]);
  }

  private attention(x: string, l: number, p: string): string {
    const a = this.a;
    const H = a.heads;
    const K = a.kvHeads;
    const hd = a.headDim;
    let q: string, k: string, v: string;
    if (a.family === 'gpt2') {
      const qkv = this.linear(x, `${p}attn.c_attn`, a.hidden, 3 * a.hidden, true, true);
      [q, k, v] = this.n('Split', [qkv, this.i64([a.hidden, a.hidden, a.hidden])], { axis: -1 }, 3);
    } else if (a.family === 'phi3') {
      const qkv = this.linear(x, `${p}self_attn.qkv_proj`, a.hidden, (H + 2 * K) * hd, a.qkvBias);
      [q, k, v] = this.n('Split', [qkv, this.i64([H * hd, K * hd, K * hd])], { axis: -1 }, 3);
    } else {
      q = this.linear(x, `${p}self_attn.q_proj`, a.hidden, H * hd, a.qkvBias);
      k = this.linear(x, `${p}self_attn.k_proj`, a.hidden, K * hd, a.qkvBias);
      v = this.linear(x, `${p}self_attn.v_proj`, a.hidden, K * hd, a.qkvBias);
    }
    q = this.heads(q, H);
    k = this.heads(k, K);
    v = this.heads(v, K);
    if (a.qkNorm) {
      q = this.rms(q, `${p}self_attn.q_norm.weight`, hd, a.norm === 'rmsnorm1p');
      k = this.rms(k, `${p}self_attn.k_norm.weight`, hd, a.norm === 'rmsnorm1p');
    }
    if (a.family !== 'gpt2') {
      q = this.applyRope(q, a.rope[l]);
      k = this.applyRope(k, a.rope[l]);
    }
    // onnxruntime's GroupQueryAttention (com.microsoft): causal, grouped key/value heads without repeat_kv copies,
    // sliding window (local_window_size = W: transformers attends where i − j < W; checked against the float64
    // reference of mistral, gemma2/3 and phi3 in the tests) and soft-capping. Measured
    // against the plain ONNX form (bench/attention.mjs) at Qwen2.5-0.5B's head shape: the same at 512 tokens,
    // 40.6 against 43.2 ms at 1,024, 102 against 175 ms at 2,048; equal to 7e-8.
    const packed = (t: string, h: number): string => this.n1('Reshape', [t, this.i64([0, 0, h * hd])]);
    const { seqlens, total } = this.gqaLengths();
    const attrs: Record<string, number> = { num_heads: H, kv_num_heads: K, scale: a.attnScale };
    if (a.attnSoftcap) attrs.softcap = a.attnSoftcap;
    const w = a.family === 'gpt2' ? null : a.window[l];
    if (w !== null) attrs.local_window_size = w;
    const [attn] = this.n('GroupQueryAttention', [packed(q, H), packed(k, K), packed(v, K), '', '', seqlens, total], attrs, 3, 'com.microsoft');
    const o = this.n1('Reshape', [attn, this.i64([-1, H * hd])]);
    if (a.family === 'gpt2') return this.linear(o, `${p}attn.c_proj`, a.hidden, a.hidden, true, true);
    return this.linear(o, `${p}self_attn.o_proj`, H * hd, a.hidden, a.oBias);
  }

  private mlp(x: string, p: string): string {
    const a = this.a;
    const I = a.intermediate;
    if (a.family === 'gpt2') return this.linear(this.act(this.linear(x, `${p}mlp.c_fc`, a.hidden, I, true, true)), `${p}mlp.c_proj`, I, a.hidden, true, true);
    let gate: string, up: string;
    if (a.family === 'phi3') {
      const gu = this.linear(x, `${p}mlp.gate_up_proj`, a.hidden, 2 * I, false);
      [gate, up] = this.n('Split', [gu, this.i64([I, I])], { axis: -1 }, 2);
    } else {
      gate = this.linear(x, `${p}mlp.gate_proj`, a.hidden, I, a.mlpBias);
      up = this.linear(x, `${p}mlp.up_proj`, a.hidden, I, a.mlpBias);
    }
    return this.linear(this.n1('Mul', [this.act(gate), up]), `${p}mlp.down_proj`, I, a.hidden, a.mlpBias);
  }

  private blocks(h0: string): string {
    const a = this.a;
    let x = h0;
    this.hidden.push(h0);
    for (let l = 0; l < a.layers; l++) {
      const p = a.family === 'gpt2' ? `${a.prefix}h.${l}.` : `${a.prefix}layers.${l}.`;
      const D = a.hidden;
      let h: string;
      if (a.sandwich) {
        h = this.n1('Add', [x, this.norm(this.attention(this.norm(x, `${p}input_layernorm`, D), l, p), `${p}post_attention_layernorm`, D)]);
        h = this.named('Add', [h, this.norm(this.mlp(this.norm(h, `${p}pre_feedforward_layernorm`, D), p), `${p}post_feedforward_layernorm`, D)], `hidden.${l + 1}`);
      } else {
        // pre-norm block: gpt2 names its two norms ln_1 and ln_2
        const [n1, n2] = a.family === 'gpt2' ? ['ln_1', 'ln_2'] : ['input_layernorm', 'post_attention_layernorm'];
        h = this.n1('Add', [x, this.attention(this.norm(x, `${p}${n1}`, D), l, p)]);
        h = this.named('Add', [h, this.mlp(this.norm(h, `${p}${n2}`, D), p)], `hidden.${l + 1}`);
      }
      this.hidden.push(h);
      x = h;
    }
    return x;
  }

  /** final norm + LM head (+ soft-capping): [N, D] → float32 logits [N, V] */
  private head(x: string): string {
    const a = this.a;
    const n = this.norm(x, a.family === 'gpt2' ? `${a.prefix}ln_f` : `${a.prefix}norm`, a.hidden);
    // gpt2's head is always its token embedding; the others use lm_head when stored, else the tied embedding.
    let wName: string;
    if (a.family === 'gpt2') wName = `${a.prefix}wte.weight`;
    else if (this.ck.get(a.lmHead)) wName = a.lmHead;
    else if (a.tied) wName = `${a.prefix}embed_tokens.weight`;
    else throw new ModelError(`${this.ck.dir}: tensor "${a.lmHead}" is missing and config.json does not tie the embeddings`);
    let logits = this.toF32(this.n1('Gemm', [n, this.w(wName, [a.vocab, a.hidden])], { transB: 1 }));
    if (a.finalSoftcap) logits = this.softcap(logits, a.finalSoftcap);
    return logits;
  }

  private model(name: string, inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[]): onnx.IModelProto {
    return {
      irVersion: 9,
      producerName: 'preflens',
      opsetImport: [{ domain: '', version: 20 }, { domain: 'com.microsoft', version: 1 }],
      graph: { name, node: this.nodes, initializer: this.inits, input: inputs, output: outputs },
    };
  }

  decoder(): onnx.IModelProto {
    const a = this.a;
    const x = this.blocks(this.prelude());
    const logits2 = this.head(x);
    const shape = this.n1('Concat', [this.shapes.BT, this.i64([a.vocab])], { axis: 0 });
    this.named('Reshape', [logits2, shape], 'logits');
    const inputs = [valueInfo('input_ids', DT.INT64, ['batch', 'time']), valueInfo('position_ids', DT.INT64, ['batch', 'time'])];
    if (this.loraScale !== null) inputs.push(valueInfo('pl_lora_scale', DT.FLOAT, [1]));
    return this.model(`preflens-${a.family}`, inputs, [valueInfo('logits', DT.FLOAT, ['batch', 'time', a.vocab])]);
  }

  lens(): onnx.IModelProto {
    const ps = ['ha', 'hb'].map((h) => this.n1('Softmax', [this.head(this.fromF32(h))], { axis: -1 }));
    this.named('ReduceSum', [this.n1('Sqrt', [this.n1('Mul', ps)]), this.i64([-1])], 'bc', { keepdims: 0 });
    const D = this.a.hidden;
    return this.model('preflens-lens', [valueInfo('ha', DT.FLOAT, ['n', D]), valueInfo('hb', DT.FLOAT, ['n', D])], [valueInfo('bc', DT.FLOAT, ['n'])]);
  }
}
