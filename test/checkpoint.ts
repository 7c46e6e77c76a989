/**
 * Test and benchmark code: writes transformers-layout checkpoints (config.json, safetensors — one file or shards
 * with model.safetensors.index.json — in F32, F16 or BF16, a byte-level tokenizer) with random weights, and a
 * float64 reference forward pass written from transformers' modeling code (llama, mistral, qwen2, qwen3, gemma2,
 * gemma3_text, phi3, gpt2; eager attention). The reference shares no code with src/core/engine/build.ts.
 */
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync, renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteTokenizerJson, rng } from './gpt2.js';

export type WDtype = 'F32' | 'F16' | 'BF16';

/** float32 → bfloat16 bits, round to nearest even (as torch does). */
const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

export function bf16Bits(x: number): number {
  scratchF[0] = x;
  const u = scratchU[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float → IEEE half bits, round to nearest even (normal range; subnormals flushed as torch would round them). */
export function f16Bits(x: number): number {
  scratchF[0] = x;
  const u = scratchU[0];
  const sign = (u >>> 16) & 0x8000;
  const e = ((u >>> 23) & 0xff) - 127 + 15;
  let m = u & 0x7fffff;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  if (e >= 31) return sign | 0x7c00;
  let h = (e << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export interface WTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * Writes tensors as safetensors in `dtype` and returns the values as stored (rounded), in float64, for the
 * reference. `shards` > 1 writes model-0000i-of-0000n.safetensors + the index.
 */
export function writeSafetensors(dir: string, tensors: WTensor[], dtype: WDtype, shards = 1, stem = 'model'): Map<string, Float64Array> {
  mkdirSync(dir, { recursive: true });
  const stored = new Map<string, Float64Array>();
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const groups: WTensor[][] = Array.from({ length: shards }, () => []);
  tensors.forEach((t, i) => groups[Math.floor((i * shards) / tensors.length)].push(t));
  const weightMap: Record<string, string> = {};
  groups.forEach((group, s) => {
    const file = shards === 1 ? `${stem}.safetensors` : `${stem}-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    const bodies: Buffer[] = [];
    for (const t of group) {
      const n = t.data.length;
      const body = Buffer.alloc(n * bytesPer);
      const vals = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = t.data[i];
        if (dtype === 'F32') {
          body.writeFloatLE(x, i * 4);
          vals[i] = Math.fround(x);
        } else if (dtype === 'BF16') {
          const b = bf16Bits(x);
          body.writeUInt16LE(b, i * 2);
          vals[i] = new Float32Array(new Uint32Array([b << 16]).buffer)[0];
        } else {
          const h = f16Bits(x);
          body.writeUInt16LE(h, i * 2);
          vals[i] = halfValue(h);
        }
      }
      header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + body.length] };
      off += body.length;
      bodies.push(body);
      stored.set(t.name, vals);
      weightMap[t.name] = file;
    }
    let hj = Buffer.from(JSON.stringify(header));
    const pad = (8 - (hj.length % 8)) % 8;
    hj = Buffer.concat([hj, Buffer.alloc(pad, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hj.length));
    const fd = openSync(join(dir, file), 'w');
    writeSync(fd, len);
    writeSync(fd, hj);
    for (const b of bodies) writeSync(fd, b);
    closeSync(fd);
  });
  if (shards > 1) writeFileSync(join(dir, `${stem}.safetensors.index.json`), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return stored;
}

export function writeTokenizer(dir: string): number {
  const t = byteTokenizerJson();
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(t.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(t.config));
  return t.eos;
}

export interface TensorSpec {
  name: string;
  shape: number[];
  std: number;
  mean: number;
}

/** The tensors (HF names and shapes) of a decoder checkpoint described by `cfg` (config.json), with random values. */
export function decoderTensors(cfg: Record<string, unknown>, seed = 1): WTensor[] {
  const r = rng(seed);
  return decoderSpecs(cfg).map(({ name, shape, std, mean }) => {
    const n = shape.reduce((s, d) => s * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * r();
    return { name, shape, data };
  });
}

/**
 * Writes a large checkpoint tensor by tensor (never all in memory): uniform random values with the given std, as
 * bf16/f16/f32, in one file. For benchmarks (a Qwen2.5-0.5B-shaped checkpoint is ~1 GB in bf16).
 */
export function writeLargeCheckpoint(dir: string, cfg: Record<string, unknown>, dtype: WDtype, seed = 1): void {
  mkdirSync(dir, { recursive: true });
  writeTokenizer(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  const specs = decoderSpecs(cfg);
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of specs) {
    const n = t.shape.reduce((a, d) => a * d, 1) * bytesPer;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let hj = Buffer.from(JSON.stringify(header));
  hj = Buffer.concat([hj, Buffer.alloc((8 - (hj.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hj.length));
  const tmp = join(dir, 'model.safetensors.tmp');
  const fd = openSync(tmp, 'w');
  writeSync(fd, len);
  writeSync(fd, hj);
  let a = (seed * 2654435761) >>> 0;
  for (const t of specs) {
    const n = t.shape.reduce((x, d) => x * d, 1);
    const chunk = 1 << 20;
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const m = Math.min(chunk, n - i0);
      const body = Buffer.alloc(m * bytesPer);
      const w = t.std * Math.sqrt(3);
      for (let i = 0; i < m; i++) {
        a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
        const x = t.mean + w * ((a / 4294967296) * 2 - 1);
        if (dtype === 'F32') body.writeFloatLE(x, i * 4);
        else body.writeUInt16LE(dtype === 'BF16' ? bf16Bits(x) : f16Bits(x), i * 2);
      }
      writeSync(fd, body);
    }
  }
  closeSync(fd);
  renameSync(tmp, join(dir, 'model.safetensors'));
}

/** Names, shapes and init scales of a decoder checkpoint's tensors. */
export function decoderSpecs(cfg: Record<string, unknown>): TensorSpec[] {
  const out: TensorSpec[] = [];
  const t = (name: string, shape: number[], std: number, mean = 0): void => {
    out.push({ name, shape, std, mean });
  };
  const mt = String(cfg.model_type);
  const V = Number(cfg.vocab_size);
  if (mt === 'gpt2') {
    const D = Number(cfg.n_embd);
    t('transformer.wte.weight', [V, D], 0.5);
    t('transformer.wpe.weight', [Number(cfg.n_positions), D], 0.1);
    for (let l = 0; l < Number(cfg.n_layer); l++) {
      const p = `transformer.h.${l}.`;
      t(`${p}ln_1.weight`, [D], 0.1, 1);
      t(`${p}ln_1.bias`, [D], 0.05);
      t(`${p}attn.c_attn.weight`, [D, 3 * D], 0.5 / Math.sqrt(D));
      t(`${p}attn.c_attn.bias`, [3 * D], 0.05);
      t(`${p}attn.c_proj.weight`, [D, D], 0.5 / Math.sqrt(D));
      t(`${p}attn.c_proj.bias`, [D], 0.05);
      t(`${p}ln_2.weight`, [D], 0.1, 1);
      t(`${p}ln_2.bias`, [D], 0.05);
      t(`${p}mlp.c_fc.weight`, [D, 4 * D], 0.5 / Math.sqrt(D));
      t(`${p}mlp.c_fc.bias`, [4 * D], 0.05);
      t(`${p}mlp.c_proj.weight`, [4 * D, D], 0.5 / Math.sqrt(4 * D));
      t(`${p}mlp.c_proj.bias`, [D], 0.05);
    }
    t('transformer.ln_f.weight', [D], 0.1, 1);
    t('transformer.ln_f.bias', [D], 0.05);
    return out;
  }
  const D = Number(cfg.hidden_size);
  const H = Number(cfg.num_attention_heads);
  const K = Number(cfg.num_key_value_heads ?? H);
  const hd = Number(cfg.head_dim ?? D / H);
  const I = Number(cfg.intermediate_size);
  const gemma = mt.startsWith('gemma');
  const normMean = gemma ? 0 : 1;
  t('model.embed_tokens.weight', [V, D], gemma ? 0.3 : 0.5);
  for (let l = 0; l < Number(cfg.num_hidden_layers); l++) {
    const p = `model.layers.${l}.`;
    t(`${p}input_layernorm.weight`, [D], 0.1, normMean);
    t(`${p}post_attention_layernorm.weight`, [D], 0.1, normMean);
    if (gemma) {
      t(`${p}pre_feedforward_layernorm.weight`, [D], 0.1, normMean);
      t(`${p}post_feedforward_layernorm.weight`, [D], 0.1, normMean);
    }
    const s = 0.5 / Math.sqrt(D);
    if (mt === 'phi3') {
      t(`${p}self_attn.qkv_proj.weight`, [(H + 2 * K) * hd, D], s);
      t(`${p}mlp.gate_up_proj.weight`, [2 * I, D], s);
    } else {
      t(`${p}self_attn.q_proj.weight`, [H * hd, D], s);
      t(`${p}self_attn.k_proj.weight`, [K * hd, D], s);
      t(`${p}self_attn.v_proj.weight`, [K * hd, D], s);
      if (mt === 'qwen2') {
        t(`${p}self_attn.q_proj.bias`, [H * hd], 0.1);
        t(`${p}self_attn.k_proj.bias`, [K * hd], 0.1);
        t(`${p}self_attn.v_proj.bias`, [K * hd], 0.1);
      }
      t(`${p}mlp.gate_proj.weight`, [I, D], s);
      t(`${p}mlp.up_proj.weight`, [I, D], s);
    }
    t(`${p}self_attn.o_proj.weight`, [D, H * hd], 0.5 / Math.sqrt(H * hd));
    t(`${p}mlp.down_proj.weight`, [D, I], 0.5 / Math.sqrt(I));
    if (mt === 'qwen3' || mt === 'gemma3_text') {
      t(`${p}self_attn.q_norm.weight`, [hd], 0.1, normMean);
      t(`${p}self_attn.k_norm.weight`, [hd], 0.1, normMean);
    }
  }
  t('model.norm.weight', [D], 0.1, normMean);
  if (cfg.tie_word_embeddings === false) t('lm_head.weight', [V, D], 0.5 / Math.sqrt(D));
  return out;
}

/** Writes a whole checkpoint folder and returns its stored weights. */
export function writeCheckpoint(dir: string, cfg: Record<string, unknown>, dtype: WDtype, shards = 1, seed = 1): Map<string, Float64Array> {
  mkdirSync(dir, { recursive: true });
  writeTokenizer(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  return writeSafetensors(dir, decoderTensors(cfg, seed), dtype, shards);
}

// ---------------------------------------------------------------------------------------------------------------
// float64 reference (transformers' modeling code, eager attention)

type W = Map<string, Float64Array>;

function matT(x: Float64Array, T: number, inD: number, w: Float64Array, outD: number, b?: Float64Array): Float64Array {
  // y[t, o] = Σ_i x[t, i] w[o, i] (+ b[o])  — nn.Linear
  const y = new Float64Array(T * outD);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < outD; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inD; i++) s += x[t * inD + i] * w[o * inD + i];
      y[t * outD + o] = s;
    }
  return y;
}

function conv1d(x: Float64Array, T: number, inD: number, w: Float64Array, outD: number, b: Float64Array): Float64Array {
  // y[t, o] = Σ_i x[t, i] w[i, o] + b[o]  — GPT-2's Conv1D
  const y = new Float64Array(T * outD);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < outD; o++) {
      let s = b[o];
      for (let i = 0; i < inD; i++) s += x[t * inD + i] * w[i * outD + o];
      y[t * outD + o] = s;
    }
  return y;
}

function rmsRows(x: Float64Array, rows: number, d: number, w: Float64Array, eps: number, plusOne: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(ms / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = x[r * d + i] * inv * (plusOne ? 1 + w[i] : w[i]);
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, d: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < d; i++) m += x[r * d + i];
    m /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - m) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] - m) * inv * w[i] + b[i];
  }
  return y;
}

/** The column blocks of a row-major T × Σwidths matrix (a fused projection's q/k/v or gate/up), each T × width. */
function splitColumns(x: Float64Array, T: number, widths: number[]): Float64Array[] {
  const total = widths.reduce((s, w) => s + w, 0);
  let at = 0;
  return widths.map((w) => {
    const out = new Float64Array(T * w);
    for (let t = 0; t < T; t++) out.set(x.subarray(t * total + at, t * total + at + w), t * w);
    at += w;
    return out;
  });
}

const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number): number => x / (1 + Math.exp(-x));

/** Rotary inverse frequencies with transformers' rope_scaling rules (default, linear, llama3), in float64. */
function refInvFreq(theta: number, dim: number, scaling: Record<string, unknown> | null): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = 1 / theta ** ((2 * i) / dim);
  const type = scaling ? String(scaling.rope_type ?? scaling.type) : 'default';
  if (type === 'linear') for (let i = 0; i < inv.length; i++) inv[i] /= Number(scaling?.factor);
  if (type === 'llama3' && scaling) {
    const factor = Number(scaling.factor);
    const low = Number(scaling.low_freq_factor);
    const high = Number(scaling.high_freq_factor);
    const old = Number(scaling.original_max_position_embeddings);
    for (let i = 0; i < inv.length; i++) {
      const wl = (2 * Math.PI) / inv[i];
      if (wl < old / high) continue;
      if (wl > old / low) inv[i] /= factor;
      else {
        const sm = (old / wl - low) / (high - low);
        inv[i] = (1 - sm) * (inv[i] / factor) + sm * inv[i];
      }
    }
  }
  return inv;
}

export interface Lora {
  r: number;
  alpha: number;
  rslora: boolean;
  /** module name → [A (r × in), B (out × r)] */
  weights: Map<string, [Float64Array, Float64Array]>;
}

/** log-softmax of the reference logits at each next token: logp[t] = log p(ids[t+1] | ids[..t]). */
export function referenceLogps(cfg: Record<string, unknown>, w: W, ids: number[], lora?: Lora): number[] {
  const logits = referenceLogits(cfg, w, ids, lora);
  const V = Number(cfg.vocab_size);
  const out: number[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - m);
    out.push(logits[t * V + ids[t + 1]] - m - Math.log(s));
  }
  return out;
}

export function referenceLogits(cfg: Record<string, unknown>, w: W, ids: number[], lora?: Lora): Float64Array {
  const mt = String(cfg.model_type);
  const T = ids.length;
  const V = Number(cfg.vocab_size);
  const get = (n: string): Float64Array => {
    const x = w.get(n);
    if (!x) throw new Error(`reference: no tensor ${n}`);
    return x;
  };
  const gpt2 = mt === 'gpt2';
  const gemma = mt.startsWith('gemma');
  const D = Number(gpt2 ? cfg.n_embd : cfg.hidden_size);
  const H = Number(gpt2 ? cfg.n_head : cfg.num_attention_heads);
  const K = Number(cfg.num_key_value_heads ?? H);
  const hd = Number(cfg.head_dim ?? D / H);
  const L = Number(gpt2 ? cfg.n_layer : cfg.num_hidden_layers);
  const I = Number(cfg.intermediate_size ?? 4 * D);
  const eps = Number(gpt2 ? (cfg.layer_norm_epsilon ?? 1e-5) : (cfg.rms_norm_eps ?? 1e-6));
  const lin = (x: Float64Array, module: string, inD: number, outD: number, bias = false): Float64Array => {
    const y = matT(x, T, inD, get(`${module}.weight`), outD, bias ? get(`${module}.bias`) : undefined);
    const ab = lora?.weights.get(module);
    if (lora && ab) {
      const s = lora.rslora ? lora.alpha / Math.sqrt(lora.r) : lora.alpha / lora.r;
      const ax = matT(x, T, inD, ab[0], lora.r);
      const bax = matT(ax, T, lora.r, ab[1], outD);
      for (let i = 0; i < y.length; i++) y[i] += s * bax[i];
    }
    return y;
  };
  const norm = (x: Float64Array, name: string, rows = T, d = D): Float64Array =>
    gpt2 ? layerNorm(x, rows, d, get(`${name}.weight`), get(`${name}.bias`), eps) : rmsRows(x, rows, d, get(`${name}.weight`), eps, gemma);
  let h = new Float64Array(T * D);
  if (gpt2) {
    const wte = get('transformer.wte.weight');
    const wpe = get('transformer.wpe.weight');
    for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) h[t * D + i] = wte[ids[t] * D + i] + wpe[t * D + i];
  } else {
    const e = get('model.embed_tokens.weight');
    const scale = gemma ? Math.fround(Math.sqrt(D)) : 1;
    for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) h[t * D + i] = e[ids[t] * D + i] * scale;
  }
  const types = Array.isArray(cfg.layer_types) ? (cfg.layer_types as string[]) : null;
  for (let l = 0; l < L; l++) {
    const p = gpt2 ? `transformer.h.${l}.` : `model.layers.${l}.`;
    // which attention: sliding window per transformers' per-family rules
    let sliding = false;
    if (types) sliding = types[l] === 'sliding_attention';
    else if (mt === 'gemma2') sliding = l % 2 === 0;
    else if (mt === 'gemma3_text') sliding = (l + 1) % Number(cfg.sliding_window_pattern ?? 6) !== 0;
    else if (mt === 'mistral' || mt === 'phi3') sliding = true;
    const window = sliding && typeof cfg.sliding_window === 'number' ? cfg.sliding_window : Infinity;
    const x = norm(h, gpt2 ? `${p}ln_1` : `${p}input_layernorm`);
    let q: Float64Array, k: Float64Array, v: Float64Array;
    if (gpt2) {
      [q, k, v] = splitColumns(conv1d(x, T, D, get(`${p}attn.c_attn.weight`), 3 * D, get(`${p}attn.c_attn.bias`)), T, [D, D, D]);
    } else if (mt === 'phi3') {
      [q, k, v] = splitColumns(lin(x, `${p}self_attn.qkv_proj`, D, (H + 2 * K) * hd), T, [H * hd, K * hd, K * hd]);
    } else {
      const bias = mt === 'qwen2';
      q = lin(x, `${p}self_attn.q_proj`, D, H * hd, bias);
      k = lin(x, `${p}self_attn.k_proj`, D, K * hd, bias);
      v = lin(x, `${p}self_attn.v_proj`, D, K * hd, bias);
    }
    if (mt === 'qwen3' || mt === 'gemma3_text') {
      q = rmsRows(q, T * H, hd, get(`${p}self_attn.q_norm.weight`), eps, gemma);
      k = rmsRows(k, T * K, hd, get(`${p}self_attn.k_norm.weight`), eps, gemma);
    }
    if (!gpt2) {
      const local = mt === 'gemma3_text' && sliding;
      const theta = local ? Number(cfg.rope_local_base_freq ?? 10000) : Number(cfg.rope_theta ?? 10000);
      const rd = Math.floor(hd * Number(cfg.partial_rotary_factor ?? 1));
      const inv = refInvFreq(theta, rd, local ? null : ((cfg.rope_scaling as Record<string, unknown> | null) ?? null));
      const rot = (a: Float64Array, heads: number): void => {
        for (let t = 0; t < T; t++)
          for (let hh = 0; hh < heads; hh++) {
            const o = (t * heads + hh) * hd;
            for (let i = 0; i < rd / 2; i++) {
              const ang = t * inv[i];
              const c = Math.cos(ang);
              const s = Math.sin(ang);
              const x1 = a[o + i];
              const x2 = a[o + i + rd / 2];
              a[o + i] = x1 * c - x2 * s;
              a[o + i + rd / 2] = x2 * c + x1 * s;
            }
          }
      };
      rot(q, H);
      rot(k, K);
    }
    const qpas = typeof cfg.query_pre_attn_scalar === 'number' ? cfg.query_pre_attn_scalar : null;
    const scale = gemma && qpas ? qpas ** -0.5 : hd ** -0.5;
    const cap = typeof cfg.attn_logit_softcapping === 'number' ? cfg.attn_logit_softcapping : null;
    const o = new Float64Array(T * H * hd);
    for (let hh = 0; hh < H; hh++) {
      const kh = Math.floor(hh / (H / K));
      for (let i = 0; i < T; i++) {
        const sc = new Float64Array(T).fill(-Infinity);
        for (let j = 0; j <= i; j++) {
          if (i - j >= window) continue;
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[(i * H + hh) * hd + d] * k[(j * K + kh) * hd + d];
          s *= scale;
          if (cap) s = Math.tanh(s / cap) * cap;
          sc[j] = s;
        }
        const m = Math.max(...sc);
        let z = 0;
        for (let j = 0; j < T; j++) z += Math.exp(sc[j] - m);
        for (let j = 0; j <= i; j++) {
          const pj = Math.exp(sc[j] - m) / z;
          for (let d = 0; d < hd; d++) o[(i * H + hh) * hd + d] += pj * v[(j * K + kh) * hd + d];
        }
      }
    }
    let attn = gpt2 ? conv1d(o, T, D, get(`${p}attn.c_proj.weight`), D, get(`${p}attn.c_proj.bias`)) : lin(o, `${p}self_attn.o_proj`, H * hd, D);
    if (gemma) attn = norm(attn, `${p}post_attention_layernorm`);
    for (let i = 0; i < h.length; i++) h[i] += attn[i];
    const x2 = norm(h, gpt2 ? `${p}ln_2` : gemma ? `${p}pre_feedforward_layernorm` : `${p}post_attention_layernorm`);
    let mlp: Float64Array;
    if (gpt2) {
      const a = conv1d(x2, T, D, get(`${p}mlp.c_fc.weight`), 4 * D, get(`${p}mlp.c_fc.bias`)).map(geluTanh);
      mlp = conv1d(a, T, 4 * D, get(`${p}mlp.c_proj.weight`), D, get(`${p}mlp.c_proj.bias`));
    } else {
      let gate: Float64Array, up: Float64Array;
      if (mt === 'phi3') {
        [gate, up] = splitColumns(lin(x2, `${p}mlp.gate_up_proj`, D, 2 * I), T, [I, I]);
      } else {
        gate = lin(x2, `${p}mlp.gate_proj`, D, I);
        up = lin(x2, `${p}mlp.up_proj`, D, I);
      }
      const act = gemma ? geluTanh : silu;
      const g = gate.map((z, i) => act(z) * up[i]);
      mlp = lin(g, `${p}mlp.down_proj`, I, D);
    }
    if (gemma) mlp = norm(mlp, `${p}post_feedforward_layernorm`);
    h = h.map((z, i) => z + mlp[i]);
  }
  const f = norm(h, gpt2 ? 'transformer.ln_f' : 'model.norm');
  const wu = gpt2 || cfg.tie_word_embeddings !== false ? get(gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight') : get('lm_head.weight');
  const logits = matT(f, T, D, wu, V);
  const fcap = typeof cfg.final_logit_softcapping === 'number' ? cfg.final_logit_softcapping : null;
  if (fcap) for (let i = 0; i < logits.length; i++) logits[i] = Math.tanh(logits[i] / fcap) * fcap;
  return logits;
}

/** A safetensors file's header (as parsed) and data section, for tests that damage files. */
export function readSafetensorsRaw(file: string): { header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] } | Record<string, string>>; data: Buffer } {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString('utf8')), data: b.subarray(8 + n) };
}

/** Writes a safetensors file from a header object and a data section, as given (no checks: tests damage them). */
export function writeSafetensorsRaw(file: string, header: unknown, data: Uint8Array): void {
  const hj = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hj.length));
  writeFileSync(file, Buffer.concat([len, hj, data]));
}

/** Removes one tensor from a safetensors file, moving the later tensors' bytes so that the file stays valid. */
export function dropTensor(file: string, name: string): void {
  const { header, data } = readSafetensorsRaw(file);
  const gone = header[name] as { data_offsets: number[] };
  const [b, e] = gone.data_offsets;
  delete header[name];
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const t = v as { data_offsets: number[] };
    if (t.data_offsets[0] >= e) t.data_offsets = [t.data_offsets[0] - (e - b), t.data_offsets[1] - (e - b)];
  }
  writeSafetensorsRaw(file, header, Buffer.concat([data.subarray(0, b), data.subarray(e)]));
}
