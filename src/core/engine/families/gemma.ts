/**
 * Gemma 2 and Gemma 3 (text, and the multimodal Gemma3ForConditionalGeneration's language model): RMSNorm scaled by
 * 1 + w, embeddings × √d, GeGLU with tanh GELU, norms before and after attention and the feed-forward layer,
 * query_pre_attn_scalar, attention and final logit soft-capping, sliding-window layers (Gemma 2 every other one,
 * Gemma 3 all but every sliding_window_pattern-th, with their own rotary base frequency), q/k norms in Gemma 3.
 */
import { decoderArch, type DecoderQuirks, LLAMA_TENSORS, QK_NORM, ropeOf } from './decoder.js';
import type { FamilyDescriptor, TensorNames } from './types.js';

const GEMMA_TENSORS: TensorNames = {
  ...LLAMA_TENSORS,
  norms: { attention: 'input_layernorm', postAttention: 'post_attention_layernorm', mlp: 'pre_feedforward_layernorm', postMlp: 'post_feedforward_layernorm' },
};

const common: DecoderQuirks = { defaultAct: 'gelu_pytorch_tanh', norm: 'rmsnorm1p', defaultTied: true, gemma: true };

export const gemma2: FamilyDescriptor = {
  modelTypes: ['gemma2'],
  description: 'Gemma 2 (soft-capping, alternating sliding layers)',
  arch: (c) => decoderArch(c, 'gemma2', { ...common, tensors: GEMMA_TENSORS, sliding: (_c, l) => l % 2 === 0 }),
};

/** Gemma 3: a sliding layer uses the local rotary table (rope_local_base_freq, no scaling). */
const gemma3Quirks: DecoderQuirks = {
  ...common,
  sliding: (c, l) => (l + 1) % (c.count('sliding_window_pattern') ?? 6) !== 0,
  localRope: (c) => ropeOf(c, c.positive('rope_local_base_freq') ?? 10000, null),
};

export const gemma3Text: FamilyDescriptor = {
  modelTypes: ['gemma3_text'],
  description: 'Gemma 3 text (local/global rotary tables, q/k norms)',
  arch: (c) => decoderArch(c, 'gemma3_text', { ...gemma3Quirks, tensors: { ...GEMMA_TENSORS, qkNorm: QK_NORM } }),
};

/** The multimodal checkpoint stores the language model under language_model.model. (or model.language_model.). */
export const gemma3: FamilyDescriptor = {
  modelTypes: ['gemma3'],
  description: 'Gemma 3 multimodal (its language model: text_config)',
  arch: (c) =>
    decoderArch(c, 'gemma3', {
      ...gemma3Quirks,
      // tie_word_embeddings at the top level, else in text_config
      tied: (cfg) => {
        const t = cfg.raw.tie_word_embeddings ?? cfg.get('tie_word_embeddings');
        return typeof t === 'boolean' ? t : null;
      },
      tensors: {
        ...GEMMA_TENSORS,
        qkNorm: QK_NORM,
        prefixes: [
          { prefix: 'language_model.model.', lmHead: 'language_model.lm_head.weight' },
          { prefix: 'model.language_model.', lmHead: 'lm_head.weight' },
          { prefix: 'model.', lmHead: 'language_model.lm_head.weight' },
        ],
      },
    }),
};
