/** The rollout checks (docs/ARCHITECTURE.md, "Rollouts"): over the steps of a run's rollouts, thresholds ours where marked. */
import type { RolloutCheck, RolloutGroup, RolloutStep } from '../contract.js';

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
