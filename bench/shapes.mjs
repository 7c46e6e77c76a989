// Model shapes the benchmarks share: a checkpoint with the shape of Qwen2.5-0.5B (vocabulary 151,936, d = 896,
// 24 layers, 14 query / 2 key-value heads, tied embeddings), random bf16 weights written by the project's own code
// (test/checkpoint.ts) and opened the way a user's checkpoint is: the graph built from config.json, weights in place.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
  num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0, tie_word_embeddings: true,
  torch_dtype: 'bfloat16', hidden_act: 'silu', use_sliding_window: false, bos_token_id: 256, eos_token_id: 256,
};

/** The Qwen2.5-0.5B-shaped checkpoint under `work`, written once (about 1 GB). `out(p)` requires a transpiled module. */
export function qwenShape(work, out) {
  const dir = join(work, 'qwen2.5-0.5b-shape');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    const { writeLargeCheckpoint } = out('test/checkpoint.js');
    const t = performance.now();
    writeLargeCheckpoint(dir, QWEN25_05B, 'BF16', 5);
    console.log(`(wrote ${dir} in ${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }
  return dir;
}
