/** GPT-2: LayerNorm, learned absolute positions, Conv1D modules ([in, out]), tanh GELU, the head tied to wte. */
import { ModelError } from '../../errors.js';
import type { FamilyDescriptor } from './types.js';

export const gpt2: FamilyDescriptor = {
  modelTypes: ['gpt2'],
  description: 'GPT-2 (learned positions, Conv1D)',
  arch: (c) => {
    const D = c.needCount('n_embd', 'hidden_size');
    const H = c.needCount('n_head', 'num_attention_heads');
    if (D % H !== 0) throw new ModelError(`${c.path}: n_embd ${D} is not a multiple of n_head ${H}`);
    const act = c.str('activation_function') ?? 'gelu_new';
    if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'].includes(act)) throw new ModelError(`${c.path}: activation_function "${act}" is not supported for gpt2 (gelu_new is)`);
    return {
      family: 'gpt2', vocab: c.needCount('vocab_size'), hidden: D, layers: c.layers('n_layer', 'num_hidden_layers'), heads: H, kvHeads: H, headDim: D / H,
      intermediate: c.count('n_inner') ?? 4 * D, eps: c.positive('layer_norm_epsilon') ?? 1e-5, norm: 'layernorm', act: 'gelu_tanh', tied: true,
      qkvBias: true, oBias: true, mlpBias: true, sandwich: false, embedScale: null, attnScale: 1 / Math.sqrt(D / H),
      attnSoftcap: null, finalSoftcap: null, window: [], rope: [], rotaryDim: 0, positions: c.count('n_positions'), prefix: 'transformer.', lmHead: 'lm_head.weight',
      tensors: {
        prefixes: [
          { prefix: 'transformer.', lmHead: 'lm_head.weight' },
          { prefix: '', lmHead: 'lm_head.weight' },
        ],
        probe: 'wte.weight',
        embed: 'wte.weight',
        positions: 'wpe.weight',
        layer: 'h.',
        attention: { kind: 'conv1d', qkv: 'attn.c_attn', o: 'attn.c_proj' },
        qkNorm: null,
        mlp: { kind: 'conv1d', fc: 'mlp.c_fc', proj: 'mlp.c_proj' },
        norms: { attention: 'ln_1', mlp: 'ln_2' },
        finalNorm: 'ln_f',
        headIsEmbedding: true,
      },
    };
  },
};
