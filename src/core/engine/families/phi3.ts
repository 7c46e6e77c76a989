/** Phi-3: fused qkv_proj and gate_up_proj, partial rotary (partial_rotary_factor), sliding windows. */
import { decoderArch, LLAMA_TENSORS } from './decoder.js';
import type { FamilyDescriptor } from './types.js';

export const phi3: FamilyDescriptor = {
  modelTypes: ['phi3'],
  description: 'Phi-3 (fused qkv/gate_up, partial rotary)',
  arch: (c) =>
    decoderArch(c, 'phi3', {
      sliding: () => true,
      tensors: { ...LLAMA_TENSORS, attention: { kind: 'fused', qkv: 'self_attn.qkv_proj', o: 'self_attn.o_proj' }, mlp: { kind: 'fused-gated', gateUp: 'mlp.gate_up_proj', down: 'mlp.down_proj' } },
    }),
};
