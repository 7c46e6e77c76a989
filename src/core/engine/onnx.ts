/** Small helpers over onnx-proto (protobufjs-generated ModelProto classes) for building and editing graphs. */
import { onnx } from 'onnx-proto';

export { onnx };

export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModel(m: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

export function opsetVersion(m: onnx.IModelProto): number {
  const o = (m.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? Number(o.version) : 0;
}

/** Attributes that are floats even when their value is a whole number (2.0 would otherwise be written as an INT). */
const FLOAT_ATTRIBUTES = new Set(['epsilon', 'alpha', 'beta', 'scale', 'softcap']);

type AttrValue = number | number[] | string | { tensor: onnx.ITensorProto };

export function node(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue> = {}): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([k, v]) => {
    if (typeof v === 'string') return { name: k, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name: k, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
    if (typeof v === 'object') return { name: k, type: onnx.AttributeProto.AttributeType.TENSOR, t: v.tensor };
    if (Number.isInteger(v) && !FLOAT_ATTRIBUTES.has(k)) return { name: k, type: onnx.AttributeProto.AttributeType.INT, i: v };
    return { name: k, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
  });
  return { opType, input: inputs, output: outputs, name, attribute };
}

export function int64Tensor(name: string, values: number[], dims: number[] = [values.length]): onnx.ITensorProto {
  return { name, dims, dataType: DT.INT64, int64Data: values };
}

export function floatTensor(name: string, values: Float32Array | number[], dims: number[]): onnx.ITensorProto {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  return { name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) };
}

export function valueInfo(name: string, elemType: number, dims: Array<string | number>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/**
 * An exported graph's external data files (model.onnx_data …), relocated for loading from a buffer: each location
 * becomes its file's real name, and the one real folder that holds them is returned (onnxruntime reads external
 * data from one folder and refuses paths that leave it). Null when the graph has no external data.
 */
export function relocateExternalData(m: onnx.IModelProto, modelDir: string, realpath: (p: string) => string, join: (a: string, b: string) => string): { folder: string; files: string[] } | null {
  const folders = new Set<string>();
  const files = new Set<string>();
  for (const t of m.graph?.initializer ?? []) {
    const loc = (t.externalData ?? []).find((e) => e.key === 'location');
    if (!loc?.value) continue;
    const real = realpath(join(modelDir, loc.value));
    const slash = real.lastIndexOf('/');
    folders.add(real.slice(0, slash));
    files.add(real);
    loc.value = real.slice(slash + 1);
  }
  if (!folders.size) return null;
  if (folders.size > 1) throw new Error(`its external data files are in different folders (${[...folders].join(', ')})`);
  return { folder: [...folders][0], files: [...files] };
}

/** Static dims of a graph input (dimParam → null). */
export function inputDims(m: onnx.IModelProto, name: string): Array<number | null> | null {
  const vi = (m.graph?.input ?? []).find((i) => i.name === name);
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null));
}
