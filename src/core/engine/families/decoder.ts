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
  if (type === 'linear') return { ...r, kind: 'linear', factor: Number(s.factor ?? 1) };
  if (type === 'llama3')
    return { ...r, kind: 'llama3', factor: Number(s.factor), low: Number(s.low_freq_factor ?? 1), high: Number(s.high_freq_factor ?? 4), original: Number(s.original_max_position_embeddings ?? 8192) };
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
  const D = c.need('hidden_size');
  const H = c.need('num_attention_heads');
  const L = c.need('num_hidden_layers');
  const headDim = c.num('head_dim') ?? D / H;
  const act = String(c.get('hidden_activation') ?? c.get('hidden_act') ?? q.defaultAct ?? 'silu');
  const actKind = act === 'silu' || act === 'swish' ? 'silu' : ['gelu_pytorch_tanh', 'gelu_new', 'gelu_fast'].includes(act) ? 'gelu_tanh' : null;
  if (!actKind) throw new ModelError(`${c.path}: hidden_act "${act}" is not supported (silu and gelu_pytorch_tanh are)`);
  const globalRope = ropeOf(c, c.num('rope_theta') ?? 10000, c.get('rope_scaling'));
  const layerTypes = c.get('layer_types');
  const types = Array.isArray(layerTypes) ? (layerTypes as unknown[]).map(String) : null;
  const slidingWindow = c.num('sliding_window');
  const window: Array<number | null> = [];
  const rope: Rope[] = [];
  for (let l = 0; l < L; l++) {
    const sliding = types ? types[l] === 'sliding_attention' : (q.sliding?.(c, l, L) ?? false);
    window.push(sliding && slidingWindow ? slidingWindow : null);
    rope.push(sliding && q.localRope ? q.localRope(c) : globalRope);
  }
  const qpas = c.num('query_pre_attn_scalar');
  const partial = c.num('partial_rotary_factor') ?? 1;
  const tensors = q.tensors ?? LLAMA_TENSORS;
  const tiedGiven = q.tied ? q.tied(c) : typeof c.get('tie_word_embeddings') === 'boolean' ? (c.get('tie_word_embeddings') as boolean) : null;
  return {
    family,
    vocab: c.need('vocab_size'),
    hidden: D,
    layers: L,
    heads: H,
    kvHeads: c.num('num_key_value_heads') ?? H,
    headDim,
    intermediate: c.need('intermediate_size'),
    eps: c.num('rms_norm_eps') ?? 1e-6,
    norm: q.norm ?? 'rmsnorm',
    act: actKind,
    tied: tiedGiven ?? q.defaultTied ?? false,
    qkvBias: q.qkvBiasAlways === true || c.get('attention_bias') === true,
    oBias: c.get('attention_bias') === true && q.qkvBiasAlways !== true,
    mlpBias: c.get('mlp_bias') === true,
    sandwich: tensors.norms.postAttention !== undefined,
    embedScale: q.gemma ? Math.fround(Math.sqrt(D)) : null,
    attnScale: q.gemma && qpas ? qpas ** -0.5 : headDim ** -0.5,
    attnSoftcap: c.num('attn_logit_softcapping'),
    finalSoftcap: c.num('final_logit_softcapping'),
    window,
    rope,
    rotaryDim: Math.floor(headDim * partial),
    positions: c.num('max_position_embeddings'),
    prefix: tensors.prefixes[0].prefix,
    lmHead: tensors.prefixes[0].lmHead,
    tensors,
  };
}
