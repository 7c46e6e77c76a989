/**
 * Worker entry of a reference log-probabilities job (PrefLens: Compute Reference Log-Probs…, docs/ARCHITECTURE.md,
 * "Reference log-probabilities"): loads the reference and writes the output of core/refs.ts writeRefs, posting its
 * progress (rows, tokens/s, time left). Cancelled by message, it stops between engine rounds and removes its temporary
 * file: no partial output is left under the output's name.
 */
import { serveJob } from '../core/jobs.js';
import { ScoringModel, type ProviderChoice } from '../core/engine/model.js';
import { writeRefs, type RefsResult } from '../core/refs.js';
import type { FormatName } from '../core/types.js';
import type { LengthLimits } from '../core/tokenize/encoder.js';

export interface RefsJobSpec {
  data: string;
  ref: string;
  out: string;
  format: FormatName | null;
  /** The tokenization: the scoring settings' convention and lengths (host/models.ts limitsOf). */
  limits: LengthLimits;
  provider: ProviderChoice;
  cacheDir?: string;
}

export type RefsJobMessage =
  | { type: 'model'; description: string; deviceNote: string; warnings: string[] }
  | { type: 'progress'; rows: number; total: number; tokens: number; seconds: number };

export type RefsJobResult = RefsResult & { device: string };

serveJob<RefsJobSpec, RefsJobMessage, RefsJobResult>(async (spec, { signal, post }) => {
  const ref = await ScoringModel.load(spec.ref, { provider: spec.provider, cacheDir: spec.cacheDir });
  post({ type: 'model', description: ref.description, deviceNote: ref.deviceNote, warnings: [...ref.warnings] });
  try {
    const r = await writeRefs(spec.data, ref, spec.out, {
      ...spec.limits,
      ...(spec.format ? { format: spec.format } : {}),
      signal,
      onProgress: (p) => post({ type: 'progress', ...p }),
    });
    return { ...r, device: ref.device };
  } finally {
    await ref.release();
  }
});
