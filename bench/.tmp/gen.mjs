import { createRequire } from 'node:module';
const require = createRequire('/work/main/bench/x.mjs');
const { writeLargeCheckpoint } = require('/work/main/out/test/checkpoint.js');
const qcfg = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0, tie_word_embeddings: true,
    torch_dtype: 'bfloat16', hidden_act: 'silu', use_sliding_window: false, bos_token_id: 256, eos_token_id: 256 };
const t = Date.now(); writeLargeCheckpoint('/work/main/bench/.data/qwen2.5-0.5b-shape', qcfg, 'BF16', 5); console.log('s', (Date.now()-t)/1000);
