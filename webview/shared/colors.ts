/**
 * Colour scales for token heatmaps (a view helper: the webview applies them, the tests check them).
 * Diverging metrics (implicit reward, logp − ref logp) are centred at 0 and symmetric, clipped at a robust
 * percentile of |value| (the 98th by default) so that one extreme token does not wash out the rest.
 * Sequential metrics (logp, entropy, top-k mass) map [lo, hi] percentiles to [0, 1].
 */

import type { HeatMetric } from '../../src/core/contract.js';

export type { HeatMetric };

export const HEAT_METRICS: Record<HeatMetric, { label: string; diverging: boolean; note: string }> = {
  reward: { label: 'implicit reward β(logp − ref logp)', diverging: true, note: 'DPO token-level reward ("From r to Q*")' },
  logratio: { label: 'logp − ref logp', diverging: true, note: 'log-ratio policy / reference' },
  logp: { label: 'policy logp', diverging: false, note: 'log-probability of the token under the policy' },
  ref_logp: { label: 'reference logp', diverging: false, note: 'log-probability of the token under the reference' },
  entropy: { label: 'entropy', diverging: false, note: 'entropy of the policy’s next-token distribution' },
  topk_mass: { label: 'top-10 mass', diverging: false, note: 'our reading of the over-optimisation indicators of "Understanding Likelihood Over-optimisation"' },
};

/** The p-quantile (0..1) of values, by linear interpolation; NaN-free input expected. */
export function quantile(values: ArrayLike<number>, p: number): number {
  const a = Float64Array.from(values).sort();
  if (a.length === 0) return 0;
  const x = p * (a.length - 1);
  const i = Math.floor(x);
  const f = x - i;
  return i + 1 < a.length ? a[i] * (1 - f) + a[i + 1] * f : a[i];
}

export interface Scale {
  diverging: boolean;
  /** diverging: the clip bound c (values map to [−c, c]); sequential: [lo, hi] */
  lo: number;
  hi: number;
}

export function makeScale(values: ArrayLike<number>, diverging: boolean, pct = 0.98): Scale {
  if (diverging) {
    const abs = Array.from(values, Math.abs);
    const c = quantile(abs, pct) || Math.max(0, ...abs) || 1;
    return { diverging, lo: -c, hi: c };
  }
  const lo = quantile(values, 1 - pct);
  const hi = quantile(values, pct);
  return { diverging, lo, hi: hi > lo ? hi : lo + 1 };
}

/**
 * Position of a value on the scale: diverging → [−1, 1] (sign = direction), sequential → [0, 1]; clipped.
 */
export function scalePosition(s: Scale, v: number): number {
  if (!Number.isFinite(v)) return 0;
  if (s.diverging) return Math.max(-1, Math.min(1, v / s.hi));
  return Math.max(0, Math.min(1, (v - s.lo) / (s.hi - s.lo)));
}

export function metricValue(t: { logp: number; ref_logp?: number; reward?: number; entropy: number; topk_mass: number }, m: HeatMetric): number {
  switch (m) {
    case 'reward':
      return t.reward ?? NaN;
    case 'logratio':
      return t.ref_logp === undefined ? NaN : t.logp - t.ref_logp;
    case 'logp':
      return t.logp;
    case 'ref_logp':
      return t.ref_logp ?? NaN;
    case 'entropy':
      return t.entropy;
    case 'topk_mass':
      return t.topk_mass;
  }
}
