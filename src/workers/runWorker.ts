/**
 * Worker entry of the extension's run jobs (core/jobs.ts): SPINAL traces of several models, checkpoint comparison,
 * reading a run's GRPO rollouts (with what the host needs of the run beside them), scoring one rollout group under a
 * policy and a reference.
 * The records are read from the lines the user chose (records.ts recordsOnLines: the file is read only up to the
 * last of them).
 */
import { serveJob } from '../core/jobs.js';
import { recordsOnLines, type LineRange } from '../core/records.js';
import { spinalTrace } from '../core/spinal/spinal.js';
import { compareCheckpoints } from '../core/compare/checkpoints.js';
import { parseRun } from '../core/runs/runs.js';
import type { ProviderChoice } from '../core/engine/model.js';
import type { LengthLimits } from '../core/tokenize/encoder.js';
import type { Comparison, RolloutGroup, Rollouts, ScoreLine, SpinalTrace } from '../core/contract.js';
import { groupRecord, readRollouts, rolloutContext, rolloutRun } from '../core/rollouts/rollouts.js';
import { runModels } from '../core/runs/checkpoints.js';
import { existsSync } from 'node:fs';
import { ScoringModel } from '../core/engine/model.js';
import { scoreRecords } from '../core/engine/score.js';
import { basename } from 'node:path';

export type RunJob =
  | { kind: 'spinal'; file: string; lines: LineRange; models: Array<{ label: string; dir: string }>; limits: LengthLimits; provider: ProviderChoice; cacheDir: string; hiddenStates?: string[] }
  | { kind: 'compare'; file: string; lines: LineRange; run: string; reference: string; beta: number; limits: LengthLimits; provider: ProviderChoice; cacheDir: string }
  | { kind: 'rollouts'; dir: string; rewardWeights?: Record<string, number> }
  | { kind: 'rolloutScore'; group: RolloutGroup; step: number; policy: string; reference: string | null; beta: number; limits: LengthLimits; provider: ProviderChoice; cacheDir: string };

/**
 * What the host needs of the run beside the rollouts to score a group (read here once, with the rollouts): its models
 * by step (runs/checkpoints.ts runModels) and its reference model when that folder exists.
 */
export interface RolloutRunInfo {
  dir: string;
  models: Array<{ step: number; dir: string }>;
  reference: string | null;
}

/** Progress: what the job is doing, and the fraction done. */
export type RunJobMessage = { message: string; fraction: number };

export type RunJobResult =
  | { kind: 'spinal'; traces: Array<{ label: string; trace: SpinalTrace }> }
  | { kind: 'compare'; comparison: Comparison }
  | { kind: 'rollouts'; rollouts: Rollouts; run: RolloutRunInfo | null }
  | { kind: 'rolloutScore'; scored: ScoreLine };

serveJob<RunJob, RunJobMessage, RunJobResult>(async (job, { post }) => {
  if (job.kind === 'rollouts') {
    const run = rolloutRun(job.dir);
    const rollouts = await readRollouts(job.dir, { ...rolloutContext(job.dir, job.rewardWeights, run), onFile: (i, n, f) => post({ message: `reading ${basename(f)} (${i + 1}/${n})`, fraction: i / n }) });
    const info = run ? { dir: run.dir, models: runModels(run), reference: run.referenceModel && existsSync(run.referenceModel) ? run.referenceModel : null } : null;
    return { kind: 'rollouts', rollouts, run: info };
  }
  if (job.kind === 'rolloutScore') {
    post({ message: `loading ${job.policy}`, fraction: 0 });
    const policy = await ScoringModel.load(job.policy, { provider: job.provider, cacheDir: job.cacheDir });
    const ref = job.reference ? await ScoringModel.load(job.reference, { provider: job.provider, cacheDir: job.cacheDir }) : policy.baseOf();
    post({ message: `scoring ${job.group.size} completions`, fraction: 0.3 });
    try {
      const [scored] = await scoreRecords([groupRecord(job.group, job.step)], policy, ref, { beta: job.beta, ...job.limits, cacheDir: job.cacheDir });
      return { kind: 'rolloutScore', scored };
    } finally {
      await policy.release();
      if (job.reference) await ref?.release();
    }
  }
  const recs = recordsOnLines(job.file, job.lines);
  if (job.kind === 'spinal') {
    const traces: Array<{ label: string; trace: SpinalTrace }> = [];
    for (let i = 0; i < job.models.length; i++) {
      const m = job.models[i];
      post({ message: `SPINAL trace of ${m.label} (${i + 1}/${job.models.length})`, fraction: i / job.models.length });
      traces.push({ label: m.label, trace: await spinalTrace(m.dir, recs, { ...job.limits, provider: job.provider, cacheDir: job.cacheDir, hiddenStates: job.hiddenStates }) });
    }
    return { kind: 'spinal', traces };
  }
  const comparison = await compareCheckpoints(parseRun(job.run), job.reference, recs, {
    beta: job.beta,
    limits: job.limits,
    provider: job.provider,
    cacheDir: job.cacheDir,
    onStep: (i, n) => post({ message: `scoring checkpoint ${i + 1}/${n}`, fraction: i / n }),
  });
  return { kind: 'compare', comparison };
});
