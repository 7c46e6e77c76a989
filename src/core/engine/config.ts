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

/** A config.json, read once: typed accessors that name the file in their errors. */
export class ConfigJson {
  /** The language model's settings (`text_config` merged over `model_type` and `architectures` when present). */
  readonly text: Readonly<Record<string, unknown>>;

  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    /** The file, for messages. */
    readonly path: string,
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
