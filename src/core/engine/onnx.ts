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

type AttrValue = number | number[] | string | { tensor: onnx.ITensorProto };

export function node(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue> = {}): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([k, v]) => {
    if (typeof v === 'string') return { name: k, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name: k, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
    if (typeof v === 'object') return { name: k, type: onnx.AttributeProto.AttributeType.TENSOR, t: v.tensor };
    if (Number.isInteger(v) && !(k === 'epsilon' || k === 'alpha' || k === 'beta')) return { name: k, type: onnx.AttributeProto.AttributeType.INT, i: v };
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

/** Static dims of a graph input (dimParam → null). */
export function inputDims(m: onnx.IModelProto, name: string): Array<number | null> | null {
  const vi = (m.graph?.input ?? []).find((i) => i.name === name);
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null));
}
