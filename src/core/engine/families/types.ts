/**
 * A model family (docs/ARCHITECTURE.md, "Models"): how its config.json is read and how its checkpoint names its
 * tensors. The graph builder (engine/build.ts) knows no family by name: everything family-specific is an `Arch`
 * field, which a family's descriptor fills in. A new family is one descriptor registered in families/index.ts.
 */
import type { ConfigJson } from '../config.js';

/** Rotary position embedding: transformers' rope types default, linear and llama3. */
export type Rope = { kind: 'default' | 'linear' | 'llama3'; theta: number; factor: number; low: number; high: number; original: number };

/** Where the attention projections are, relative to a layer's prefix. */
export type AttentionTensors =
  /** q_proj, k_proj, v_proj and o_proj, each an HF Linear [out, in] */
  | { kind: 'split'; q: string; k: string; v: string; o: string }
  /** one Linear for q, k and v (Phi-3's qkv_proj) */
  | { kind: 'fused'; qkv: string; o: string }
  /** GPT-2's Conv1D [in, out] modules: c_attn (q, k, v) and c_proj */
  | { kind: 'conv1d'; qkv: string; o: string };

/** Where the feed-forward projections are, relative to a layer's prefix. */
export type MlpTensors =
  /** act(gate) · up → down */
  | { kind: 'gated'; gate: string; up: string; down: string }
  /** Phi-3's gate_up_proj (gate and up in one Linear) */
  | { kind: 'fused-gated'; gateUp: string; down: string }
  /** GPT-2's Conv1D c_fc → act → c_proj */
  | { kind: 'conv1d'; fc: string; proj: string };

/** A checkpoint's tensor names, as its family stores them. */
export interface TensorNames {
  /**
   * The decoder's prefixes, tried in order: the first under which `probe` exists is the checkpoint's (GPT-2 with or
   * without `transformer.`, Gemma 3's two layouts), each with the LM head's name under that layout.
   */
  prefixes: ReadonlyArray<{ prefix: string; lmHead: string }>;
  /** A tensor every checkpoint of the family has, relative to the prefix. */
  probe: string;
  /** Token embedding, relative to the prefix. */
  embed: string;
  /** Learned absolute positions (GPT-2's wpe), relative to the prefix; null with rotary positions. */
  positions: string | null;
  /** A layer's prefix relative to the decoder's, before its index: `layers.` or `h.`. */
  layer: string;
  attention: AttentionTensors;
  /** Per-head RMSNorm of queries and keys (Qwen3, Gemma 3), relative to a layer's prefix. */
  qkNorm: { q: string; k: string } | null;
  mlp: MlpTensors;
  /**
   * The block's norms, relative to a layer's prefix: before attention and before the feed-forward layer; with
   * `sandwich` (Gemma) also after attention and after the feed-forward layer, before each residual add.
   */
  norms: { attention: string; mlp: string; postAttention?: string; postMlp?: string };
  /** The final norm, relative to the prefix. */
  finalNorm: string;
  /** The LM head is always the token embedding (GPT-2), whatever tie_word_embeddings says. */
  headIsEmbedding: boolean;
}

/** What the graph needs from config.json, with transformers' defaults per family. */
export interface Arch {
  family: string;
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
  /** gemma: pre/post feed-forward norms and a post-attention norm before the residual add */
  sandwich: boolean;
  embedScale: number | null;
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** per layer: sliding window or null (full attention) */
  window: Array<number | null>;
  /** per layer: which rotary table (global, or gemma3's local one); empty with learned positions */
  rope: Rope[];
  rotaryDim: number;
  positions: number | null;
  /** the decoder's tensor-name prefix and LM head, as found in the checkpoint (build.ts withPrefix) */
  prefix: string;
  lmHead: string;
  tensors: TensorNames;
}

/** A model family: the model_type values it answers to and how it reads config.json. */
export interface FamilyDescriptor {
  /** config.json `model_type` values (transformers' names). */
  readonly modelTypes: readonly string[];
  /** One line for the README and messages. */
  readonly description: string;
  /** The architecture from config.json (its settings and transformers' defaults for the family). */
  arch(c: ConfigJson, modelType: string): Arch;
}
