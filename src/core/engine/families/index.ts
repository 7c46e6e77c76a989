/**
 * The model families PrefLens builds graphs for (docs/ARCHITECTURE.md, "Models"): one descriptor each, found by
 * config.json's model_type. A new family is a descriptor (families/types.ts) added to this list, or registered at run
 * time with registerFamily; nothing else changes (the test in checkpoints.test.ts registers one).
 */
import { ModelError } from '../../errors.js';
import type { ConfigJson } from '../config.js';
import { gemma2, gemma3, gemma3Text } from './gemma.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { phi3 } from './phi3.js';
import { qwen2, qwen3 } from './qwen.js';
import type { Arch, FamilyDescriptor } from './types.js';

export type { Arch, FamilyDescriptor };

const REGISTRY: FamilyDescriptor[] = [llama, mistral, qwen2, qwen3, gemma2, gemma3Text, gemma3, phi3, gpt2];

/** Adds a family (a model_type PrefLens did not know); the last registered for a model_type wins. */
export function registerFamily(d: FamilyDescriptor): void {
  REGISTRY.unshift(d);
}

/** Every model_type PrefLens builds graphs for (families registered at run time first). */
export function familyNames(): string[] {
  return [...new Set(REGISTRY.flatMap((d) => d.modelTypes))];
}

export function familyOf(modelType: string): FamilyDescriptor | undefined {
  return REGISTRY.find((d) => d.modelTypes.includes(modelType));
}

/** The architecture of a checkpoint from its config.json, by its family; an unknown model_type is refused, naming the file. */
export function archOf(c: ConfigJson): Arch {
  const modelType = c.modelType;
  const family = familyOf(modelType);
  if (!family)
    throw new ModelError(`${c.path}: model_type "${modelType || '(none)'}" is not supported; PrefLens builds graphs for ${familyNames().join(', ')} (or give an Optimum ONNX export with model.onnx)`);
  return family.arch(c, modelType);
}
