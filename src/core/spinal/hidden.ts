/**
 * Graph surgery for SPINAL: finds the residual stream at every layer boundary of a decoder ONNX graph and adds it
 * as graph outputs. Torch and Optimum exports name block nodes `…/h.N/…` (GPT-2) or `…/layers.N/…` (Llama).
 * h_0 is the tensor that block 0's first normalisation takes from outside the block (the embeddings); h_N (N ≥ 1)
 * is the output of block N−1's Add that is consumed outside that block (its last residual Add). When the graph
 * cannot be understood, the caller may give the tensor names (setting or --hidden-states).
 */
import { decodeModel, encodeModel, onnx } from '../engine/onnx.js';
import { InputError } from '../errors.js';

export class HiddenStateError extends InputError {}

export interface HiddenStates {
  /** tensor names h_0 … h_L */
  names: string[];
  prefix: string;
}

export function findHiddenStates(m: onnx.IModelProto): HiddenStates {
  const nodes = m.graph?.node ?? [];
  const inits = new Set((m.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const producer = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) {
      const list = consumers.get(i) ?? [];
      list.push(n);
      consumers.set(i, list);
    }
  }
  const blockRe = /^(.*\/(?:h|layers|layer|blocks|decoder\.layers|model\.layers))\.(\d+)\//;
  const blocks = new Map<number, onnx.INodeProto[]>();
  let prefix = '';
  for (const n of nodes) {
    const mm = blockRe.exec(n.name ?? '');
    if (!mm) continue;
    prefix = mm[1];
    const k = Number(mm[2]);
    const list = blocks.get(k) ?? [];
    list.push(n);
    blocks.set(k, list);
  }
  const L = blocks.size;
  if (L === 0) throw new HiddenStateError('no decoder blocks found: node names do not follow …/h.N/… or …/layers.N/…');
  const inBlock = (n: onnx.INodeProto, k: number): boolean => (n.name ?? '').startsWith(`${prefix}.${k}/`);
  const names: string[] = [];
  // h_0: the outside input of block 0's first normalisation (LayerNorm or RMSNorm, fused or decomposed).
  const NORM_OPS = new Set(['LayerNormalization', 'SimplifiedLayerNormalization', 'SkipLayerNormalization', 'RMSNormalization', 'ReduceMean', 'Pow', 'Cast', 'Mul']);
  const b0 = blocks.get(0) ?? [];
  for (const n of b0) {
    if (!NORM_OPS.has(n.opType ?? '')) continue;
    for (const i of n.input ?? []) {
      const p = producer.get(i);
      if (inits.has(i) || (p && (inBlock(p, 0) || p.opType === 'Constant'))) continue;
      names.push(i);
      break;
    }
    if (names.length) break;
  }
  if (!names.length) throw new HiddenStateError('cannot find the embedding output that enters block 0');
  for (let k = 0; k < L; k++) {
    const adds = (blocks.get(k) ?? []).filter((n) => n.opType === 'Add' && (n.output ?? []).some((o) => (consumers.get(o) ?? []).some((c) => !inBlock(c, k))));
    if (adds.length === 0) throw new HiddenStateError(`block ${k}: no residual Add whose output leaves the block`);
    names.push(adds[adds.length - 1].output?.[0] ?? '');
  }
  return { names, prefix };
}

/** The model with h_0 … h_L as its only outputs (onnxruntime then skips the LM head). */
export function addHiddenOutputs(modelBytes: Uint8Array, names?: string[]): { bytes: Uint8Array; names: string[] } {
  const m = decodeModel(modelBytes);
  const found = names ?? findHiddenStates(m).names;
  const known = new Set((m.graph?.node ?? []).flatMap((n) => n.output ?? []));
  for (const n of found) if (!known.has(n)) throw new HiddenStateError(`no tensor named "${n}" in the graph`);
  if (m.graph) m.graph.output = found.map((name) => ({ name }));
  return { bytes: encodeModel(m), names: found };
}
