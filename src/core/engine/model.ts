/**
 * A model folder (docs/ARCHITECTURE.md, "Models"): model.onnx, config.json, tokenizer.json, tokenizer_config.json.
 * Loads the tokenizer, checks the folder, adds the scoring statistics to the graph (cached on disk by content
 * hash) and opens an onnxruntime session on CUDA when available, else on the CPU, saying which and why.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelTokenizer } from '../tokenize/encoder.js';
import { addScoringOutputs, GraphError } from './graph.js';
import { defaultCacheDir, writeAtomic } from './cache.js';

export { defaultCacheDir, writeAtomic };
import { decodeModel, inputDims } from './onnx.js';

export class ModelError extends Error {}

export type ProviderChoice = 'auto' | 'cuda' | 'cpu';

export interface ModelConfig {
  modelType: string;
  architecture: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  nPositions: number | null;
}

export function readConfig(dir: string): ModelConfig {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) throw new ModelError(`${dir}: no config.json in this model folder`);
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError(`${p}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const num = (...keys: string[]): number | null => {
    for (const k of keys) if (typeof c[k] === 'number') return c[k] as number;
    return null;
  };
  const heads = num('num_attention_heads', 'n_head') ?? 0;
  return {
    modelType: typeof c.model_type === 'string' ? c.model_type : 'unknown',
    architecture: Array.isArray(c.architectures) && typeof c.architectures[0] === 'string' ? c.architectures[0] : String(c.model_type ?? 'unknown'),
    layers: num('num_hidden_layers', 'n_layer') ?? 0,
    hidden: num('hidden_size', 'n_embd') ?? 0,
    heads,
    kvHeads: num('num_key_value_heads') ?? heads,
    vocabSize: num('vocab_size') ?? 0,
    nPositions: num('n_positions', 'max_position_embeddings'),
  };
}


export interface LoadOptions {
  provider?: ProviderChoice;
  /** Top-k for the in-graph statistics (k = 10: docs/ARCHITECTURE.md, "Metric conventions"). */
  k?: number;
  cacheDir?: string;
  threads?: number;
}

export class ScoringModel {
  private constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly tokenizer: ModelTokenizer,
    readonly session: ort.InferenceSession,
    readonly device: 'cuda' | 'cpu',
    readonly deviceNote: string,
    /** sha256 of model.onnx and config.json. */
    readonly contentHash: string,
    readonly parameters: number,
    readonly k: number,
    private readonly pastDims: Map<string, number[]>,
  ) {}

  get name(): string {
    return basename(resolve(this.dir));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Shape of the empty past key/value tensor fed for input `name` (past length 0). */
  pastShape(name: string, batch: number): number[] {
    return emptyPastShape(this.pastDims, this.config, name, batch);
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<ScoringModel> {
    const k = opts.k ?? 10;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelError(`${dir}: no such model folder`);
    const onnxPath = join(dir, 'model.onnx');
    if (!existsSync(onnxPath)) {
      const hint = existsSync(join(dir, 'model.safetensors')) ? ' (it has model.safetensors: export it to ONNX, e.g. with Optimum, for now)' : '';
      throw new ModelError(`${dir}: no model.onnx in this model folder${hint}`);
    }
    const config = readConfig(dir);
    const tokenizer = ModelTokenizer.load(dir);
    const bytes = readFileSync(onnxPath);
    const hash = createHash('sha256').update(bytes).update(readFileSync(join(dir, 'config.json'))).digest('hex');
    let proto;
    try {
      proto = decodeModel(bytes);
      if (!proto.graph?.node?.length) throw new Error('no graph nodes');
    } catch (e) {
      throw new ModelError(`${onnxPath}: not a valid ONNX model (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    if ((proto.graph?.initializer ?? []).some((t) => (t.externalData ?? []).length > 0))
      throw new ModelError(`${onnxPath}: models with external data files are not supported yet (PrefLens rewrites the graph and would lose the data references)`);
    let parameters = 0;
    for (const t of proto.graph?.initializer ?? []) parameters += (t.dims ?? []).reduce<number>((s, d) => s * Number(d), 1);
    // Vocabulary check: the logits width must cover the tokenizer's ids.
    const logitsVi = (proto.graph?.output ?? []).find((o) => o.name === 'logits') ?? proto.graph?.output?.[0];
    const lastDim = logitsVi?.type?.tensorType?.shape?.dim?.at(-1);
    const width = lastDim?.dimValue ? Number(lastDim.dimValue) : config.vocabSize;
    if (width && tokenizer.vocabSize > width)
      throw new ModelError(`${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but the model's logits are ${width} wide: this tokenizer does not belong to this model`);
    const pastDims = pastDimsOf(proto, config);
    const cacheDir = join(opts.cacheDir ?? defaultCacheDir(), 'models');
    mkdirSync(cacheDir, { recursive: true });
    const cached = join(cacheDir, `${hash.slice(0, 32)}-stats-k${k}.onnx`);
    let augmented: Uint8Array;
    if (existsSync(cached)) augmented = readFileSync(cached);
    else {
      try {
        augmented = addScoringOutputs(bytes, k);
      } catch (e) {
        if (e instanceof GraphError) throw new ModelError(`${onnxPath}: ${e.message}`);
        throw e;
      }
      writeAtomic(cached, augmented);
    }
    let created;
    try {
      created = await createSession(augmented, opts.provider ?? 'auto', opts.threads);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(`${onnxPath}: onnxruntime cannot load this model (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    const { session, device, note } = created;
    return new ScoringModel(dir, config, tokenizer, session, device, note, hash, parameters, k, pastDims);
  }
}

/** Dims of the graph's past_key_values.* inputs ([batch, kv heads, past length, head dim]), unknowns from config. */
export function pastDimsOf(proto: ReturnType<typeof decodeModel>, config: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const i of proto.graph?.input ?? []) {
    if (!i.name?.startsWith('past_key_values')) continue;
    const d = inputDims(proto, i.name);
    if (d) out.set(i.name, d.map((x, j) => x ?? (j === 1 ? config.kvHeads : j === 3 ? config.hidden / Math.max(1, config.heads) : 0)));
  }
  return out;
}

/** The empty (past length 0) past key/value tensor shape for input `name`, to score whole sequences. */
export function emptyPastShape(dims: Map<string, number[]>, config: ModelConfig, name: string, batch: number): number[] {
  const d = dims.get(name) ?? [1, config.kvHeads, 0, config.heads ? config.hidden / config.heads : 0];
  return [batch, d[1], 0, d[3]];
}

/** Where onnxruntime-node keeps its native libraries on this platform. */
function ortBinDir(): string {
  return join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the CUDA execution provider's libraries are installed next to onnxruntime-node (see README). */
export function cudaProviderInstalled(): boolean {
  try {
    return existsSync(join(ortBinDir(), 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

ort.env.logLevel = 'fatal';

/** CUDA when asked for (or on auto, when available), else CPU; the note says which and why. */
export async function createSession(
  model: Uint8Array | string,
  provider: ProviderChoice,
  threads?: number,
): Promise<{ session: ort.InferenceSession; device: 'cuda' | 'cpu'; note: string }> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  if (threads) base.intraOpNumThreads = threads;
  if (provider === 'auto' && !cudaProviderInstalled()) {
    const session = await ort.InferenceSession.create(model as Uint8Array, { ...base, executionProviders: ['cpu'] });
    const why = process.platform === 'linux' && process.arch === 'x64' ? 'the CUDA provider libraries are not installed (see README: GPU)' : `no CUDA provider for ${process.platform}-${process.arch}`;
    return { session, device: 'cpu', note: `CPU (${why})` };
  }
  if (provider !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(model as Uint8Array, { ...base, executionProviders: ['cuda'] });
      return { session, device: 'cuda', note: 'CUDA execution provider' };
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      if (provider === 'cuda') throw new ModelError(`the CUDA execution provider is not available: ${why}`);
      const session = await ort.InferenceSession.create(model as Uint8Array, { ...base, executionProviders: ['cpu'] });
      return { session, device: 'cpu', note: `CPU (CUDA not available: ${why.slice(0, 160)})` };
    }
  }
  const session = await ort.InferenceSession.create(model as Uint8Array, { ...base, executionProviders: ['cpu'] });
  return { session, device: 'cpu', note: 'CPU (chosen in settings)' };
}
