/**
 * The config interpretation the rotary decoder families share (Llama and the families built like it): sizes, rotary
 * tables (rope_scaling default, linear, llama3), sliding windows per layer and the activation, with transformers'
 * defaults. A family passes its own quirks (families/*.ts).
 */
import { ModelError } from '../../errors.js';
import type { ConfigJson } from '../config.js';
import type { Arch, Rope, TensorNames } from './types.js';

/** Llama's tensor names (most rotary decoders store theirs so). */
export const LLAMA_TENSORS: TensorNames = {
  prefixes: [{ prefix: 'model.', lmHead: 'lm_head.weight' }],
  probe: 'embed_tokens.weight',
  embed: 'embed_tokens.weight',
  positions: null,
  layer: 'layers.',
  attention: { kind: 'split', q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj' },
  qkNorm: null,
  mlp: { kind: 'gated', gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj' },
  norms: { attention: 'input_layernorm', mlp: 'post_attention_layernorm' },
  finalNorm: 'norm',
  headIsEmbedding: false,
};

/** Per-head q/k RMSNorm (Qwen3, Gemma 3). */
export const QK_NORM = { q: 'self_attn.q_norm', k: 'self_attn.k_norm' } as const;

/** transformers' rope_scaling: default, linear and llama3 (others are refused, naming the file). */
export function ropeOf(c: ConfigJson, theta: number, scaling: unknown): Rope {
  const r: Rope = { kind: 'default', theta, factor: 1, low: 1, high: 4, original: 8192 };
  if (!scaling || typeof scaling !== 'object') return r;
  const s = scaling as Record<string, unknown>;
  const type = String(s.rope_type ?? s.type ?? 'default');
  if (type === 'default') return r;
  const pos = (k: string, dflt?: number): number => {
    const v = s[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ModelError(`${c.path}: rope_scaling.${k} is ${JSON.stringify(s[k])}; it must be a positive finite number`);
    return v;
  };
  if (type === 'linear') return { ...r, kind: 'linear', factor: pos('factor', 1) };
  if (type === 'llama3') {
    const low = pos('low_freq_factor', 1);
    const high = pos('high_freq_factor', 4);
    if (!(high > low)) throw new ModelError(`${c.path}: rope_scaling.high_freq_factor (${high}) must be larger than low_freq_factor (${low})`);
    return { ...r, kind: 'llama3', factor: pos('factor'), low, high, original: pos('original_max_position_embeddings', 8192) };
  }
  throw new ModelError(`${c.path}: rope_scaling type "${type}" is not supported (default, linear and llama3 are)`);
}

/** What a rotary decoder family changes from Llama's reading. */
export interface DecoderQuirks {
  /** The activation when config.json names none. */
  defaultAct?: string;
  norm?: Arch['norm'];
  /** tie_word_embeddings when config.json does not say. */
  defaultTied?: boolean;
  /** Attention biases on q, k and v whatever attention_bias says (Qwen2), and then none on o. */
  qkvBiasAlways?: boolean;
  /** Whether layer l uses sliding-window attention, when config.json has no layer_types. */
  sliding?: (c: ConfigJson, l: number, layers: number) => boolean;
  /** The rotary table of a sliding layer when it differs from the global one (Gemma 3's local base frequency). */
  localRope?: (c: ConfigJson) => Rope;
  /** Gemma: embeddings × √d, and the attention scale from query_pre_attn_scalar. */
  gemma?: boolean;
  tensors?: TensorNames;
  /** tie_word_embeddings, read where the family keeps it (Gemma 3: top level, else its text config). */
  tied?: (c: ConfigJson) => boolean | null;
}

/** A rotary decoder's architecture from its config.json. */
export function decoderArch(c: ConfigJson, family: string, q: DecoderQuirks = {}): Arch {
  const D = c.needCount('hidden_size');
  const H = c.needCount('num_attention_heads');
  const L = c.layers('num_hidden_layers');
  const headDim = c.count('head_dim') ?? D / H;
  if (!Number.isInteger(headDim)) throw new ModelError(`${c.path}: hidden_size ${D} is not a multiple of num_attention_heads ${H}, and no head_dim is given`);
  const K = c.count('num_key_value_heads') ?? H;
  if (H % K !== 0) throw new ModelError(`${c.path}: num_attention_heads ${H} is not a multiple of num_key_value_heads ${K}`);
  const act = String(c.get('hidden_activation') ?? c.get('hidden_act') ?? q.defaultAct ?? 'silu');
  const actKind = act === 'silu' || act === 'swish' ? 'silu' : ['gelu_pytorch_tanh', 'gelu_new', 'gelu_fast'].includes(act) ? 'gelu_tanh' : null;
  if (!actKind) throw new ModelError(`${c.path}: hidden_act "${act}" is not supported (silu and gelu_pytorch_tanh are)`);
  const globalRope = ropeOf(c, c.positive('rope_theta') ?? 10000, c.get('rope_scaling'));
  const layerTypes = c.get('layer_types');
  const types = Array.isArray(layerTypes) ? (layerTypes as unknown[]).map(String) : null;
  const slidingWindow = c.count('sliding_window');
  const window: Array<number | null> = [];
  const rope: Rope[] = [];
  for (let l = 0; l < L; l++) {
    const sliding = types ? types[l] === 'sliding_attention' : (q.sliding?.(c, l, L) ?? false);
    window.push(sliding && slidingWindow ? slidingWindow : null);
    rope.push(sliding && q.localRope ? q.localRope(c) : globalRope);
  }
  const qpas = c.positive('query_pre_attn_scalar');
  const partial = c.positive('partial_rotary_factor') ?? 1;
  if (partial > 1) throw new ModelError(`${c.path}: partial_rotary_factor ${partial} must be at most 1`);
  const tensors = q.tensors ?? LLAMA_TENSORS;
  const tiedGiven = q.tied ? q.tied(c) : c.bool('tie_word_embeddings');
  return {
    family,
    vocab: c.needCount('vocab_size'),
    hidden: D,
    layers: L,
    heads: H,
    kvHeads: K,
    headDim,
    intermediate: c.needCount('intermediate_size'),
    eps: c.positive('rms_norm_eps') ?? 1e-6,
    norm: q.norm ?? 'rmsnorm',
    act: actKind,
    tied: tiedGiven ?? q.defaultTied ?? false,
    qkvBias: q.qkvBiasAlways === true || c.bool('attention_bias') === true,
    oBias: c.bool('attention_bias') === true && q.qkvBiasAlways !== true,
    mlpBias: c.bool('mlp_bias') === true,
    sandwich: tensors.norms.postAttention !== undefined,
    embedScale: q.gemma ? Math.fround(Math.sqrt(D)) : null,
    attnScale: q.gemma && qpas ? qpas ** -0.5 : headDim ** -0.5,
    attnSoftcap: c.positive('attn_logit_softcapping'),
    finalSoftcap: c.positive('final_logit_softcapping'),
    window,
    rope,
    rotaryDim: Math.floor(headDim * partial),
    positions: c.count('max_position_embeddings'),
    prefix: tensors.prefixes[0].prefix,
    lmHead: tensors.prefixes[0].lmHead,
    tensors,
  };
}
