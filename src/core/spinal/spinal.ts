/**
 * SPINAL layer traces (docs/ARCHITECTURE.md, "SPINAL traces"; PrefLens' operationalisation of the SPINAL abstract):
 * rows = the response tokens of the records (hidden state at each response token's position), at every layer
 * boundary l = 0..L (0 = after the embeddings, L = after the last block, before the final norm).
 * - contraction α_l = −(least-squares slope of log σ_k against log k) over the lower half of the singular values
 *   (k = ⌊K/2⌋+1..K, K = min(N − 1, D)) of the column-centred N × D token × hidden matrix (float64: Gram matrix by
 *   onnxruntime, two-stage symmetric eigensolver, linalg.ts);
 * - transport 𝓛_l (l < L) = mean over tokens of 2·arccos(BC(p_l, p_{l+1})), BC = Σ_v √(p q), p_l the logit-lens
 *   distribution softmax(W_U · final_norm(h_l)) computed by a small ONNX graph (p_L is the model's own).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { centredSingularValues } from './linalg.js';
import { decodeModel, DT, encodeModel, floatTensor, int64Tensor, node, onnx, relocateExternalData, valueInfo } from '../engine/onnx.js';
import { createSession, emptyPastShape, loraFeeds, pastDimsOf, readConfig, type ModelConfig, type ProviderChoice } from '../engine/model.js';
import { defaultCacheDir, writeAtomic } from '../files.js';
import { buildGraph, buildLensGraph, type Arch } from '../engine/build.js';
import { openModelFolder } from '../engine/folder.js';
import { readFloat32, type SafetensorsCheckpoint } from '../engine/safetensors.js';
import { inputFeeds } from '../engine/scorer.js';
import { ModelTokenizer, type LengthLimits } from '../tokenize/encoder.js';
import { addHiddenOutputs, HiddenStateError } from './hidden.js';
import type { PreferenceRecord } from '../types.js';
import { InputError } from '../errors.js';
import type { SpinalLayer, SpinalTrace } from '../contract.js';

export type { SpinalLayer, SpinalTrace };



export interface SpinalOptions extends LengthLimits {
  provider?: ProviderChoice;
  cacheDir?: string;
  /** Tensor names h_0 … h_L when the graph cannot be understood. */
  hiddenStates?: string[];
  threads?: number;
  tokenBudget?: number;
}

/** α from singular values (descending): −slope of log σ_k vs log k over k = ⌊K/2⌋+1..K. */
export function contractionFromSingularValues(sv: ArrayLike<number>): number {
  const K = sv.length;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = Math.floor(K / 2) + 1; k <= K; k++) {
    const s = sv[k - 1];
    if (!(s > 0)) continue;
    xs.push(Math.log(k));
    ys.push(Math.log(s));
  }
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return -sxy / sxx;
}

/**
 * α of a set of token rows (N × D): column-centred in float64, singular values by the Gram matrix and a two-stage
 * symmetric eigensolver (linalg.ts; the dense SVD where that would lose accuracy).
 */
export async function contraction(rows: ArrayLike<number>[], dim: number, threads?: number): Promise<number> {
  const n = rows.length;
  const x = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += r[j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) x[i * dim + j] = r[j] - mean[j];
  });
  // Centring leaves rank ≤ N − 1 (centredSingularValues returns the first min(N − 1, D)); exactly repeated rows (the
  // same token at the same position in two records, at the embeddings) lower it further. K = min(N − 1, D, r), r the
  // numerical rank as numpy's matrix_rank counts it: σ_k > σ_1 · max(N, D) · ε (float64). A numerically-zero σ never
  // enters the fit (docs/ARCHITECTURE.md, "SPINAL traces").
  const { values } = await centredSingularValues(x, n, dim, threads);
  return contractionFromSingularValues(values.subarray(0, numericalRank(values, n, dim)));
}

/** The numerical rank of an N × D matrix from its singular values (descending), as numpy's matrix_rank counts it. */
export function numericalRank(sv: ArrayLike<number>, n: number, d: number): number {
  const tol = (sv[0] ?? 0) * Math.max(n, d) * 2 ** -52;
  let r = 0;
  while (r < sv.length && sv[r] > tol) r++;
  return r;
}

function tensorData(t: onnx.ITensorProto, externalFolder?: string): Float32Array {
  const ext = t.externalData ?? [];
  if (ext.length && externalFolder) {
    const get = (k: string): string => ext.find((e) => e.key === k)?.value ?? '';
    return readFloat32({ name: t.name ?? '', dtype: 'F32', file: join(externalFolder, get('location')), offset: Number(get('offset') || 0), length: Number(get('length')) });
  }
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData.length);
    copy.set(t.rawData);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

interface Lens {
  kind: 'layernorm' | 'rmsnorm';
  weight: Float32Array;
  bias: Float32Array | null;
  eps: number;
  /** W_U as [D, V] */
  wu: Float32Array;
  dim: number;
  vocab: number;
}

/** The final norm and the unembedding of a GPT-2- or Llama-style graph, read from its initializers. */
export function findLens(m: onnx.IModelProto, cfg: { modelType: string; eps: number | null }, externalFolder?: string): Lens {
  const g = m.graph;
  if (!g) throw new HiddenStateError('no graph');
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const logitsName = (g.output ?? []).find((o) => o.name === 'logits')?.name ?? g.output?.[0]?.name ?? '';
  const head = producer.get(logitsName);
  if (!head || (head.opType !== 'MatMul' && head.opType !== 'Gemm')) throw new HiddenStateError('the logits are not produced by a MatMul: cannot find the unembedding');
  let wname = head.input?.[1] ?? '';
  let wu: Float32Array;
  let dims: number[];
  const wt = inits.get(wname);
  if (wt) {
    wu = tensorData(wt, externalFolder);
    dims = (wt.dims ?? []).map(Number);
    const transB = head.attribute?.find((a) => a.name === 'transB')?.i;
    if (head.opType === 'Gemm' && Number(transB ?? 0) === 1) {
      wu = transpose(wu, dims[0], dims[1]);
      dims = [dims[1], dims[0]];
    }
  } else {
    const tr = producer.get(wname);
    const src = tr?.opType === 'Transpose' ? inits.get(tr.input?.[0] ?? '') : undefined;
    if (!src) throw new HiddenStateError(`cannot read the unembedding weight "${wname}"`);
    wname = src.name ?? '';
    const d = (src.dims ?? []).map(Number);
    wu = transpose(tensorData(src, externalFolder), d[0], d[1]);
    dims = [d[1], d[0]];
  }
  const [dim, vocab] = dims;
  const names = [...inits.keys()];
  const w = names.find((n) => /(ln_f|final_layer_norm|model\.norm|(^|\.)norm)\.weight$/.test(n));
  if (!w) throw new HiddenStateError('cannot find the final norm weight (ln_f.weight / norm.weight)');
  const b = inits.get(w.replace(/weight$/, 'bias'));
  const kind = b ? 'layernorm' : 'rmsnorm';
  return {
    kind,
    weight: tensorData(inits.get(w) as onnx.ITensorProto, externalFolder),
    bias: b ? tensorData(b, externalFolder) : null,
    eps: cfg.eps ?? (kind === 'layernorm' ? 1e-5 : 1e-6),
    wu,
    dim,
    vocab,
  };
}

function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/** ONNX graph: BC(p_a, p_b) per row, p = softmax(W_U · norm(h)). */
function lensGraph(l: Lens): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [floatTensor('wu', l.wu, [l.dim, l.vocab]), floatTensor('g', l.weight, [l.dim]), int64Tensor('ax', [-1])];
  if (l.bias) inits.push(floatTensor('b', l.bias, [l.dim]));
  inits.push({ name: 'eps', dims: [], dataType: DT.FLOAT, floatData: [l.eps] });
  for (const x of ['a', 'b_in']) {
    const inp = x === 'a' ? 'ha' : 'hb';
    if (l.kind === 'layernorm') nodes.push(node('LayerNormalization', [inp, 'g', 'b'], [`${x}_n`], `${x}_ln`, { axis: -1, epsilon: l.eps }));
    else {
      nodes.push(node('Mul', [inp, inp], [`${x}_sq`], `${x}_sq`));
      nodes.push(node('ReduceMean', [`${x}_sq`], [`${x}_ms`], `${x}_mean`, { axes: [-1], keepdims: 1 }));
      nodes.push(node('Add', [`${x}_ms`, 'eps'], [`${x}_mse`], `${x}_eps`));
      nodes.push(node('Sqrt', [`${x}_mse`], [`${x}_rms`], `${x}_sqrt`));
      nodes.push(node('Div', [inp, `${x}_rms`], [`${x}_nn`], `${x}_div`));
      nodes.push(node('Mul', [`${x}_nn`, 'g'], [`${x}_n`], `${x}_scale`));
    }
    nodes.push(node('MatMul', [`${x}_n`, 'wu'], [`${x}_logits`], `${x}_mm`));
    nodes.push(node('Softmax', [`${x}_logits`], [`${x}_p`], `${x}_softmax`, { axis: -1 }));
  }
  nodes.push(node('Mul', ['a_p', 'b_in_p'], ['pq'], 'pq'));
  nodes.push(node('Sqrt', ['pq'], ['spq'], 'spq'));
  nodes.push(node('ReduceSum', ['spq', 'ax'], ['bc'], 'bc', { keepdims: 0 }));
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'lens', node: nodes, initializer: inits, input: [valueInfo('ha', DT.FLOAT, ['n', l.dim]), valueInfo('hb', DT.FLOAT, ['n', l.dim])], output: [valueInfo('bc', DT.FLOAT, ['n'])] },
  });
}

/** The hidden-state session and the logit lens of a model folder: an ONNX export (graph surgery) or a checkpoint / adapter (built graph). */
async function openForSpinal(
  modelDir: string,
  opts: SpinalOptions,
): Promise<{ session: ort.InferenceSession; lensSession: ort.InferenceSession; names: string[]; cfg: ModelConfig; pastDims: Map<string, number[]>; tok: ModelTokenizer; feeds: Record<string, ort.Tensor>; dim: number }> {
  const folder = openModelFolder(modelDir);
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'models');
  mkdirSync(dir, { recursive: true });
  if (folder.kind !== 'onnx') {
    // A checkpoint or an adapter: the built graph names its residual stream hidden.0 … hidden.L.
    const arch = folder.arch as Arch;
    const ck = folder.ckpt as SafetensorsCheckpoint;
    const built = buildGraph(arch, ck, { adapter: folder.adapter ?? undefined });
    if (built.model.graph) built.model.graph.output = built.hidden.map((name) => ({ name }));
    const lens = buildLensGraph(arch, ck);
    const { session } = await createSession(encodeModel(built.model), opts.provider ?? 'cpu', opts.threads, built.folder);
    const lensSession = (await createSession(encodeModel(lens.model), opts.provider ?? 'cpu', opts.threads, lens.folder)).session;
    return { session, lensSession, names: built.hidden, cfg: readConfig(folder.netDir), pastDims: new Map(), tok: ModelTokenizer.load(folder.tokenizerDir), feeds: loraFeeds(built.loraScale), dim: arch.hidden };
  }
  modelDir = folder.dir;
  const onnxPath = join(modelDir, 'model.onnx');
  const cfg = readConfig(modelDir);
  const tok = ModelTokenizer.load(modelDir);
  const bytes = readFileSync(onnxPath);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const proto = decodeModel(bytes);
  const external = relocateExternalData(proto, modelDir, realpathSync, join);
  const lens = findLens(proto, cfg, external?.folder);
  const pastDims = pastDimsOf(proto, cfg);
  // Hidden-state outputs, cached on disk by content hash (and by the tensor names when given).
  const key = createHash('sha256').update(hash).update(JSON.stringify(opts.hiddenStates ?? null)).digest('hex').slice(0, 32);
  const cached = join(dir, `${key}-hidden.onnx`);
  const namesFile = `${cached}.json`;
  let augmented: Uint8Array;
  let names: string[];
  if (existsSync(cached) && existsSync(namesFile)) {
    augmented = readFileSync(cached);
    names = JSON.parse(readFileSync(namesFile, 'utf8')) as string[];
  } else {
    const r = addHiddenOutputs(external ? encodeModel(proto) : bytes, opts.hiddenStates);
    augmented = r.bytes;
    names = r.names;
    writeAtomic(cached, augmented);
    writeAtomic(namesFile, JSON.stringify(names));
  }
  const { session } = await createSession(augmented, opts.provider ?? 'cpu', opts.threads, external?.folder);
  const lensSession = (await createSession(lensGraph(lens), opts.provider ?? 'cpu', opts.threads)).session;
  return { session, lensSession, names, cfg, pastDims, tok, feeds: {}, dim: lens.dim };
}

export async function spinalTrace(modelDir: string, records: PreferenceRecord[], opts: SpinalOptions): Promise<SpinalTrace> {
  const { session, lensSession, names, cfg, pastDims, tok, feeds: fixed, dim: D } = await openForSpinal(modelDir, opts);
  const L = names.length; // layers 0..L-1 here = l = 0..L_blocks
  const rows: Float32Array[][] = names.map(() => []);
  // Sequences: prompt + each response (TRL tokenization); rows at the response tokens' positions.
  const seqs: Array<{ ids: number[]; start: number; line: number }> = [];
  for (const rec of records) {
    const enc = tok.encodeRecord(rec, opts);
    for (const r of enc.responses) {
      // The sequence scoring uses (ModelTokenizer.sequence).
      const { ids, respStart } = tok.sequence(enc.convention, r);
      if (cfg.nPositions && ids.length > cfg.nPositions) throw new InputError(`line ${rec.line}: ${ids.length} tokens, more than the ${cfg.nPositions} positions of ${modelDir}; set the max lengths`);
      seqs.push({ ids, start: respStart, line: rec.line });
    }
  }
  for (const s of seqs) {
    const T = s.ids.length;
    const feeds = inputFeeds(session.inputNames, BigInt64Array.from(s.ids.map(BigInt)), new BigInt64Array(T).fill(1n), 1, T, (name) => emptyPastShape(pastDims, cfg, name, 1), fixed, modelDir);
    const out = await session.run(feeds);
    names.forEach((n, l) => {
      const h = out[n].data as Float32Array;
      // a NaN or an infinity in the residual stream is said where it first is (no eigen-solver meets it)
      for (let t = s.start; t < T; t++) {
        const row = h.slice(t * D, (t + 1) * D);
        const bad = row.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0)
          throw new HiddenStateError(`${modelDir}: the hidden state at layer ${l}${l === 0 ? ' (the embeddings)' : ''} is ${row[bad]} (dimension ${bad}) at token ${t - s.start + 1} of a response on line ${s.line}: the model's weights or its activations are not finite (an overflow in float16?), so no SPINAL trace can be computed`);
        rows[l].push(row);
      }
    });
  }
  const N = rows[0].length;
  const layers: SpinalLayer[] = [];
  for (let l = 0; l < L; l++) {
    const alpha = await contraction(rows[l], D, opts.threads);
    let transport: number | null = null;
    if (l < L - 1) {
      let sum = 0;
      for (let i0 = 0; i0 < N; i0 += 512) {
        const n = Math.min(512, N - i0);
        const a = new Float32Array(n * D);
        const b = new Float32Array(n * D);
        for (let i = 0; i < n; i++) {
          a.set(rows[l][i0 + i], i * D);
          b.set(rows[l + 1][i0 + i], i * D);
        }
        const r = await lensSession.run({ ha: new ort.Tensor('float32', a, [n, D]), hb: new ort.Tensor('float32', b, [n, D]) });
        const bc = r.bc.data as Float32Array;
        for (let i = 0; i < n; i++) sum += 2 * Math.acos(Math.min(1, Math.max(-1, bc[i])));
      }
      transport = sum / N;
    }
    layers.push({ layer: l, contraction: alpha, transport });
  }
  return { model: modelDir, records: records.length, tokens: N, layers };
}
