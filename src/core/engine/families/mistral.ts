/** Mistral: Llama's layout with sliding-window attention in every layer (sliding_window). */
import { decoderArch } from './decoder.js';
import type { FamilyDescriptor } from './types.js';

export const mistral: FamilyDescriptor = {
  modelTypes: ['mistral'],
  description: 'Mistral (sliding-window attention)',
  arch: (c) => decoderArch(c, 'mistral', { sliding: () => true }),
};
