/**
 * What a model folder is (docs/ARCHITECTURE.md, "Models"): an Optimum ONNX export (`model.onnx`), a transformers
 * checkpoint (config.json + model.safetensors or its shards), or a PEFT LoRA adapter (adapter_config.json +
 * adapter_model.safetensors) whose base is a folder or a hub id in the local hub cache. Only headers and JSON are
 * read here; the description says what was opened, for the CLI's stderr and the Models view.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { CHUNK_SIZE, readBytes, withFile } from '../jsonl/reader.js';
import { basename, dirname, join } from 'node:path';
import type { AdapterSpec } from './build.js';
import { archOf } from './families/index.js';
import type { Arch } from './families/types.js';
import { ConfigJson } from './config.js';
import { ModelError } from '../errors.js';
import { locateModel, readJsonObject, resolveModelFile, type Located } from '../hub.js';
import { SafetensorsCheckpoint, type Dtype } from './safetensors.js';
import { writeAtomic } from '../files.js';

export type FolderKind = 'onnx' | 'checkpoint' | 'adapter';

export interface AdapterInfo extends AdapterSpec {
  file: string;
  baseRef: string;
  base: Located;
}

export interface ModelFolder {
  /** The folder as given (resolved). */
  dir: string;
  kind: FolderKind;
  /** The folder whose config.json and weights make the network (an adapter's base). */
  netDir: string;
  /** The folder whose tokenizer is used (the adapter's own when it has one, else its base's). */
  tokenizerDir: string;
  config: Record<string, unknown>;
  arch: Arch | null;
  ckpt: SafetensorsCheckpoint | null;
  adapter: AdapterInfo | null;
  parameters: number;
  dtypes: Dtype[];
  shards: number;
}

/**
 * Opens a model folder. `through`: the adapters that led here (an adapter's base that is the adapter itself, or two
 * adapters naming each other, is an error naming the circle, not an endless descent).
 */
export function openModelFolder(ref: string, relativeTo?: string, through: string[] = []): ModelFolder {
  const dir = locateModel(ref, relativeTo).dir;
  const real = realOf(dir);
  if (through.includes(real)) throw new ModelError(`${through.at(-1)}/adapter_config.json: its base ${dir} ${through.length === 1 ? 'is the adapter itself' : `leads back to ${real}: adapters that name each other as their base (${[...through, real].join(' → ')})`}`);
  if (existsSync(join(dir, 'adapter_config.json'))) return openAdapter(dir, [...through, real]);
  const configPath = join(dir, 'config.json');
  if (existsSync(join(dir, 'model.onnx'))) {
    const config = existsSync(configPath) ? readJsonObject(configPath, 'config.json') : {};
    return { dir, kind: 'onnx', netDir: dir, tokenizerDir: dir, config, arch: null, ckpt: null, adapter: null, parameters: 0, dtypes: [], shards: 0 };
  }
  if (!SafetensorsCheckpoint.has(dir)) {
    const hint = existsSync(join(dir, 'pytorch_model.bin')) ? ' (it has pytorch_model.bin: PrefLens reads safetensors, which transformers writes by default; re-save with safe_serialization=True)' : '';
    throw new ModelError(`${dir}: not a model folder: no model.onnx, model.safetensors, model.safetensors.index.json or adapter_config.json${hint}`);
  }
  if (!existsSync(configPath)) throw new ModelError(`${dir}: no config.json beside the safetensors weights`);
  const config = readJsonObject(configPath, 'config.json');
  const ckpt = SafetensorsCheckpoint.open(dir, 'model', resolveModelFile);
  const arch = archOf(new ConfigJson(config, configPath, layersInWeights(ckpt)));
  checkLayers(arch, ckpt, configPath);
  const s = ckpt.summary();
  return { dir, kind: 'checkpoint', netDir: dir, tokenizerDir: dir, config, arch, ckpt, adapter: null, parameters: s.parameters, dtypes: s.dtypes, shards: ckpt.files.length };
}

const realOf = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The layers a checkpoint's weights hold: 1 + the largest N of its `layers.N.` or `h.N.` tensors (0 when none). */
function layersInWeights(ckpt: SafetensorsCheckpoint): number {
  let have = 0;
  for (const name of ckpt.tensors.keys()) {
    const m = /(?:^|\.)(?:layers|h)\.(\d+)\./.exec(name);
    if (m) have = Math.max(have, Number(m[1]) + 1);
  }
  return have;
}

/**
 * config.json's layer count against the weights: more layers than the checkpoint holds is an error (before a graph of
 * a billion layers is built); fewer leaves weights unused, which transformers only warns about (so does PrefLens,
 * with every unused tensor: ScoringModel.warnings).
 */
function checkLayers(arch: Arch, ckpt: SafetensorsCheckpoint, configPath: string): void {
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^(?:${arch.tensors.prefixes.map((p) => esc(p.prefix)).join('|')})${esc(arch.tensors.layer)}(\\d+)\\.`);
  let have = 0;
  for (const name of ckpt.tensors.keys()) {
    const m = re.exec(name);
    if (m) have = Math.max(have, Number(m[1]) + 1);
  }
  if (arch.layers > have) throw new ModelError(`${configPath}: the config says ${arch.layers} layers, but the checkpoint's weights hold ${have} (${arch.tensors.layer}0 … ${arch.tensors.layer}${have - 1})`);
}

function openAdapter(dir: string, through: string[]): ModelFolder {
  const cfgPath = join(dir, 'adapter_config.json');
  const c = readJsonObject(cfgPath, 'adapter_config.json');
  const kind = String(c.peft_type ?? 'LORA');
  if (kind !== 'LORA') throw new ModelError(`${cfgPath}: peft_type ${kind} is not supported (LoRA adapters are)`);
  if (c.use_dora === true) throw new ModelError(`${cfgPath}: DoRA adapters (use_dora) are not supported`);
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length) throw new ModelError(`${cfgPath}: modules_to_save (${c.modules_to_save.join(', ')}) is not supported: those modules' full weights would replace the base's`);
  if (c.bias !== undefined && c.bias !== 'none') throw new ModelError(`${cfgPath}: bias "${String(c.bias)}" is not supported (bias: "none" is)`);
  for (const k of ['rank_pattern', 'alpha_pattern'])
    if (c[k] && typeof c[k] === 'object' && Object.keys(c[k] as object).length) throw new ModelError(`${cfgPath}: ${k} is not supported`);
  const r = c.r;
  const alpha = c.lora_alpha ?? r;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1) throw new ModelError(`${cfgPath}: r is ${JSON.stringify(r)}; it must be a positive integer`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) throw new ModelError(`${cfgPath}: lora_alpha is ${JSON.stringify(alpha)}; it must be a positive number`);
  for (const k of ['use_rslora', 'use_dora'])
    if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'boolean') throw new ModelError(`${cfgPath}: ${k} is ${JSON.stringify(c[k])}; it must be true or false`);
  const targets = c.target_modules;
  if (!(typeof targets === 'string' || (Array.isArray(targets) && targets.every((t) => typeof t === 'string'))))
    throw new ModelError(`${cfgPath}: target_modules must be a list of module names or a regular expression`);
  if (typeof targets === 'string' && targets !== 'all-linear')
    try {
      new RegExp(`^(?:${targets})$`);
    } catch (e) {
      throw new ModelError(`${cfgPath}: target_modules "${targets}" is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`);
    }
  const baseRef = typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : '';
  if (!baseRef) throw new ModelError(`${cfgPath}: no base_model_name_or_path: give the base model's folder or hub id`);
  let base: Located;
  try {
    base = locateModel(baseRef, dir);
  } catch (e) {
    throw new ModelError(`${cfgPath}: the base model: ${e instanceof Error ? e.message : String(e)}`);
  }
  const baseFolder = openModelFolder(base.dir, undefined, through);
  if (baseFolder.kind !== 'checkpoint') throw new ModelError(`${cfgPath}: the base ${base.dir} is ${baseFolder.kind === 'adapter' ? 'itself an adapter' : 'an ONNX export'}; an adapter needs its base's safetensors checkpoint`);
  const weights = SafetensorsCheckpoint.open(dir, 'adapter_model', resolveModelFile);
  const adapter: AdapterInfo = { r, alpha, rslora: c.use_rslora === true, targets: targets as string[] | string, weights, file: weights.files[0], baseRef, base };
  const tokenizerDir = existsSync(join(dir, 'tokenizer.json')) ? dir : base.dir;
  return { ...baseFolder, dir, kind: 'adapter', tokenizerDir, adapter, parameters: baseFolder.parameters };
}

/** One line for stderr and the Models view: what was opened. */
export function describeFolder(f: ModelFolder): string {
  if (f.kind === 'onnx') return `ONNX export${typeof f.config.model_type === 'string' ? ` (${f.config.model_type})` : ''}`;
  const arch = Array.isArray(f.config.architectures) ? String(f.config.architectures[0]) : String(f.config.model_type);
  const w = `${arch}, ${f.parameters.toLocaleString('en-US')} parameters, ${f.dtypes.join('/')}, ${f.shards} ${f.shards === 1 ? 'file' : 'shards'}`;
  if (f.kind === 'checkpoint') return `safetensors checkpoint (${w})`;
  const a = f.adapter as AdapterInfo;
  const t = typeof a.targets === 'string' ? a.targets : a.targets.join(', ');
  return `LoRA adapter (r ${a.r}, α ${a.alpha}${a.rslora ? ', rsLoRA' : ''}; targets ${t}) on base ${a.baseRef} from ${a.base.foundIn === 'folder' ? a.base.dir : `${a.base.foundIn}: ${a.base.dir}`} (${w})`;
}

/**
 * sha256 of a file's bytes, remembered by (path, size, mtime) in the cache folder so that a large checkpoint is
 * hashed once. A hub-cache blob is named by its sha256 already.
 */
export function fileHash(path: string, cacheDir: string): string {
  const name = basename(path);
  if (/^[0-9a-f]{64}$/.test(name) && /\/blobs\//.test(path)) return name;
  const st = statSync(path);
  const memoDir = join(cacheDir, 'hashes');
  const memo = join(memoDir, createHash('sha256').update(`${path}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 32));
  if (existsSync(memo)) return readFileSync(memo, 'utf8').trim();
  const h = createHash('sha256');
  withFile(path, (fd, size) => {
    for (let pos = 0; pos < size; pos += CHUNK_SIZE) h.update(readBytes(fd, pos, Math.min(CHUNK_SIZE, size - pos)));
  });
  const hex = h.digest('hex');
  mkdirSync(memoDir, { recursive: true });
  writeAtomic(memo, hex);
  return hex;
}

/**
 * What a folder computes, as a cache key: where it is (its real path: a cached graph reads its weights from there) and
 * the content of every file it reads — its config, its weights, and (for an adapter) the adapter's.
 */
export function folderHash(f: ModelFolder, cacheDir: string, withAdapter = true): string {
  const h = createHash('sha256').update(realOf(f.netDir)).update('\0').update(JSON.stringify(f.config));
  for (const file of f.ckpt?.files ?? []) h.update(fileHash(file, cacheDir));
  if (withAdapter && f.adapter) {
    h.update(realOf(f.dir)).update('\0');
    h.update(readFileSync(resolveModelFile(join(f.dir, 'adapter_config.json'))));
    for (const file of f.adapter.weights.files) h.update(fileHash(file, cacheDir));
  }
  return h.digest('hex');
}

/**
 * The loss type a model was trained with, when its training config names it: TRL's `loss_type` in a
 * `dpo_config.json` / `cpo_config.json` beside the model or in its run folder (a checkpoint's parent), or
 * LLaMA-Factory's `pref_loss` in `training_args.yaml`. Null when none says.
 */
export function lossTypeOf(modelDir: string): string | null {
  for (const dir of [modelDir, dirname(modelDir)]) {
    for (const f of ['dpo_config.json', 'cpo_config.json']) {
      const p = join(dir, f);
      if (!existsSync(p)) continue;
      try {
        const c = JSON.parse(readFileSync(p, 'utf8')) as { loss_type?: unknown };
        const t = Array.isArray(c.loss_type) ? c.loss_type[0] : c.loss_type;
        if (typeof t === 'string') return t;
      } catch {
        /* not a config we understand */
      }
    }
    const yaml = join(dir, 'training_args.yaml');
    if (existsSync(yaml)) {
      const m = /^pref_loss:\s*["']?([A-Za-z_]+)/m.exec(readFileSync(yaml, 'utf8'));
      if (m) return m[1];
    }
  }
  return null;
}
