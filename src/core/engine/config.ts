/**
 * The one reader of a model's config.json (docs/ARCHITECTURE.md, "Models"): the settings every decoder has, by the
 * names transformers' families give them, for an ONNX export as for a checkpoint; a family's own interpretation
 * (families/) reads its settings through the same accessors. Multimodal configs (Gemma 3) keep the language model's
 * settings in `text_config`: `text` is that object merged over the top-level `model_type` and `architectures`.
 * Pure: no onnxruntime, so that the host worker can describe a model folder without loading the engine.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import { readJsonObject } from '../hub.js';

/** What the engine needs of any model, whatever its family (and of an ONNX export, whose family may be unknown). */
export interface ModelConfig {
  modelType: string;
  architecture: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  nPositions: number | null;
  /** The norms' epsilon (layer_norm_epsilon or rms_norm_eps), or null. */
  eps: number | null;
}

/** A value for a message: numbers as JavaScript writes them (-Infinity, NaN), the rest as JSON. */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v));

/** A config.json, read once: typed accessors that name the file in their errors. */
export class ConfigJson {
  /** The language model's settings (`text_config` merged over `model_type` and `architectures` when present). */
  readonly text: Readonly<Record<string, unknown>>;

  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    /** The file, for messages. */
    readonly path: string,
    /** The layers the checkpoint's weights hold (its `layers.N.` / `h.N.` tensors), when a checkpoint is opened. */
    readonly layersInWeights: number | null = null,
  ) {
    const tc = raw.text_config;
    this.text = typeof tc === 'object' && tc !== null && !Array.isArray(tc) ? { ...(tc as Record<string, unknown>), architectures: raw.architectures, model_type: raw.model_type } : raw;
  }

  static read(dir: string): ConfigJson {
    const p = join(dir, 'config.json');
    if (!existsSync(p)) throw new ModelError(`${dir}: no config.json in this model folder`);
    return new ConfigJson(readJsonObject(p, 'config.json'), p);
  }

  get modelType(): string {
    return typeof this.raw.model_type === 'string' ? this.raw.model_type : '';
  }

  /** The first of `keys` that holds a number in the language model's settings, else null. */
  num(...keys: string[]): number | null {
    for (const k of keys) {
      const v = this.text[k];
      if (typeof v === 'number') return v;
    }
    return null;
  }

  /** A number the model cannot do without: the first of `keys`, else an error naming the file and the key. */
  need(...keys: string[]): number {
    const v = this.num(...keys);
    if (v === null) throw new ModelError(`${this.path}: "${keys[0]}" is missing or not a number`);
    return v;
  }

  /** The key of `keys` that is set (for messages), else the first. */
  private keyOf(keys: string[]): string {
    return keys.find((k) => this.text[k] !== undefined && this.text[k] !== null) ?? keys[0];
  }

  /** A size or count (hidden size, heads, layers, vocabulary…): a positive integer, or null when absent. */
  count(...keys: string[]): number | null {
    const k = this.keyOf(keys);
    const v = this.text[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new ModelError(`${this.path}: "${k}" is ${show(v)}; it must be a positive integer`);
    return v;
  }

  /** A size or count the model cannot do without. */
  needCount(...keys: string[]): number {
    const v = this.count(...keys);
    if (v === null) throw new ModelError(`${this.path}: "${keys[0]}" is missing`);
    return v;
  }

  /** A count that may be 0 (a number of layers to start from…), or null when absent. */
  index(...keys: string[]): number | null {
    const k = this.keyOf(keys);
    const v = this.text[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ModelError(`${this.path}: "${k}" is ${show(v)}; it must be a non-negative integer`);
    return v;
  }

  /** A positive finite number (epsilons, rotary bases, scales, soft-caps), or null when absent. */
  positive(...keys: string[]): number | null {
    const k = this.keyOf(keys);
    const v = this.text[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ModelError(`${this.path}: "${k}" is ${show(v)}; it must be a positive finite number`);
    return v;
  }

  /**
   * The layer count: a positive integer, and no more than the checkpoint's weights hold (checked before anything is
   * built per layer: a config of a billion layers is an error, not a hang).
   */
  layers(...keys: string[]): number {
    const L = this.needCount(...keys);
    if (this.layersInWeights !== null && L > this.layersInWeights)
      throw new ModelError(`${this.path}: the config says ${L} layers, but the checkpoint's weights hold ${this.layersInWeights}`);
    return L;
  }

  /** A true/false setting, or null when absent (a string such as "true" is an error, not false). */
  bool(key: string): boolean | null {
    const v = this.text[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'boolean') throw new ModelError(`${this.path}: "${key}" is ${show(v)}; it must be true or false`);
    return v;
  }

  /** The first of `keys` that holds a string, else null. */
  str(...keys: string[]): string | null {
    for (const k of keys) {
      const v = this.text[k];
      if (typeof v === 'string') return v;
    }
    return null;
  }

  /** A setting as it is (objects such as rope_scaling, lists such as layer_types). */
  get(key: string): unknown {
    return this.text[key];
  }

  /** What every decoder has, by the names of every family PrefLens knows. */
  summary(): ModelConfig {
    const heads = this.num('num_attention_heads', 'n_head') ?? 0;
    const arch = this.raw.architectures;
    return {
      modelType: this.modelType || 'unknown',
      architecture: Array.isArray(arch) && typeof arch[0] === 'string' ? arch[0] : String(this.raw.model_type ?? 'unknown'),
      layers: this.num('num_hidden_layers', 'n_layer') ?? 0,
      hidden: this.num('hidden_size', 'n_embd') ?? 0,
      heads,
      kvHeads: this.num('num_key_value_heads') ?? heads,
      vocabSize: this.num('vocab_size') ?? 0,
      nPositions: this.num('n_positions', 'max_position_embeddings'),
      eps: this.num('layer_norm_epsilon', 'rms_norm_eps'),
    };
  }
}

/** The settings every decoder has (ConfigJson.summary) of the model folder `dir`. */
export function readConfig(dir: string): ModelConfig {
  return ConfigJson.read(dir).summary();
}
