/** Llama (1–3.x): rope_scaling default, linear or llama3; grouped-query attention; SwiGLU. */
import { decoderArch } from './decoder.js';
import type { FamilyDescriptor } from './types.js';

export const llama: FamilyDescriptor = {
  modelTypes: ['llama'],
  description: 'Llama (rope_scaling default/linear/llama3)',
  arch: (c) => decoderArch(c, 'llama'),
};
