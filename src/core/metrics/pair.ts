/**
 * Per-token, per-response and per-pair metrics (docs/ARCHITECTURE.md, "Metric conventions"). Token log-probabilities arrive as float32 from
 * onnxruntime (log-softmax with max-subtraction); every sum here is accumulated in float64.
 */

import type { FlagInfo, ResponseOut, TokenOut } from '../contract.js';

export type { ResponseOut, TokenOut };

/** β of the implicit reward r_t = β (logp − ref logp) unless given (TRL's default). */
export const DEFAULT_BETA = 0.1;

/** The per-pair number each trainer loss type optimises (contract.ts ScoredRecord fields). */
export const LOSS_FIELDS: ReadonlyMap<string, string> = new Map([
  ['sigmoid', 'dpo_loss'],
  ['hinge', 'hinge_loss'],
  ['ipo', 'ipo_loss'],
  ['robust', 'robust_loss'],
  ['simpo', 'simpo_loss'],
]);



/**
 * log(1 − e^x) for x < 0 without cancellation (Mächler, "Accurately computing log(1 − exp(−|a|))"): log(−expm1(x))
 * near 0, log1p(−e^x) further out. x = 0 (p = 1) gives −∞.
 */
export function log1mexp(x: number): number {
  if (x >= 0) return -Infinity;
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/** −log σ(x), stably. */
export function negLogSigmoid(x: number): number {
  return x >= 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));
}

/** Share of Σ|r_t| carried by the top 5% tokens by |r_t| (at least one token). Ours: see FLAG_INFO. */
export function topShare(rewards: number[]): number {
  if (rewards.length === 0) return 0;
  const a = rewards.map(Math.abs).sort((x, y) => y - x);
  const total = a.reduce((s, x) => s + x, 0);
  if (total === 0) return 0;
  const n = Math.max(1, Math.ceil(rewards.length * 0.05));
  let top = 0;
  for (let i = 0; i < n; i++) top += a[i];
  return top / total;
}

export const FLAG_INFO: Record<string, FlagInfo> = {
  'wrong-way': { text: 'margin < 0: the policy prefers the rejected response relative to the reference', source: 'DPO (Rafailov et al. 2023)' },
  'likelihood-displacement': {
    text: 'chosen log-probability fell below the reference although the margin is positive',
    source: 'Likelihood displacement (Razin et al. 2024)',
  },
  'policy-prefers-rejected': {
    text: 'under the policy, logp(rejected) > logp(chosen) although the margin is positive',
    source: 'Conditional Equivalence of DPO and RLHF',
  },
  'rejected-collapse': {
    text: 'rejected log-probability far below the reference (mean log-ratio < −1 nat/token; threshold is ours)',
    source: '3D-properties of DPO (Yan et al. 2024)',
  },
  'reward-concentrated': {
    text: 'over half of Σ|r_t| of a response sits in its top 5% tokens (definition is ours)',
    source: 'PrefLens',
  },
};

export interface PairOut {
  margin: number;
  dpo_loss: number;
  implicit_accuracy: boolean;
  /** IPO: (h − 1/(2τ))², h on mean log-ratios, τ = β. */
  ipo_loss: number;
  /** ORPO: log σ(log-odds(chosen) − log-odds(rejected)), log-odds on mean logps. */
  orpo_log_odds_ratio: number;
  /** TRL loss_type "hinge" (SLiC): max(0, 1 − margin). */
  hinge_loss: number;
  /** TRL loss_type "robust" (rDPO), with label smoothing ε > 0 only (at ε = 0 it is the DPO loss). */
  robust_loss?: number;
  flags: string[];
}

export function responseOut(
  tokens: Array<{ id: number; text: string; start: number; end: number }>,
  logp: Float32Array,
  entropy: Float32Array,
  rank: Float32Array,
  topkMass: Float32Array,
  topkEntropy: Float32Array,
  refLogp: Float32Array | null,
  beta: number,
  truncated: boolean,
): ResponseOut {
  let sum = 0;
  let refSum = 0;
  const out: TokenOut[] = tokens.map((t, i) => {
    const o: TokenOut = { ...t, logp: logp[i], entropy: entropy[i], rank: rank[i], topk_mass: topkMass[i], topk_entropy: topkEntropy[i] };
    sum += logp[i];
    if (refLogp) {
      const reward = beta * (logp[i] - refLogp[i]);
      o.ref_logp = refLogp[i];
      o.reward = reward;
      refSum += refLogp[i];
    }
    return o;
  });
  const r: ResponseOut = { tokens: out, logp: sum, mean_logp: tokens.length ? sum / tokens.length : 0 };
  if (refLogp) {
    r.ref_logp = refSum;
    // Σ r_t = β (Σ logp − Σ ref_logp), computed from the float64 sums.
    r.reward = beta * (sum - refSum);
  }
  if (truncated) r.truncated = true;
  return r;
}

export function pairOut(c: ResponseOut, r: ResponseOut, beta: number, labelSmoothing = 0): PairOut | null {
  if (c.reward === undefined || r.reward === undefined || c.ref_logp === undefined || r.ref_logp === undefined) return null;
  const margin = c.reward - r.reward;
  const flags: string[] = [];
  if (margin < 0) flags.push('wrong-way');
  if (margin > 0 && c.logp < c.ref_logp) flags.push('likelihood-displacement');
  if (margin > 0 && r.logp > c.logp) flags.push('policy-prefers-rejected');
  const nr = r.tokens.length;
  if (nr > 0 && (r.logp - r.ref_logp) / nr < -1) flags.push('rejected-collapse');
  const conc = (x: ResponseOut): boolean => x.tokens.length >= 20 && topShare(x.tokens.map((t) => t.reward ?? 0)) > 0.5;
  if (conc(c) || conc(r)) flags.push('reward-concentrated');
  const nc = c.tokens.length;
  const h = (nc ? (c.logp - c.ref_logp) / nc : 0) - (nr ? (r.logp - r.ref_logp) / nr : 0);
  // ORPO's log-odds log(p / (1 − p)) on the mean log-probability m = log p, with log(1 − e^m) computed stably.
  const logOdds = (m: number): number => m - log1mexp(Math.min(m, -Number.MIN_VALUE));
  return {
    margin,
    dpo_loss: negLogSigmoid(margin),
    implicit_accuracy: margin > 0,
    ipo_loss: (h - 1 / (2 * beta)) ** 2,
    orpo_log_odds_ratio: -negLogSigmoid(logOdds(c.mean_logp) - logOdds(r.mean_logp)),
    hinge_loss: Math.max(0, 1 - margin),
    ...(labelSmoothing > 0 ? { robust_loss: robustLoss(margin, labelSmoothing) } : {}),
    flags,
  };
}

/** TRL's robust DPO loss: (−log σ(m)(1 − ε) + log σ(−m) ε) / (1 − 2ε), m = β·h (the margin). */
export function robustLoss(margin: number, eps: number): number {
  return (negLogSigmoid(margin) * (1 - eps) - negLogSigmoid(-margin) * eps) / (1 - 2 * eps);
}

/** SimPO (TRL CPOTrainer loss_type "simpo"): −log σ(β (mean logp_c − mean logp_r) − γ), reference-free. */
export function simpoLoss(meanChosen: number, meanRejected: number, beta: number, gamma: number): number {
  return negLogSigmoid(beta * (meanChosen - meanRejected) - gamma);
}
