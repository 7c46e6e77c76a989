// bench/attention: one attention layer at Qwen2.5-0.5B's head shape (14 query / 2 key-value heads of 64, causal),
// onnxruntime's GroupQueryAttention (what src/core/engine/build.ts uses) against the plain ONNX form (Reshape,
// Transpose, Expand for repeat_kv, MatMul, Softmax) in the same run; best of 5 × 10 calls, and the largest difference.
// Usage: npm run build && node bench/attention.mjs [TOKENS]
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { encodeModel, node, valueInfo, int64Tensor } = require('../out/src/core/engine/onnx.js');
const [B, S, H, K, hd] = [1, Number(process.argv[2] ?? 512), 14, 2, 64];
const mk = (nodes, inits, inputs, outputs, ms = false) => encodeModel({ irVersion: 9, opsetImport: [{ domain: '', version: 20 }, ...(ms ? [{ domain: 'com.microsoft', version: 1 }] : [])], graph: { name: 'g', node: nodes, initializer: inits, input: inputs, output: outputs } });
const ins = [valueInfo('q', 1, [B, S, H * hd]), valueInfo('k', 1, [B, S, K * hd]), valueInfo('v', 1, [B, S, K * hd])];
// plain: as build.ts does it
const n = [];
const inits = [int64Tensor('sq', [B, S, H, hd]), int64Tensor('sk', [B, S, K, hd]), int64Tensor('ax2', [2]), int64Tensor('rep', [1, 1, H / K, 1, 1]), int64Tensor('rs', [0, H, -1, hd]), int64Tensor('flat', [B, S, H * hd])];
inits.push({ name: 'scale', dims: [], dataType: 1, floatData: [hd ** -0.5] });
// causal mask
const mask = new Float32Array(S * S); for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) mask[i * S + j] = j <= i ? 0 : -3.4e38;
inits.push({ name: 'mask', dims: [1, 1, S, S], dataType: 1, rawData: new Uint8Array(mask.buffer) });
n.push(node('Reshape', ['q', 'sq'], ['q1'], 'a'), node('Transpose', ['q1'], ['q2'], 'b', { perm: [0, 2, 1, 3] }));
for (const z of ['k', 'v']) {
  n.push(node('Reshape', [z, 'sk'], [z + '1'], z + 'a'), node('Transpose', [z + '1'], [z + '2'], z + 'b', { perm: [0, 2, 1, 3] }));
  n.push(node('Unsqueeze', [z + '2', 'ax2'], [z + '3'], z + 'c'), node('Expand', [z + '3', 'rep'], [z + '4'], z + 'd'), node('Reshape', [z + '4', 'rs'], [z + '5'], z + 'e'));
}
n.push(node('Transpose', ['k5'], ['kt'], 'kt', { perm: [0, 1, 3, 2] }), node('MatMul', ['q2', 'kt'], ['s'], 's'), node('Mul', ['s', 'scale'], ['s2'], 's2'), node('Add', ['s2', 'mask'], ['s3'], 's3'), node('Softmax', ['s3'], ['p'], 'p', { axis: -1 }), node('MatMul', ['p', 'v5'], ['o'], 'o'), node('Transpose', ['o'], ['o2'], 'o2', { perm: [0, 2, 1, 3] }), node('Reshape', ['o2', 'flat'], ['out'], 'out'));
const plain = mk(n, inits, ins, [valueInfo('out', 1, [B, S, H * hd])]);
const g = node('GroupQueryAttention', ['q', 'k', 'v', '', '', 'seqlens', 'total'], ['out', 'pk', 'pv'], 'gqa', { num_heads: H, kv_num_heads: K, scale: hd ** -0.5 });
g.domain = 'com.microsoft';
const gqa = mk([g], [{ name: 'seqlens', dims: [B], dataType: 6, int32Data: [S - 1] }, { name: 'total', dims: [], dataType: 6, int32Data: [S] }], ins, [valueInfo('out', 1, [B, S, H * hd])], true);
const rnd = (len) => new Float32Array(len).map(() => Math.random() - 0.5);
const feeds = { q: new ort.Tensor('float32', rnd(B * S * H * hd), [B, S, H * hd]), k: new ort.Tensor('float32', rnd(B * S * K * hd), [B, S, K * hd]), v: new ort.Tensor('float32', rnd(B * S * K * hd), [B, S, K * hd]) };
const outs = {};
for (const [name, m] of [['plain', plain], ['gqa', gqa]]) {
  const s = await ort.InferenceSession.create(m, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  await s.run(feeds);
  let best = Infinity;
  for (let r = 0; r < 5; r++) { const t = performance.now(); for (let i = 0; i < 10; i++) outs[name] = (await s.run(feeds)).out.data; best = Math.min(best, (performance.now() - t) / 10); }
  console.log(name, 'ms per attention call', best.toFixed(2));
}
let d = 0; for (let i = 0; i < outs.plain.length; i++) d = Math.max(d, Math.abs(outs.plain[i] - outs.gqa[i]));
console.log('max |plain - gqa|', d);
