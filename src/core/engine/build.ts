/**
 * The ONNX graph of a transformers checkpoint, built from its config.json (docs/ARCHITECTURE.md, "Models"), for
 * the decoder families people fine-tune. What is particular to a family — how it reads config.json, its norms,
 * activation, biases, rotary tables, sliding windows, soft-caps and how its checkpoint names its tensors — is an
 * `Arch` that its descriptor (families/) fills in; this builder knows no family by name. Definitions follow
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
import type { Arch, Rope } from './families/types.js';

export type { Arch, Rope };

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
  /** Checkpoint tensors the graph does not use (transformers warns about them), save known buffers. */
  unused: string[];
}

/** Buffers some checkpoints store that no model uses (transformers ignores them): not reported as unused. */
const BUFFERS = /(^|\.)(rotary_emb\.inv_freq|attn\.(masked_)?bias)$/;

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
  const unused = [...ck.tensors.keys()].filter((n) => !g.uses(n) && !BUFFERS.test(n));
  return { model, folder, hidden: g.hidden, loraScale: g.loraScale, unused };
}

/** The logit-lens graph for SPINAL transport: inputs ha, hb [n, hidden] → bc [n] = Σ √(p_a p_b). */
export function buildLensGraph(arch: Arch, ck: SafetensorsCheckpoint): { model: onnx.IModelProto; folder: string } {
  const folder = ck.commonFolder();
  if (!folder) throw new ModelError(`${ck.dir}: the checkpoint's files resolve to different folders`);
  const g = new GraphBuilder(withPrefix(arch, ck), ck, {});
  return { model: g.lens(), folder };
}

/** The decoder's tensor-name prefix as this checkpoint stores it (the family's candidates, families/types.ts TensorNames). */
function withPrefix(a: Arch, ck: SafetensorsCheckpoint): Arch {
  const found = a.tensors.prefixes.find((p) => ck.get(`${p.prefix}${a.tensors.probe}`)) ?? a.tensors.prefixes[0];
  return { ...a, prefix: found.prefix, lmHead: found.lmHead };
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

  /** Whether the graph reads this checkpoint tensor. */
  uses(name: string): boolean {
    return this.external.has(name);
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
      const finite = (t: TensorInfo, which: string): Float32Array => {
        const v = readFloat32(t);
        const bad = v.findIndex((x) => !Number.isFinite(x));
        // 0 × NaN is NaN: a non-finite adapter weight would null the base's numbers too (its scale-0 reference)
        if (bad >= 0) throw new ModelError(`${t.file}: ${module}: ${which} holds ${v[bad]} at element ${bad} (tensor "${t.name}"): an adapter weight must be finite`);
        return v;
      };
      const a = this.fromF32(this.f32(finite(A, 'lora_A'), A.shape));
      const b = this.fromF32(this.f32(finite(B, 'lora_B'), B.shape));
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
    const t = a.tensors;
    if (t.positions) {
      // learned absolute positions (GPT-2)
      const wte = this.n1('Gather', [this.w(`${a.prefix}${t.embed}`, [a.vocab, a.hidden]), 'input_ids']);
      const wpe = this.n1('Gather', [this.w(`${a.prefix}${t.positions}`, [a.positions ?? 1024, a.hidden]), 'position_ids']);
      return this.named('Reshape', [this.n1('Add', [wte, wpe]), flat], 'hidden.0');
    }
    let e = this.n1('Gather', [this.w(`${a.prefix}${t.embed}`, [a.vocab, a.hidden]), 'input_ids']);
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
    const at = a.tensors.attention;
    if (at.kind === 'split') {
      q = this.linear(x, `${p}${at.q}`, a.hidden, H * hd, a.qkvBias);
      k = this.linear(x, `${p}${at.k}`, a.hidden, K * hd, a.qkvBias);
      v = this.linear(x, `${p}${at.v}`, a.hidden, K * hd, a.qkvBias);
    } else {
      // one module for q, k and v: a Linear (Phi-3) or GPT-2's Conv1D
      const qkv = this.linear(x, `${p}${at.qkv}`, a.hidden, (H + 2 * K) * hd, a.qkvBias, at.kind === 'conv1d');
      [q, k, v] = this.n('Split', [qkv, this.i64([H * hd, K * hd, K * hd])], { axis: -1 }, 3);
    }
    q = this.heads(q, H);
    k = this.heads(k, K);
    v = this.heads(v, K);
    const qk = a.tensors.qkNorm;
    if (qk) {
      q = this.rms(q, `${p}${qk.q}.weight`, hd, a.norm === 'rmsnorm1p');
      k = this.rms(k, `${p}${qk.k}.weight`, hd, a.norm === 'rmsnorm1p');
    }
    if (a.rope.length) {
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
    const w = a.window[l] ?? null;
    if (w !== null) attrs.local_window_size = w;
    const [attn] = this.n('GroupQueryAttention', [packed(q, H), packed(k, K), packed(v, K), '', '', seqlens, total], attrs, 3, 'com.microsoft');
    const o = this.n1('Reshape', [attn, this.i64([-1, H * hd])]);
    return this.linear(o, `${p}${at.o}`, H * hd, a.hidden, a.oBias, at.kind === 'conv1d');
  }

  private mlp(x: string, p: string): string {
    const a = this.a;
    const I = a.intermediate;
    const m = a.tensors.mlp;
    if (m.kind === 'conv1d') return this.linear(this.act(this.linear(x, `${p}${m.fc}`, a.hidden, I, a.mlpBias, true)), `${p}${m.proj}`, I, a.hidden, a.mlpBias, true);
    let gate: string, up: string;
    if (m.kind === 'fused-gated') {
      const gu = this.linear(x, `${p}${m.gateUp}`, a.hidden, 2 * I, false);
      [gate, up] = this.n('Split', [gu, this.i64([I, I])], { axis: -1 }, 2);
    } else {
      gate = this.linear(x, `${p}${m.gate}`, a.hidden, I, a.mlpBias);
      up = this.linear(x, `${p}${m.up}`, a.hidden, I, a.mlpBias);
    }
    return this.linear(this.n1('Mul', [this.act(gate), up]), `${p}${m.down}`, I, a.hidden, a.mlpBias);
  }

  private blocks(h0: string): string {
    const a = this.a;
    let x = h0;
    this.hidden.push(h0);
    const nm = a.tensors.norms;
    for (let l = 0; l < a.layers; l++) {
      const p = `${a.prefix}${a.tensors.layer}${l}.`;
      const D = a.hidden;
      let h: string;
      if (nm.postAttention && nm.postMlp) {
        // sandwich norms (Gemma): a norm after attention and after the feed-forward layer, before each residual add
        h = this.n1('Add', [x, this.norm(this.attention(this.norm(x, `${p}${nm.attention}`, D), l, p), `${p}${nm.postAttention}`, D)]);
        h = this.named('Add', [h, this.norm(this.mlp(this.norm(h, `${p}${nm.mlp}`, D), p), `${p}${nm.postMlp}`, D)], `hidden.${l + 1}`);
      } else {
        h = this.n1('Add', [x, this.attention(this.norm(x, `${p}${nm.attention}`, D), l, p)]);
        h = this.named('Add', [h, this.mlp(this.norm(h, `${p}${nm.mlp}`, D), p)], `hidden.${l + 1}`);
      }
      this.hidden.push(h);
      x = h;
    }
    return x;
  }

  /** final norm + LM head (+ soft-capping): [N, D] → float32 logits [N, V] */
  private head(x: string): string {
    const a = this.a;
    const n = this.norm(x, `${a.prefix}${a.tensors.finalNorm}`, a.hidden);
    // the head is the token embedding (GPT-2 always; the others when tied and no lm_head is stored), else lm_head
    const embed = `${a.prefix}${a.tensors.embed}`;
    let wName: string;
    if (a.tensors.headIsEmbedding) wName = embed;
    else if (this.ck.get(a.lmHead)) wName = a.lmHead;
    else if (a.tied) wName = embed;
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
