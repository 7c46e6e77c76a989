/**
 * Checkpoint comparison: scores the same records with every checkpoint of a run (and the final policy) against the
 * run's reference, and returns each record's margin and chosen/rejected logps across steps, with the records whose
 * margin changed sign.
 */
import type { PreferenceRecord } from '../types.js';
import { ScoringModel, type ProviderChoice } from '../engine/model.js';
import { scoreRecords } from '../engine/score.js';
import type { RunInfo } from '../runs/types.js';
import { runModels } from '../runs/checkpoints.js';
import type { LengthLimits } from '../tokenize/encoder.js';
import { type Comparison, isScored, type Trajectory } from '../contract.js';

export type { Comparison, Trajectory };



export async function compareCheckpoints(
  run: RunInfo,
  reference: string,
  records: PreferenceRecord[],
  opts: { beta: number; limits: LengthLimits; provider?: ProviderChoice; cacheDir?: string; onStep?: (i: number, n: number) => void; signal?: AbortSignal },
): Promise<Comparison> {
  const models = runModels(run);
  if (models.length === 0) throw new Error(`${run.dir}: no checkpoint with a model (model.onnx, model.safetensors or adapter_config.json)`);
  const ref = await ScoringModel.load(reference, { provider: opts.provider ?? 'auto', cacheDir: opts.cacheDir });
  const traj: Trajectory[] = records.filter((r) => r.kind === 'pair').map((r) => ({ line: r.line, margins: [], chosenLogp: [], rejectedLogp: [], flipped: false }));
  const pairs = records.filter((r) => r.kind === 'pair');
  for (let i = 0; i < models.length; i++) {
    opts.onStep?.(i, models.length);
    const policy = await ScoringModel.load(models[i].dir, { provider: opts.provider ?? 'auto', cacheDir: opts.cacheDir });
    const scored = await scoreRecords(pairs, policy, ref, { beta: opts.beta, ...opts.limits, cacheDir: opts.cacheDir, signal: opts.signal });
    scored.forEach((line, k) => {
      const s = isScored(line) ? line : null;
      traj[k].margins.push(s?.margin ?? null);
      traj[k].chosenLogp.push(s?.chosen?.logp ?? null);
      traj[k].rejectedLogp.push(s?.rejected?.logp ?? null);
    });
    await policy.release();
  }
  for (const t of traj) {
    for (let i = 1; i < t.margins.length; i++) {
      const a = t.margins[i - 1];
      const b = t.margins[i];
      if (a !== null && b !== null && Math.sign(a) !== Math.sign(b) && a !== 0 && b !== 0) t.flipped = true;
    }
  }
  return { steps: models.map((m) => m.step), models: models.map((m) => m.dir), reference, records: traj, flipped: traj.filter((t) => t.flipped).map((t) => t.line) };
}
