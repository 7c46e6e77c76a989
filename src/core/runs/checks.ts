/**
 * The run checks (docs/ARCHITECTURE.md, "Training runs"): one table, as the dataset checks have (checks/table.ts).
 * Each entry names its id, severity, what fires it (thresholds marked *ours* where they are), the series it reads
 * (the run view marks its steps on those charts), its source and its thresholds; `runChecks`, the README's table
 * (scripts/tables.mjs) and the run webview's markers are all derived from it. No Node imports: the webview bundles it.
 */
import type { RunCheck } from '../contract.js';
import { finite, type Series } from './types.js';
import { maxOf } from '../floats.js';

/** What a check sees of a run. */
export interface RunCheckInput {
  series: Series;
  eval: Series;
  /** Every logged NaN/±Infinity, by series and step. */
  nonFinite: ReadonlyArray<{ name: string; step: number }>;
  trainer: string;
}

/** One run check: its row in the table and how it is decided. */
export interface RunCheckSpec<T extends Record<string, number> = Record<string, number>> {
  readonly id: string;
  readonly severity: RunCheck['severity'];
  /** When it fires, for the README and the docs (thresholds marked *ours* where they are PrefLens' choice). */
  readonly fires: string;
  /** The series it reads: the run view marks its steps on their charts. */
  readonly series: readonly string[];
  /** Where the pathology is described (paper or trainer), as the check's `source`. */
  readonly source: string;
  /** A short name of the source for the README table. */
  readonly cite: string;
  readonly thresholds: T;
  /** The trainers whose runs it applies to (undefined: all). */
  readonly trainers?: readonly string[];
  /** Trainers whose runs it does not apply to. */
  readonly notFor?: readonly string[];
  /** Its message and steps when it fires, else null. */
  decide(run: RunCheckInput, t: T): { message: string; steps: number[] } | null;
}

const mean = (a: number[]): number => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);

/** Mean of the first and of the last quarter of a series (at least one point each). */
function ends(s: Array<[number, number]>): { first: number; last: number; firstSteps: number[]; lastSteps: number[] } | null {
  if (s.length < 4) return null;
  const q = Math.max(1, Math.floor(s.length / 4));
  return { first: mean(s.slice(0, q).map((x) => x[1])), last: mean(s.slice(-q).map((x) => x[1])), firstSteps: s.slice(0, q).map((x) => x[0]), lastSteps: s.slice(-q).map((x) => x[0]) };
}

/** A typed table entry (its thresholds' names checked against its decision). */
const spec = <T extends Record<string, number>>(s: RunCheckSpec<T>): RunCheckSpec => s as unknown as RunCheckSpec;

/** KTO's chosen and rejected are separate, unpaired examples: the pair checks do not apply to its runs. */
const PAIRED_NOT_FOR = ['kto'] as const;

/** In the order of the output. */
export const RUN_CHECKS: readonly RunCheckSpec[] = [
  spec({
    id: 'non-finite',
    severity: 'error',
    fires: 'a logged value is NaN or ±Inf',
    series: [],
    source: 'PrefLens',
    cite: 'PrefLens',
    thresholds: {},
    decide: ({ nonFinite }) => {
      if (!nonFinite.length) return null;
      const names = [...new Set(nonFinite.map((x) => x.name))];
      return {
        message: `${nonFinite.length} NaN/Inf values (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''}): the run diverged or a metric is undefined`,
        steps: [...new Set(nonFinite.map((x) => x.step))].sort((a, b) => a - b),
      };
    },
  }),
  spec({
    id: 'rejected-collapse',
    severity: 'warning',
    fires: "rejected logp fell by more than twice the chosen's change and > 20% of its start (*ours*)",
    series: ['logps/rejected'],
    source: '3D-properties of DPO (Yan et al. 2024)',
    cite: '3D-properties',
    thresholds: { factor: 2, share: 0.2 },
    notFor: PAIRED_NOT_FOR,
    decide: ({ series }, t) => {
      const c = ends(finite(series['logps/chosen']));
      const r = ends(finite(series['logps/rejected']));
      if (!(r && c && r.last < r.first && r.first - r.last > t.factor * Math.max(0, c.first - c.last) && r.first - r.last > t.share * Math.abs(r.first))) return null;
      return { message: `rejected log-probability fell from ${r.first.toFixed(1)} to ${r.last.toFixed(1)} (more than twice the chosen's change, > 20% of its start; thresholds ours)`, steps: r.lastSteps };
    },
  }),
  spec({
    id: 'likelihood-displacement',
    severity: 'warning',
    fires: 'chosen logp fell by > 2% (*ours*) while the margin grew (first vs last quarter)',
    series: ['logps/chosen', 'rewards/margins'],
    source: 'Likelihood displacement (Razin et al. 2024)',
    cite: 'likelihood displacement',
    thresholds: { fall: 0.02 },
    notFor: PAIRED_NOT_FOR,
    decide: ({ series }, t) => {
      const m = ends(finite(series['rewards/margins']));
      const c = ends(finite(series['logps/chosen']));
      if (!(m && c && c.first - c.last > t.fall * Math.abs(c.first) && m.last > m.first)) return null;
      return {
        message: `chosen log-probability fell (${c.first.toFixed(1)} → ${c.last.toFixed(1)}, more than 2%: threshold ours) while the margin grew (${m.first.toFixed(3)} → ${m.last.toFixed(3)})`,
        steps: c.lastSteps,
      };
    },
  }),
  spec({
    id: 'collapse',
    severity: 'error',
    fires: 'loss < 0.01 with margins > 10× their start and > 5, grad norm < 1% of its peak (*ours*)',
    series: ['loss', 'rewards/margins', 'grad_norm'],
    source: 'PrefLens (DPO over-optimisation)',
    cite: 'PrefLens',
    thresholds: { loss: 0.01, growth: 10, margin: 5, gradShare: 0.01 },
    notFor: PAIRED_NOT_FOR,
    decide: ({ series }, t) => {
      const m = ends(finite(series['rewards/margins']));
      const loss = finite(series.loss);
      const gn = finite(series.grad_norm);
      if (loss.length < 4 || !m) return null;
      const lastLoss = mean(loss.slice(-Math.max(1, Math.floor(loss.length / 4))).map((x) => x[1]));
      const gnMax = maxOf(gn.map((x) => x[1]));
      const gnLast = gn.length ? mean(gn.slice(-Math.max(1, Math.floor(gn.length / 4))).map((x) => x[1])) : NaN;
      if (!(lastLoss < t.loss && m.last > t.growth * Math.max(1e-9, Math.abs(m.first)) && m.last > t.margin && (!gn.length || gnLast < t.gradShare * gnMax))) return null;
      return {
        message: `loss → ${lastLoss.toExponential(1)} with margins exploding to ${m.last.toFixed(1)}${gn.length ? ` and grad norm → ${gnLast.toExponential(1)}` : ''}: the policy separates the pairs trivially (thresholds ours)`,
        steps: m.lastSteps,
      };
    },
  }),
  spec({
    id: 'over-optimisation',
    severity: 'warning',
    fires: 'eval accuracy flat or falling while the train margin grew',
    series: ['rewards/accuracies', 'rewards/margins'],
    source: 'Reward over-optimisation (Gao et al. 2023; Rafailov et al. 2024)',
    cite: 'reward over-optimisation',
    thresholds: { flat: 0.01, fall: 0.02 },
    notFor: PAIRED_NOT_FOR,
    decide: ({ series, eval: evalSeries }, t) => {
      const m = ends(finite(series['rewards/margins']));
      const evAcc = finite(evalSeries['rewards/accuracies']);
      if (!(evAcc.length >= 3 && m && m.last > m.first)) return null;
      const best = maxOf(evAcc.map((x) => x[1]));
      const lastAcc = evAcc[evAcc.length - 1][1];
      const firstAcc = evAcc[0][1];
      if (!(lastAcc <= firstAcc + t.flat || lastAcc < best - t.fall)) return null;
      return {
        message: `eval accuracy ${lastAcc <= firstAcc + t.flat ? 'flat' : 'falling'} (${firstAcc.toFixed(3)} → best ${best.toFixed(3)} → ${lastAcc.toFixed(3)}) while the train margin grew (${m.first.toFixed(3)} → ${m.last.toFixed(3)})`,
        steps: evAcc.map((x) => x[0]),
      };
    },
  }),
  spec({
    id: 'grpo-no-signal',
    severity: 'warning',
    fires: '`frac_reward_zero_std` > 0.5 in the last quarter',
    series: ['frac_reward_zero_std'],
    source: 'GRPO (Shao et al. 2024)',
    cite: 'GRPO',
    thresholds: { share: 0.5 },
    decide: ({ series }, t) => {
      const fz = finite(series.frac_reward_zero_std);
      const fze = ends(fz);
      if (!(fze && fze.last > t.share)) return null;
      return {
        message: `${(fze.last * 100).toFixed(0)}% of GRPO groups have zero reward variance in the last quarter: no advantage signal for them`,
        steps: fz.filter(([, v]) => v > t.share).map((x) => x[0]),
      };
    },
  }),
  // GRPO: completions cut off at max_completion_length (their ends, EOS included, never trained on) …
  spec({
    id: 'grpo-clipped-completions',
    severity: 'warning',
    fires: '`completions/clipped_ratio` > 0.2 in the last quarter (*ours*): completions cut off at `max_completion_length`',
    series: ['completions/clipped_ratio'],
    source: 'TRL GRPOTrainer (completions/clipped_ratio); overlong completions: DAPO (Yu et al. 2025)',
    cite: 'TRL GRPOTrainer; DAPO (overlong completions)',
    thresholds: { share: 0.2 },
    decide: ({ series }, t) => {
      const clipped = ends(finite(series['completions/clipped_ratio']));
      if (!(clipped && clipped.last > t.share)) return null;
      return {
        message: `${(clipped.last * 100).toFixed(0)}% of completions hit max_completion_length in the last quarter (threshold 20%: ours): raise it, or reward shorter answers`,
        steps: clipped.lastSteps,
      };
    },
  }),
  // … and the policy's entropy collapsing (it stops exploring; every group becomes alike).
  spec({
    id: 'grpo-entropy-collapse',
    severity: 'warning',
    fires: "`entropy` in the last quarter below 20% of the first quarter's (*ours*)",
    series: ['entropy'],
    source: 'Entropy collapse in RL for LLMs (DAPO, Yu et al. 2025; Cui et al. 2025)',
    cite: 'DAPO; Cui et al. 2025 (entropy collapse)',
    thresholds: { share: 0.2 },
    decide: ({ series }, t) => {
      const entropy = ends(finite(series.entropy));
      if (!(entropy && entropy.first > 0 && entropy.last < t.share * entropy.first)) return null;
      return {
        message: `policy entropy fell from ${entropy.first.toFixed(3)} to ${entropy.last.toFixed(3)} (below 20% of its start: threshold ours): exploration is collapsing`,
        steps: entropy.lastSteps,
      };
    },
  }),
  // KTO's own checks (its chosen and rejected are unpaired desirable and undesirable examples, TRL's names).
  // The KL estimate `kl` (the reference point z₀, clamped at 0 by TRL) is 0 in most logged steps, so the loss reduces
  // to 1 − σ(β·log-ratio) with no reference point: expected with loss_type apo_zero_unpaired, a sign of a dead KL
  // estimate (too small a batch for the mismatched KL completions) otherwise.
  spec({
    id: 'kto-kl-zero',
    severity: 'info',
    fires: 'the KL estimate `kl` (KTO\'s reference point z₀, clamped at 0 by TRL) is 0 at > 90% of logged steps (*ours*): expected with `loss_type` `apo_zero_unpaired`, a dead estimate otherwise',
    series: ['kl'],
    source: 'KTO (Ethayarajh et al. 2024), eq. 7; TRL KTOTrainer (kl clamped at 0)',
    cite: 'KTO eq. 7; TRL KTOTrainer',
    thresholds: { share: 0.9 },
    trainers: ['kto'],
    decide: ({ series }, t) => {
      const kl = finite(series.kl);
      if (kl.length < 4) return null;
      const zeros = kl.filter(([, v]) => v === 0);
      if (!(zeros.length / kl.length > t.share)) return null;
      return {
        message: `the KL estimate is 0 at ${zeros.length} of ${kl.length} logged steps (> 90%: threshold ours): the KTO loss runs without its reference point (expected with loss_type apo_zero_unpaired; otherwise the KL completions' estimate is dead — try a larger per-device batch)`,
        steps: zeros.map((x) => x[0]),
      };
    },
  }),
  // The desirable examples' implied reward (`rewards/chosen`, β·log-ratio) ends below 0 and below where it started:
  // the policy makes desirable completions less likely than the reference does.
  spec({
    id: 'kto-desirable-falling',
    severity: 'warning',
    fires: "`rewards/chosen` (desirable examples' β·log-ratio) ends below 0 and below its first quarter",
    series: ['rewards/chosen'],
    source: 'KTO (Ethayarajh et al. 2024); likelihood displacement (Razin et al. 2024)',
    cite: 'KTO; likelihood displacement (Razin et al. 2024)',
    thresholds: {},
    trainers: ['kto'],
    decide: ({ series }) => {
      const rc = ends(finite(series['rewards/chosen']));
      if (!(rc && rc.last < 0 && rc.last < rc.first)) return null;
      return {
        message: `the desirable examples' reward fell from ${rc.first.toFixed(3)} to ${rc.last.toFixed(3)} (below 0): the policy makes desirable completions less likely than the reference`,
        steps: rc.lastSteps,
      };
    },
  }),
  // From the logged counts (`count/chosen`, `count/rejected`, older TRL), TRL's own rule for the desirable/undesirable
  // balance (KTO paper eq. 8): with weights 1, num_desirable / num_undesirable must lie in [1/1.33, 1] for one of the
  // weights to be in range — TRL warns once at start-up; PrefLens keeps it with the run.
  spec({
    id: 'kto-imbalance',
    severity: 'warning',
    fires:
      "from logged `count/chosen`/`count/rejected`: neither unit weight in TRL's recommended range (desirable_weight ∈ [n_u/n_d, 1.33·n_u/n_d] or undesirable_weight ∈ [n_d/(1.33·n_u), n_d/n_u])",
    series: ['count/chosen', 'count/rejected'],
    source: 'KTO (Ethayarajh et al. 2024), eq. 8; TRL KTOTrainer',
    cite: "KTO eq. 8; TRL KTOTrainer's start-up warning",
    thresholds: { ratio: 1.33 },
    trainers: ['kto'],
    decide: ({ series }, t) => {
      const nd = finite(series['count/chosen']).reduce((s, [, v]) => s + v, 0);
      const nu = finite(series['count/rejected']).reduce((s, [, v]) => s + v, 0);
      if (!(nd > 0 && nu > 0 && nd !== nu)) return null;
      // TRL (kto_trainer.py): desirable_weight ∈ [nu/nd, 1.33·nu/nd] or undesirable_weight ∈ [nd/(1.33·nu), nd/nu], weights 1.
      const desOk = nu / nd <= 1 && 1 <= (t.ratio * nu) / nd;
      const undOk = nd / (t.ratio * nu) <= 1 && 1 <= nd / nu;
      if (desOk || undOk) return null;
      return {
        message: `${nd} desirable and ${nu} undesirable examples seen: with unit weights the balance is outside KTO's recommended range; TRL suggests desirable_weight in [${(nu / nd).toFixed(2)}, ${((t.ratio * nu) / nd).toFixed(2)}] or undesirable_weight in [${(nd / (t.ratio * nu)).toFixed(2)}, ${(nd / nu).toFixed(2)}] (not both)`,
        steps: [],
      };
    },
  }),
  spec({
    id: 'lr-schedule',
    severity: 'info',
    fires: 'the learning rate rises again after its peak, jumps > 3×, or reaches 0 early',
    series: ['learning_rate'],
    source: 'PrefLens',
    cite: 'PrefLens',
    thresholds: { rise: 1.05, jump: 3 },
    decide: ({ series }, t) => {
      const lr = finite(series.learning_rate);
      if (lr.length < 3) return null;
      const peak = lr.reduce((b, x, i) => (x[1] > lr[b][1] ? i : b), 0);
      const bad: number[] = [];
      for (let i = peak + 2; i < lr.length; i++) if (lr[i][1] > lr[i - 1][1] * t.rise) bad.push(lr[i][0]);
      for (let i = 1; i < lr.length; i++) if (lr[i - 1][1] > 0 && lr[i][1] / lr[i - 1][1] > t.jump && i > 1) bad.push(lr[i][0]);
      const zeroEarly = lr.slice(0, -1).filter(([, v], i) => v === 0 && i > peak).map((x) => x[0]);
      if (!bad.length && !zeroEarly.length) return null;
      return {
        message: `learning rate ${bad.length ? 'rises again after its peak or jumps' : ''}${bad.length && zeroEarly.length ? ' and ' : ''}${zeroEarly.length ? 'reaches 0 before the last step' : ''}`,
        steps: [...new Set([...bad, ...zeroEarly])].sort((a, b) => a - b),
      };
    },
  }),
];

/** Whether a check applies to a run of this trainer. */
export function appliesTo(c: RunCheckSpec, trainer: string): boolean {
  return (!c.trainers || c.trainers.includes(trainer)) && !(c.notFor ?? []).includes(trainer);
}

/** The checks that fire on a run, in the table's order. */
export function runChecks(series: Series, evalSeries: Series, nonFinite: ReadonlyArray<{ name: string; step: number }>, trainer = '', table: readonly RunCheckSpec[] = RUN_CHECKS): RunCheck[] {
  const input: RunCheckInput = { series, eval: evalSeries, nonFinite, trainer };
  const out: RunCheck[] = [];
  for (const c of table) {
    if (!appliesTo(c, trainer)) continue;
    const hit = c.decide(input, c.thresholds);
    if (hit) out.push({ id: c.id, severity: c.severity, message: hit.message, steps: hit.steps, source: c.source });
  }
  return out;
}

/** The series each check reads (the run view marks its steps on their charts), by check id. */
export function checkSeries(table: readonly RunCheckSpec[] = RUN_CHECKS): Map<string, readonly string[]> {
  return new Map(table.map((c) => [c.id, c.series]));
}
