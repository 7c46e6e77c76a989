import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const { openModelFolder } = require('../../out/src/core/engine/folder.js');
const { buildGraph } = require('../../out/src/core/engine/build.js');
const { addScoringOutputs } = require('../../out/src/core/engine/graph.js');
const { encodeModel } = require('../../out/src/core/engine/onnx.js');
const f = openModelFolder('/work/shared/demo/hf/qwen3-fp16');
for (const precision of ['float32', 'float16']) {
  const g = buildGraph(f.arch, f.ckpt, { precision });
  const bytes = addScoringOutputs(encodeModel(g.model), 10);
  try {
    const s = await ort.InferenceSession.create(bytes, { extra: { session: { model_external_initializers_file_folder_path: g.folder } } });
    const T = 20;
    const ids = new BigInt64Array(T).map((_, i) => BigInt((i * 37) % 4000));
    const r = await s.run({ input_ids: new ort.Tensor('int64', ids, [1, T]), position_ids: new ort.Tensor('int64', new BigInt64Array(T).map((_, i) => BigInt(i)), [1, T]), pl_targets: new ort.Tensor('int64', ids, [1, T]) });
    console.log(precision, Array.from(r.pl_logp.data.slice(0, 5)).map((x) => x.toFixed(4)).join(' '));
  } catch (e) { console.log(precision, 'ERR', e.message.slice(0, 200)); }
}
