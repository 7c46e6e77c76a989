/**
 * A model folder (docs/ARCHITECTURE.md, "Models"): model.onnx, config.json, tokenizer.json, tokenizer_config.json.
 * Loads the tokenizer, checks the folder, adds the scoring statistics to the graph (cached on disk by content
 * hash) and opens an onnxruntime session on CUDA when available, else on the CPU, saying which and why.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelTokenizer } from '../tokenize/encoder.js';
import { addScoringOutputs, GraphError } from './graph.js';
import { defaultCacheDir, writeAtomic } from '../files.js';
import { decodeModel, encodeModel, inputDims, relocateExternalData } from './onnx.js';
import { buildGraph } from './build.js';
import type { Arch } from './families/types.js';
import { isHubId } from '../hub.js';
import { readConfig, type ModelConfig } from './config.js';

export { readConfig, type ModelConfig };
import { describeFolder, fileHash, folderHash, openModelFolder, type FolderKind, type ModelFolder } from './folder.js';
import type { SafetensorsCheckpoint } from './safetensors.js';

import { ModelError } from '../errors.js';

export { ModelError };

export type ProviderChoice = 'auto' | 'cuda' | 'cpu';

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
    /** sha256 of what the model computes (ONNX bytes, or config + weights + adapter) and config.json. */
    readonly contentHash: string,
    readonly parameters: number,
    readonly k: number,
    private readonly pastDims: Map<string, number[]>,
    /** What was opened (kind, architecture, dtype, shards, adapter, base): one line for stderr and the Models view. */
    readonly description: string,
    readonly folder: ModelFolder,
    /** Inputs of PrefLens' own graphs that are fixed for this model (the LoRA scale). */
    readonly feeds: Record<string, ort.Tensor>,
    /** For an adapter: the content hash of its base alone (see baseOf). */
    private readonly baseHash: string | null,
    /** True when this model shares its session with another (an adapter's base as its reference). */
    readonly shared: boolean = false,
  ) {}

  /** What is odd about the folder but does not stop it (transformers warns likewise): printed, shown in the Models view. */
  readonly warnings: string[] = [];

  get name(): string {
    return basename(resolve(this.dir));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get kind(): FolderKind {
    return this.folder.kind;
  }

  /** Shape of the empty past key/value tensor fed for input `name` (past length 0). */
  pastShape(name: string, batch: number): number[] {
    return emptyPastShape(this.pastDims, this.config, name, batch);
  }

  /**
   * An adapter's base, as the reference when none is given (what TRL does with a PEFT model and no ref_model): the
   * same session with the LoRA scale 0, so that policy and reference share one copy of the base weights.
   */
  baseOf(): ScoringModel | null {
    const a = this.folder.adapter;
    if (!a || this.baseHash === null) return null;
    return new ScoringModel(a.base.dir, this.config, this.tokenizer, this.session, this.device, this.deviceNote, this.baseHash, this.parameters, this.k, this.pastDims,
      `base of ${this.dir} (${a.baseRef}), sharing the adapter's session and base weights`, { ...this.folder, kind: 'checkpoint', dir: a.base.dir, adapter: null }, loraFeeds(0), null, true);
  }

  async release(): Promise<void> {
    if (!this.shared) await this.session.release();
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<ScoringModel> {
    const k = opts.k ?? 10;
    if (!existsSync(dir) && !isHubId(dir)) throw new ModelError(`${dir}: no such model folder`);
    const folder = openModelFolder(dir);
    if (folder.kind !== 'onnx') return ScoringModel.loadBuilt(folder, opts, k);
    dir = folder.dir;
    const onnxPath = join(dir, 'model.onnx');
    const config = readConfig(dir);
    const tokenizer = ModelTokenizer.load(dir);
    const bytes = readFileSync(onnxPath);
    // the key of what this folder computes: where it is (its external data is read from there) and what it holds
    let hash = createHash('sha256').update(realpathSync(dir)).update('\0').update(bytes).update(readFileSync(join(dir, 'config.json'))).digest('hex');
    let proto;
    try {
      proto = decodeModel(bytes);
      if (!proto.graph?.node?.length) throw new Error('no graph nodes');
    } catch (e) {
      throw new ModelError(`${onnxPath}: not a valid ONNX model (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    // Exports over 2 GB keep their weights in external data files: the rewritten graph points at them in place.
    let external: { folder: string; files: string[] } | null;
    try {
      external = relocateExternalData(proto, dir, realpathSync, join);
    } catch (e) {
      throw new ModelError(`${onnxPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const f of external?.files ?? []) if (!existsSync(f)) throw new ModelError(`${onnxPath}: its external data file ${f} is missing`);
    if (external) {
      const h = createHash('sha256').update(hash);
      for (const f of external.files) h.update(fileHash(f, opts.cacheDir ?? defaultCacheDir()));
      hash = h.digest('hex');
    }
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
        augmented = addScoringOutputs(external ? encodeModel(proto) : bytes, k);
      } catch (e) {
        if (e instanceof GraphError) throw new ModelError(`${onnxPath}: ${e.message}`);
        throw e;
      }
      writeAtomic(cached, augmented);
    }
    let created;
    try {
      created = await createSession(augmented, opts.provider ?? 'auto', opts.threads, external?.folder);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(`${onnxPath}: onnxruntime cannot load this model (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    const { session, device, note } = created;
    return new ScoringModel(dir, config, tokenizer, session, device, note, hash, parameters, k, pastDims, describeFolder(folder), folder, {}, null);
  }

  /** A safetensors checkpoint or a LoRA adapter: the graph is built from config.json (build.ts), weights in place. */
  private static async loadBuilt(folder: ModelFolder, opts: LoadOptions, k: number): Promise<ScoringModel> {
    const root = opts.cacheDir ?? defaultCacheDir();
    const config = readConfig(folder.netDir);
    const tokenizer = ModelTokenizer.load(folder.tokenizerDir);
    const arch = folder.arch as Arch;
    if (tokenizer.vocabSize > arch.vocab)
      throw new ModelError(`${folder.tokenizerDir}: tokenizer.json has ${tokenizer.vocabSize} tokens but ${folder.netDir}/config.json has vocab_size ${arch.vocab}: this tokenizer does not belong to this model`);
    const hash = folderHash(folder, root);
    const baseHash = folder.adapter ? folderHash(folder, root, false) : null;
    const cacheDir = join(root, 'models');
    mkdirSync(cacheDir, { recursive: true });
    const ck = folder.ckpt as SafetensorsCheckpoint;
    // The external data is always read from the folder being opened (never from where a cached graph was built).
    const weightsFolder = ck.commonFolder();
    if (!weightsFolder) throw new ModelError(`${ck.dir}: the checkpoint's files resolve to different folders (${ck.files.join(', ')}); onnxruntime reads external data from one folder`);
    let unused: string[] = [];
    const graphFor = (precision: Precision): { bytes: Uint8Array; folder: string; loraScale: number | null } => {
      const cached = join(cacheDir, `${hash.slice(0, 32)}-built-${precision}-stats-k${k}.onnx`);
      const meta = `${cached}.json`;
      if (existsSync(cached) && existsSync(meta)) {
        try {
          const m = JSON.parse(readFileSync(meta, 'utf8')) as { loraScale: number | null; unused?: string[] };
          unused = m.unused ?? [];
          return { bytes: readFileSync(cached), folder: weightsFolder, loraScale: m.loraScale };
        } catch {
          /* a damaged cache entry is built again */
        }
      }
      const built = buildGraph(arch, ck, { precision, adapter: folder.adapter ?? undefined });
      const bytes = addScoringOutputs(encodeModel(built.model), k);
      unused = built.unused;
      writeAtomic(cached, bytes);
      writeAtomic(meta, JSON.stringify({ loraScale: built.loraScale, unused }));
      return { bytes, folder: weightsFolder, loraScale: built.loraScale };
    };
    let created: Awaited<ReturnType<typeof createBuiltSession>>;
    try {
      created = await createBuiltSession(graphFor, opts.provider ?? 'auto', opts.threads);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(`${folder.dir}: onnxruntime cannot load the graph built from config.json (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    const m = new ScoringModel(folder.dir, config, tokenizer, created.session, created.device, created.note, hash, folder.parameters, k, new Map(), describeFolder(folder), folder, loraFeeds(created.loraScale), baseHash);
    // transformers warns about checkpoint weights the model does not use; so does PrefLens
    if (unused.length)
      m.warnings.push(`${ck.dir}: ${unused.length} tensor${unused.length === 1 ? '' : 's'} of the checkpoint ${unused.length === 1 ? 'is' : 'are'} not used by the model config.json describes: ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ', …' : ''}`);
    return m;
  }
}

export type Precision = 'float32' | 'float16';

/** The feed of a built graph's LoRA scale input (build.ts): α/r for the adapter, 0 for its base; none without one. */
export function loraFeeds(scale: number | null): Record<string, ort.Tensor> {
  return scale === null ? {} : { pl_lora_scale: new ort.Tensor('float32', new Float32Array([scale]), [1]) };
}

/**
 * A session for a built graph: the float16 graph on CUDA when asked for (or on auto, when available), else the
 * float32 graph on the CPU. External data is read from the checkpoint's folder.
 */
export async function createBuiltSession(
  graphFor: (p: Precision) => { bytes: Uint8Array; folder: string; loraScale: number | null },
  provider: ProviderChoice,
  threads?: number,
): Promise<{ session: ort.InferenceSession; device: 'cuda' | 'cpu'; note: string; loraScale: number | null }> {
  const wantCuda = provider === 'cuda' || (provider === 'auto' && cudaProviderInstalled());
  if (wantCuda) {
    const g = graphFor('float16');
    try {
      const r = await createSession(g.bytes, 'cuda', threads, g.folder);
      return { ...r, note: `${r.note}, float16 graph`, loraScale: g.loraScale };
    } catch (e) {
      if (provider === 'cuda') throw e;
      const g32 = graphFor('float32');
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      const r = await createSession(g32.bytes, 'cpu', threads, g32.folder);
      return { ...r, note: `CPU (CUDA not available: ${why.slice(0, 160)})`, loraScale: g32.loraScale };
    }
  }
  const g = graphFor('float32');
  const r = await createSession(g.bytes, provider === 'auto' ? 'auto' : 'cpu', threads, g.folder);
  return { ...r, loraScale: g.loraScale };
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

/** Session options shared by every model session. */
function sessionBase(threads?: number, externalFolder?: string): ort.InferenceSession.SessionOptions {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  if (threads) base.intraOpNumThreads = threads;
  // A graph built from a checkpoint reads its weights as external data from the checkpoint's folder (build.ts).
  // Measured on a Qwen2.5-0.5B-shaped bf16 checkpoint (bench/score): prepacked GEMM weights are a second copy of
  // every matrix (the tied embedding is kept twice), and the arena keeps the vocabulary-wide intermediates; without
  // both, loading peaks at 1.07× the float32 size instead of 1.44×, scoring at 2.8 GB instead of 4.2 GB, at the same speed.
  if (externalFolder) {
    base.extra = { session: { model_external_initializers_file_folder_path: externalFolder, disable_prepacking: '1' } };
    base.enableCpuMemArena = false;
  }
  return base;
}

/** CUDA when asked for (or on auto, when available), else CPU; the note says which and why. */
export async function createSession(
  model: Uint8Array | string,
  provider: ProviderChoice,
  threads?: number,
  externalFolder?: string,
): Promise<{ session: ort.InferenceSession; device: 'cuda' | 'cpu'; note: string }> {
  const base = sessionBase(threads, externalFolder);
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
