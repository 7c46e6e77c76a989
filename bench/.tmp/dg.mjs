import * as ort from 'onnxruntime-node';
import { encodeModel, node, valueInfo } from '../../out/src/core/engine/onnx.js';
const n = Number(process.argv[2] ?? 2048);
for (const op of ['MatMul', 'Gemm']) {
  const m = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node: [op === 'MatMul' ? node('MatMul', ['xt', 'x'], ['y'], 'mm') : node('Gemm', ['x', 'x'], ['y'], 'mm', { transA: 1 })], input: [valueInfo('x', 11, [n, n]), ...(op === 'MatMul' ? [valueInfo('xt', 11, [n, n])] : [])], output: [valueInfo('y', 11, [n, n])] } });
  const s = await ort.InferenceSession.create(m, { intraOpNumThreads: 2 });
  const x = new Float64Array(n * n).map(() => Math.random());
  const feeds = { x: new ort.Tensor('float64', x, [n, n]) };
  if (op === 'MatMul') feeds.xt = new ort.Tensor('float64', x, [n, n]);
  const t = performance.now();
  await s.run(feeds);
  const sec = (performance.now() - t) / 1000;
  console.log(op, n, sec.toFixed(2), 's', (2 * n ** 3 / sec / 1e9).toFixed(1), 'GFLOP/s');
}
