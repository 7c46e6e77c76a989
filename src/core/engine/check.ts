/**
 * What a model folder is and what is wrong with it, found without loading the network or onnxruntime
 * (docs/ARCHITECTURE.md, "Models"): the folder's kind and description (folder.ts), config.json's settings (config.ts)
 * and its tokenizer against the vocabulary. The extension asks its host worker for this (workers/hostWorker.ts), so
 * that neither a tokenizer nor onnxruntime is loaded on the extension host's thread.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from './config.js';
import { describeFolder, openModelFolder } from './folder.js';
import { ModelTokenizer } from '../tokenize/encoder.js';

export interface ModelCheck {
  dir: string;
  problems: string[];
  architecture?: string;
  vocab?: number;
  layers?: number;
  /** What was opened (folder.ts describeFolder). */
  description?: string;
  adapter?: boolean;
  /** The tokenizer's hash (tokenizer files and chat template), to compare policy and reference. */
  tokenizerHash?: string;
}

/** Problems with a model folder, found from its files' headers and JSON. */
export function checkModelFolder(dir: string): ModelCheck {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { dir, problems: [`${dir}: no such folder`] };
  const out: ModelCheck = { dir, problems: [], adapter: false };
  try {
    // What the folder is (ONNX export, safetensors checkpoint, LoRA adapter and where its base was found): headers only.
    const folder = openModelFolder(dir);
    out.description = describeFolder(folder);
    out.adapter = folder.kind === 'adapter';
    if (folder.kind === 'onnx' && !existsSync(join(dir, 'config.json'))) out.problems.push(`${dir}: no config.json`);
    const c = readConfig(folder.netDir);
    out.architecture = c.architecture;
    out.layers = c.layers;
    out.vocab = c.vocabSize;
    const t = ModelTokenizer.load(folder.tokenizerDir);
    out.tokenizerHash = t.hash;
    if (c.vocabSize && t.vocabSize > c.vocabSize) out.problems.push(`${folder.tokenizerDir}: tokenizer.json has ${t.vocabSize} tokens, config.json vocab_size is ${c.vocabSize}`);
  } catch (e) {
    out.problems.push(e instanceof Error ? e.message : String(e));
  }
  return out;
}

/** Policy and reference checked together: each folder, and whether they share a tokenizer. */
export function checkModels(policy: string | undefined, reference: string | undefined): { policy: ModelCheck | null; reference: ModelCheck | null } {
  const p = policy ? checkModelFolder(policy) : null;
  const r = reference ? checkModelFolder(reference) : null;
  if (p && r && !p.problems.length && !r.problems.length && p.tokenizerHash !== r.tokenizerHash) r.problems.push('policy and reference use different tokenizers');
  return { policy: p, reference: r };
}
