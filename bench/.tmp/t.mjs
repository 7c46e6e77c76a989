import { encodeModel, node, valueInfo, DT } from '/work/main/out/src/core/engine/onnx.js';
import * as ort from 'onnxruntime-node';
import { writeFileSync, symlinkSync, rmSync, existsSync } from 'node:fs';
const st = '/work/shared/demo/runs/tiny-hh-dpo/model.safetensors';
// tensor transformer.h.0.ln_1.weight at data offsets [264704,265216] after header
import { openSync, readSync } from 'node:fs';
const fd = openSync(st,'r'); const b = Buffer.alloc(8); readSync(fd,b,0,8,0); const n = Number(b.readBigUInt64LE(0));
const off = 8 + n + 264704;
for (const loc of ['w.safetensors', st, '../ext2/w.safetensors']) {
  const m = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node: [node('Add', ['x','w'], ['y'], 'a')],
    initializer: [{ name: 'w', dims: [128], dataType: DT.FLOAT, dataLocation: 1, externalData: [{key:'location', value: loc},{key:'offset', value:String(off)},{key:'length', value:'512'}] }],
    input: [valueInfo('x', DT.FLOAT, [128])], output: [valueInfo('y', DT.FLOAT, [128])] } };
  rmSync('/tmp/ext/w.safetensors', {force:true}); symlinkSync(st, '/tmp/ext/w.safetensors');
  writeFileSync('/tmp/ext/m.onnx', encodeModel(m));
  try { const s = await ort.InferenceSession.create('/tmp/ext/m.onnx'); const r = await s.run({x: new ort.Tensor('float32', new Float32Array(128), [128])}); console.log(loc, 'ok', r.y.data.slice(0,3)); } catch (e) { console.log(loc, 'ERR', e.message.slice(0,200)); }
}
