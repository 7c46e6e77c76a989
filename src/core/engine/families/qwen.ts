/** Qwen2 / Qwen2.5 (biases on q, k and v; sliding windows only with use_sliding_window) and Qwen3 (per-head q/k norms). */
import { decoderArch, LLAMA_TENSORS, QK_NORM } from './decoder.js';
import type { FamilyDescriptor } from './types.js';

export const qwen2: FamilyDescriptor = {
  modelTypes: ['qwen2'],
  description: 'Qwen2/Qwen2.5 (q/k/v biases)',
  arch: (c) =>
    decoderArch(c, 'qwen2', {
      qkvBiasAlways: true,
      sliding: (cfg, l, layers) => cfg.bool('use_sliding_window') === true && l >= (cfg.index('max_window_layers') ?? layers),
    }),
};

export const qwen3: FamilyDescriptor = {
  modelTypes: ['qwen3'],
  description: 'Qwen3 (per-head q_norm/k_norm)',
  arch: (c) => decoderArch(c, 'qwen3', { tensors: { ...LLAMA_TENSORS, qkNorm: QK_NORM } }),
};
