import { encodeModel, node, valueInfo, DT } from '../../out/src/core/engine/onnx.js';
import * as ort from 'onnxruntime-node';
import { openSync, readSync } from 'node:fs';
const st = '/work/shared/demo/hf/hf-cache/hub/models--preflens-demo--tiny-hh-llama-lm/blobs/249b944bedcede3494b4aa9ff8be53363c98c869607c625c6c4099bcbebf5b24';
import { realpathSync } from 'node:fs'; import { dirname, basename } from 'node:path';
const real = realpathSync(st);
const fd = openSync(st,'r'); const b = Buffer.alloc(8); readSync(fd,b,0,8,0); const n = Number(b.readBigUInt64LE(0));
const hb = Buffer.alloc(n); readSync(fd, hb, 0, n, 8); const h = JSON.parse(hb.toString()); const [name, info] = Object.entries(h).find(([k]) => k.endsWith('norm.weight'));
console.log(name, info);
const off = 8 + n + info.data_offsets[0];
const m = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node: [node('Add', ['x','w'], ['y'], 'a')],
    initializer: [{ name: 'w', dims: [128], dataType: DT.FLOAT, dataLocation: 1, externalData: [{key:'location', value: basename(real)},{key:'offset', value:String(off)},{key:'length', value:'512'}] }],
    input: [valueInfo('x', DT.FLOAT, [128])], output: [valueInfo('y', DT.FLOAT, [128])] } };
try { const s = await ort.InferenceSession.create(encodeModel(m), { extra: { session: { model_external_initializers_file_folder_path: dirname(real) } } }); const r = await s.run({x: new ort.Tensor('float32', new Float32Array(128), [128])}); console.log('ok', r.y.data.slice(0,3)); } catch (e) { console.log('ERR', e.message.slice(0,300)); }
