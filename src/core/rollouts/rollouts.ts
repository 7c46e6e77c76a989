/**
 * GRPO rollouts as trainers leave them on disk (docs/ARCHITECTURE.md, "Rollouts"):
 * - TRL (`log_completions=True`): `<output_dir>/completions/completions_NNNNN.parquet`, one file per logging step,
 *   written by pandas: columns `step`, `prompt`, `completion`, one column per reward function, extra columns
 *   (`log_extra`), `advantage`. A prompt is text, or (older TRL, conversational data) a list of messages.
 * - verl (`trainer.rollout_data_dir`): `<step>.jsonl`, one line per completion: `input`, `output`, `score`, `step`,
 *   optional `gts`, and the reward function's extra values.
 * Completions are grouped by prompt within a step (GRPO's groups). The total is TRL's: Σ wᵢ·rᵢ over the reward
 * functions, a NaN (a function that does not apply) left out; verl's total is its `score`. Lengths are characters
 * of the completion text (the files hold text only). Parquet is read as every Parquet file is (parquet/parquet.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { groupStd } from '../checks/record.js';
import { openParquet, type ParquetFile, readRowGroup } from '../parquet/parquet.js';
import { isRunDir, parseRun, type RunInfo } from '../runs/runs.js';
import { runModels } from '../runs/checkpoints.js';
import type { PreferenceRecord } from '../types.js';

export class RolloutError extends InputError {}

import type { RolloutCheck, RolloutGroup, RolloutProblem, Rollouts, RolloutStep } from '../contract.js';
import { InputError } from '../errors.js';

export type { RolloutCheck, RolloutGroup, RolloutProblem, Rollouts, RolloutStep };

/** One completion as read, before grouping. */
interface Row {
  prompt: string;
  completion: string;
  rewards: Record<string, number | null>;
  advantage: number | null;
  extra: Record<string, unknown>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : null);

/** A prompt cell as text: a string, or a list of chat messages as `role: content` lines. */
export function promptText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v))
    return v
      .map((m) => {
        if (typeof m === 'object' && m !== null) {
          const o = m as Record<string, unknown>;
          const content = typeof o.content === 'string' ? o.content : JSON.stringify(o.content ?? null);
          return typeof o.role === 'string' ? `${o.role}: ${content}` : content;
        }
        return String(m);
      })
      .join('\n');
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

/** Where a run's rollouts are: TRL's completions folder, a verl dump folder, or DIR itself being one of them. */
export function findRollouts(dir: string): { source: 'trl' | 'verl'; files: Array<{ step: number; file: string }> } | null {
  for (const d of [join(dir, 'completions'), dir]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const trl = readdirSync(d)
      .map((n) => /^completions_(\d+)\.parquet$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ step: Number(m[1]), file: join(d, m[0]) }));
    if (trl.length) return { source: 'trl', files: trl.sort((a, b) => a.step - b.step) };
  }
  for (const d of [dir, join(dir, 'rollout_data'), join(dir, 'rollouts')]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const verl = readdirSync(d)
      .map((n) => /^(\d+)\.jsonl$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ step: Number(m[1]), file: join(d, m[0]) }));
    if (verl.length) return { source: 'verl', files: verl.sort((a, b) => a.step - b.step) };
  }
  return null;
}

export function hasRollouts(dir: string): boolean {
  return findRollouts(dir) !== null;
}

const TRL_FIXED = new Set(['step', 'prompt', 'completion', 'advantage', 'image', 'images']);

/**
 * Reads one TRL completions file. Reward columns are the numeric columns the run names as reward functions
 * (`rewardNames`, from its `rewards/<name>/mean` metrics) or, without them, every floating-point column other than
 * step and advantage; other columns are extras.
 */
async function readTrl(file: string, rewardNames: string[] | null, problems: RolloutProblem[]): Promise<{ rows: Row[]; rewardNames: string[] }> {
  // a ParquetError's message starts with the file, which the problem names apart
  const detail = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(`${file}: `, '');
  let pf: ParquetFile;
  try {
    pf = await openParquet(file);
  } catch (e) {
    problems.push({ file, where: 'footer', message: detail(e) });
    return { rows: [], rewardNames: rewardNames ?? [] };
  }
  const names = pf.columns;
  for (const need of ['prompt', 'completion'])
    if (!names.includes(need)) {
      problems.push({ file, where: `column ${need}`, message: `no "${need}" column (columns: ${names.join(', ')}): not a TRL completions file` });
      return { rows: [], rewardNames: rewardNames ?? [] };
    }
  const rewards = rewardNames ? rewardNames.filter((n) => names.includes(n)) : names.filter((n) => !TRL_FIXED.has(n) && (pf.columnTypes[n] === 'DOUBLE' || pf.columnTypes[n] === 'FLOAT'));
  if (rewardNames) for (const n of rewardNames) if (!names.includes(n)) problems.push({ file, where: `column ${n}`, message: `no column for the reward function "${n}"` });
  const rows: Row[] = [];
  // row group by row group: an unreadable one (an unknown compression, a damaged page) is reported and skipped
  for (let g = 0; g < pf.rowGroups.length; g++) {
    let objs: Array<Record<string, unknown>>;
    try {
      objs = await readRowGroup(pf, g);
    } catch (e) {
      problems.push({ file, where: `row group ${g + 1}`, message: `cannot be read (${detail(e)})` });
      continue;
    }
    for (const o of objs) {
      // null cells are absent from the row (parquet.ts readRowGroup): a reward that is absent is null
      const extra: Record<string, unknown> = {};
      for (const k of names) if (!TRL_FIXED.has(k) && !rewards.includes(k)) extra[k] = o[k] ?? null;
      rows.push({ prompt: promptText(o.prompt), completion: typeof o.completion === 'string' ? o.completion : promptText(o.completion), rewards: Object.fromEntries(rewards.map((r) => [r, num(o[r])])), advantage: names.includes('advantage') ? num(o.advantage) : null, extra });
    }
  }
  return { rows, rewardNames: rewards };
}

/** Reads one verl dump: `input`, `output`, `score` per line; other numeric keys are reward extras, the rest extras. */
function readVerl(file: string, problems: RolloutProblem[]): { rows: Row[]; rewardNames: string[] } {
  const rows: Row[] = [];
  const names = new Set<string>(['score']);
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problems.push({ file, where: `line ${i + 1}`, message: 'not valid JSON' });
        return;
      }
      for (const need of ['input', 'output', 'score'])
        if (!(need in o)) {
          problems.push({ file, where: `line ${i + 1}, field ${need}`, message: `no "${need}": not a verl rollout line (fields: ${Object.keys(o).join(', ')})` });
        }
      if (!('input' in o) || !('output' in o)) return;
      const rewards: Record<string, number | null> = { score: num(o.score) };
      const extra: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (['input', 'output', 'score', 'step'].includes(k)) continue;
        if (typeof v === 'number' || typeof v === 'boolean') {
          rewards[k] = typeof v === 'boolean' ? Number(v) : num(v);
          names.add(k);
        } else extra[k] = v;
      }
      rows.push({ prompt: promptText(o.input), completion: promptText(o.output), rewards, advantage: null, extra });
    });
  // a reward extra missing from some lines: the columns are of unequal length
  for (const n of names) {
    const missing = rows.filter((r) => !(n in r.rewards)).length;
    if (missing) problems.push({ file, where: `field ${n}`, message: `${missing} of ${rows.length} lines have no "${n}": the reward values are of unequal length` });
  }
  return { rows, rewardNames: [...names] };
}

/** GRPO groups of one step: completions sharing a prompt, in the order the prompts first appear. */
function group(rows: Row[], rewardNames: string[], weights: Record<string, number>, source: 'trl' | 'verl'): RolloutGroup[] {
  const by = new Map<string, Row[]>();
  for (const r of rows) {
    const g = by.get(r.prompt);
    if (g) g.push(r);
    else by.set(r.prompt, [r]);
  }
  return [...by].map(([prompt, rs]) => {
    const rewards = Object.fromEntries(rewardNames.map((n) => [n, rs.map((r) => r.rewards[n] ?? null)]));
    const total = rs.map((r) => {
      if (source === 'verl') return r.rewards.score ?? null;
      // TRL: nansum of the weighted rewards; a completion no function scored has no total
      const vs = rewardNames.map((n) => [n, r.rewards[n]] as const).filter((x): x is readonly [string, number] => x[1] !== null && x[1] !== undefined);
      return vs.length ? vs.reduce((s, [n, v]) => s + (weights[n] ?? 1) * v, 0) : null;
    });
    const finite = total.filter((t): t is number => t !== null);
    const extraKeys = [...new Set(rs.flatMap((r) => Object.keys(r.extra)))];
    return {
      prompt,
      size: rs.length,
      rewards,
      total,
      advantage: rs.some((r) => r.advantage !== null) ? rs.map((r) => r.advantage) : null,
      lengths: rs.map((r) => [...r.completion].length),
      zeroVariance: finite.length > 1 && groupStd(finite) <= 1e-8,
      completions: rs.map((r) => r.completion),
      extra: Object.fromEntries(extraKeys.map((k) => [k, rs.map((r) => r.extra[k] ?? null)])),
    };
  });
}

/** Pearson correlation of paired values (null when either side is constant or fewer than 3 pairs). */
function pearson(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  if (n < 3) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Values centred within their group (so that prompts of different difficulty do not make a correlation). */
function centred(groups: RolloutGroup[], pick: (g: RolloutGroup) => Array<number | null>, other: (g: RolloutGroup) => Array<number | null>): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const g of groups) {
    const a = pick(g);
    const b = other(g);
    const idx = a.map((_, i) => i).filter((i) => a[i] !== null && b[i] !== null);
    if (idx.length < 2) continue;
    const ma = idx.reduce((s, i) => s + (a[i] as number), 0) / idx.length;
    const mb = idx.reduce((s, i) => s + (b[i] as number), 0) / idx.length;
    for (const i of idx) {
      xs.push((a[i] as number) - ma);
      ys.push((b[i] as number) - mb);
    }
  }
  return [xs, ys];
}

/** Thresholds of the rollout checks (ours, named in the messages). */
export const ROLLOUT_THRESHOLDS = { noSignal: 0.5, lengthCorrelation: 0.5, disagreement: -0.3 };

/**
 * Checks over the steps:
 * - `rollouts-no-signal`: groups whose total reward has zero variance (GRPO's advantage is 0 for all of them);
 *   warning when more than half of a step's groups are such, else info;
 * - `rollouts-length-reward`: within groups, the total reward correlates with completion length (r > 0.5: ours) —
 *   reward hacking by length;
 * - `rollouts-reward-disagreement`: two reward functions anti-correlated within groups (r < −0.3: ours);
 * - `rollouts-clipped`: the run's logged `completions/clipped_ratio` above 20% at the steps shown (the files hold no
 *   token counts).
 */
export function rolloutChecks(steps: RolloutStep[], rewardNames: string[], clippedRatio?: Map<number, number>): RolloutCheck[] {
  const out: RolloutCheck[] = [];
  const noSignal = steps.filter((s) => s.groups.some((g) => g.zeroVariance));
  if (noSignal.length) {
    const worst = steps.filter((s) => s.groups.length && s.groups.filter((g) => g.zeroVariance).length / s.groups.length > ROLLOUT_THRESHOLDS.noSignal);
    const n = steps.reduce((a, s) => a + s.groups.filter((g) => g.zeroVariance).length, 0);
    const all = steps.reduce((a, s) => a + s.groups.length, 0);
    out.push({
      id: 'rollouts-no-signal',
      severity: worst.length ? 'warning' : 'info',
      message: `${n} of ${all} groups have zero reward variance (no GRPO signal: every advantage is 0)${worst.length ? `; more than ${ROLLOUT_THRESHOLDS.noSignal * 100}% of the groups (threshold ours) at ${worst.length} steps` : ''}`,
      steps: (worst.length ? worst : noSignal).map((s) => s.step),
    });
  }
  // within-group correlation of two per-completion values, step by step: the steps where `hits` holds, and the most
  // extreme correlation among them
  const correlated = (x: (g: RolloutGroup) => Array<number | null>, y: (g: RolloutGroup) => Array<number | null>, hits: (r: number) => boolean): { steps: number[]; extreme: number } => {
    const hit: number[] = [];
    let extreme = 0;
    for (const s of steps) {
      const r = pearson(...centred(s.groups, x, y));
      if (r !== null && hits(r)) {
        hit.push(s.step);
        extreme = Math.abs(r) > Math.abs(extreme) ? r : extreme;
      }
    }
    return { steps: hit, extreme };
  };
  const length = correlated((g) => g.lengths, (g) => g.total, (r) => r > ROLLOUT_THRESHOLDS.lengthCorrelation);
  if (length.steps.length)
    out.push({
      id: 'rollouts-length-reward',
      severity: 'warning',
      message: `within groups, longer completions get higher rewards (correlation up to ${length.extreme.toFixed(2)}, above ${ROLLOUT_THRESHOLDS.lengthCorrelation}: threshold ours) at ${length.steps.length} of ${steps.length} steps: reward hacking by length?`,
      steps: length.steps,
    });
  for (let a = 0; a < rewardNames.length; a++)
    for (let b = a + 1; b < rewardNames.length; b++) {
      const d = correlated((g) => g.rewards[rewardNames[a]], (g) => g.rewards[rewardNames[b]], (r) => r < ROLLOUT_THRESHOLDS.disagreement);
      if (d.steps.length)
        out.push({
          id: 'rollouts-reward-disagreement',
          severity: 'warning',
          message: `the reward functions ${rewardNames[a]} and ${rewardNames[b]} disagree within groups (correlation down to ${d.extreme.toFixed(2)}, below ${ROLLOUT_THRESHOLDS.disagreement}: threshold ours) at ${d.steps.length} of ${steps.length} steps`,
          steps: d.steps,
        });
    }
  if (clippedRatio) {
    const hit = steps.filter((s) => (clippedRatio.get(s.step) ?? 0) > 0.2).map((s) => s.step);
    if (hit.length)
      out.push({
        id: 'rollouts-clipped',
        severity: 'warning',
        message: `more than 20% of completions (threshold ours) hit max_completion_length at ${hit.length} of ${steps.length} steps (the run's completions/clipped_ratio)`,
        steps: hit,
      });
  }
  return out;
}

export interface RolloutOptions {
  /** TRL reward_weights by function name (default 1). */
  rewardWeights?: Record<string, number>;
  /** The run's reward function names (its `rewards/<name>/mean` metrics), to tell reward columns from extras. */
  rewardNames?: string[];
  /** The run's completions/clipped_ratio by step. */
  clippedRatio?: Map<number, number>;
  /** Progress: before each file (i of n). */
  onFile?: (i: number, n: number, file: string) => void;
}

/** Reads a run's rollouts (TRL completions or verl dumps) into steps of groups, with the checks and the problems. */
export async function readRollouts(dir: string, opts: RolloutOptions = {}): Promise<Rollouts> {
  const found = findRollouts(dir);
  if (!found) throw new RolloutError(`${dir}: no rollouts (TRL completions/completions_NNNNN.parquet, or verl <step>.jsonl)`);
  const problems: RolloutProblem[] = [];
  const steps: RolloutStep[] = [];
  let rewardNames: string[] = [];
  for (const [i, { step: fileStep, file }] of found.files.entries()) {
    opts.onFile?.(i, found.files.length, file);
    const read = found.source === 'trl' ? await readTrl(file, opts.rewardNames?.length ? opts.rewardNames : null, problems) : readVerl(file, problems);
    for (const n of read.rewardNames) if (!rewardNames.includes(n)) rewardNames.push(n);
    if (!read.rows.length) continue;
    steps.push({ step: fileStep, file: basename(file), groups: group(read.rows, read.rewardNames, opts.rewardWeights ?? {}, found.source) });
  }
  // every group lists every reward function (null where a file lacked one)
  for (const s of steps) for (const g of s.groups) for (const n of rewardNames) g.rewards[n] ??= g.total.map(() => null);
  const clipped = opts.clippedRatio?.size ? steps.filter((s) => opts.clippedRatio?.has(s.step)).map((s): [number, number] => [s.step, opts.clippedRatio?.get(s.step) ?? 0]) : [];
  return { dir, source: found.source, rewardNames, steps, checks: rolloutChecks(steps, rewardNames, opts.clippedRatio), problems, clipped: clipped.length ? clipped : null };
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
export function rolloutContext(dir: string, rewardWeights?: Record<string, number>): RolloutOptions {
  const run = rolloutRun(dir);
  if (!run) return { rewardWeights };
  const names = Object.keys(run.series)
    .map((k) => /^rewards\/(.+)\/mean$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  let weights = rewardWeights;
  if (!weights && run.settings.args) {
    try {
      const w = (JSON.parse(run.settings.args) as { reward_weights?: unknown }).reward_weights;
      if (Array.isArray(w) && w.length === names.length && w.every((x) => typeof x === 'number')) weights = Object.fromEntries(names.map((n, i) => [n, w[i] as number]));
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
  const models = runModels(run);
  const at = models.filter((m) => m.step <= step).at(-1) ?? models.at(-1);
  return at ? { dir: at.dir, step: at.step } : null;
}
