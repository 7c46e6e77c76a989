/**
 * A GRPO run's rollouts as trainers leave them on disk (docs/ARCHITECTURE.md, "Rollouts"): the formats are sources
 * (sources/: TRL completions Parquet, verl dumps, NeMo RL training data), each read into completions (row.ts),
 * grouped by prompt within a step (groups.ts), with the checks (checks.ts). Lengths are characters of the completion
 * text (the files hold text only).
 */
import { join } from 'node:path';
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import { dict } from '../dict.js';
import { isRunDir, parseRun, type RunInfo } from '../runs/runs.js';
import { modelAtStep, runModels } from '../runs/checkpoints.js';
import type { PreferenceRecord } from '../types.js';
import type { RolloutCheck, RolloutGroup, RolloutProblem, Rollouts, RolloutStep } from '../contract.js';
import { rolloutChecks } from './checks.js';
import { group } from './groups.js';
import type { RolloutSource } from './row.js';
import { findRollouts, hasRollouts, rolloutPlaces } from './sources/index.js';

export type { RolloutCheck, RolloutGroup, RolloutProblem, Rollouts, RolloutStep, RolloutSource };
export { findRollouts, hasRollouts, rolloutChecks };
export { promptText } from './row.js';
export { ROLLOUT_THRESHOLDS } from './checks.js';

export class RolloutError extends InputError {}

export interface RolloutOptions {
  /** TRL reward_weights by function name (default 1). */
  rewardWeights?: Record<string, number>;
  /** The run's reward function names (its `rewards/<name>/mean` metrics), to tell reward columns from extras. */
  rewardNames?: string[];
  /** The run's completions/clipped_ratio by step. */
  clippedRatio?: Map<number, number>;
  /** Progress: before each file (i of n). */
  onFile?: (i: number, n: number, file: string) => void;
  /** The formats to look for (default: every one PrefLens reads, sources/index.ts). */
  sources?: readonly RolloutSource[];
}

/** Reads a run's rollouts (TRL completions or verl dumps) into steps of groups, with the checks and the problems. */
export async function readRollouts(dir: string, opts: RolloutOptions = {}): Promise<Rollouts> {
  const found = findRollouts(dir, opts.sources);
  if (!found) throw new RolloutError(`${dir}: no rollouts (${rolloutPlaces(opts.sources)})`);
  const problems: RolloutProblem[] = [];
  const steps: RolloutStep[] = [];
  let rewardNames: string[] = [];
  for (const [i, { step: fileStep, file }] of found.files.entries()) {
    opts.onFile?.(i, found.files.length, file);
    const read = await found.source.read(file, opts.rewardNames?.length ? opts.rewardNames : null, problems);
    for (const n of read.rewardNames) if (!rewardNames.includes(n)) rewardNames.push(n);
    if (!read.rows.length) continue;
    steps.push({ step: fileStep, file: basename(file), groups: group(read.rows, read.rewardNames, opts.rewardWeights ?? {}, found.source) });
  }
  // every group lists every reward function (null where a file lacked one)
  for (const s of steps) for (const g of s.groups) for (const n of rewardNames) g.rewards[n] ??= g.total.map(() => null);
  const clipped = opts.clippedRatio?.size ? steps.filter((s) => opts.clippedRatio?.has(s.step)).map((s): [number, number] => [s.step, opts.clippedRatio?.get(s.step) ?? 0]) : [];
  return { dir, source: found.source.name, label: found.source.label, rewardNames, steps, checks: rolloutChecks(steps, rewardNames, opts.clippedRatio), problems, clipped: clipped.length ? clipped : null };
}

/** The CLI's JSON (the issue's contract): steps of groups without the texts' completions and extras. */
export function rolloutsJson(r: Rollouts): Record<string, unknown> {
  return {
    dir: r.dir,
    source: r.source,
    rewardNames: r.rewardNames,
    steps: r.steps.map((s) => ({ step: s.step, groups: s.groups.map((g) => ({ prompt: g.prompt, size: g.size, rewards: g.rewards, total: g.total, advantage: g.advantage, lengths: g.lengths, zeroVariance: g.zeroVariance })) })),
    checks: r.checks,
    problems: r.problems,
  };
}

/**
 * What the run beside the rollouts tells about them (DIR, or its parent when DIR is the completions folder): the
 * reward function names (`rewards/<name>/mean`), the clipped share per step, and TRL's reward_weights from the
 * Trainer's args (TensorBoard text summary) unless given.
 */
export function rolloutContext(dir: string, rewardWeights?: Record<string, number>, run: RunInfo | null = rolloutRun(dir)): RolloutOptions {
  if (!run) return { rewardWeights };
  const names = Object.keys(run.series)
    .map((k) => /^rewards\/(.+)\/mean$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  let weights = rewardWeights;
  if (!weights && run.settings.args) {
    try {
      const w = (JSON.parse(run.settings.args) as { reward_weights?: unknown }).reward_weights;
      if (Array.isArray(w) && w.length === names.length && w.every((x) => typeof x === 'number')) weights = dict(names.map((n, i) => [n, w[i] as number] as const));
    } catch {
      /* args not JSON */
    }
  }
  return { rewardNames: names, rewardWeights: weights, clippedRatio: new Map(run.series['completions/clipped_ratio'] ?? []) };
}

/** The run beside rollouts: DIR itself, or its parent when DIR is the completions (or dump) folder; null without one. */
export function rolloutRun(dir: string): RunInfo | null {
  for (const d of [dir, join(dir, '..')]) {
    if (!isRunDir(d)) continue;
    try {
      return parseRun(d);
    } catch {
      /* not a run we can read: the next */
    }
  }
  return null;
}

/**
 * A group as a record the scoring engine takes (kind `group`): the prompt (text, as TRL logs it decoded with its
 * chat template; verl's input likewise) and one candidate per completion.
 */
export function groupRecord(g: RolloutGroup, step: number): PreferenceRecord {
  return {
    index: 0,
    line: step,
    offset: 0,
    format: 'group',
    kind: 'group',
    prompt: g.prompt,
    candidates: g.completions.map((text, i) => ({ role: 'completion' as const, text, field: `completions[${i}]` })),
  };
}

/**
 * The policy to score a step's completions with: the run's `checkpoint-<step>` when it has a model, else the
 * latest checkpoint at or before the step, else the final model at the run's root (compare.ts runModels); null when
 * the run has no model.
 */
export function policyForStep(run: RunInfo, step: number): { dir: string; step: number } | null {
  return modelAtStep(runModels(run), step);
}
