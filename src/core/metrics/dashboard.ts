/** Aggregations for the margin dashboard (pure: the host computes them, tests check them). */
import type { DashboardColumns, DashboardSummary, Histogram, ScoredRecord } from '../contract.js';
import { maxOf, minOf } from '../floats.js';

export type { DashboardColumns, DashboardSummary, Histogram };


export function histogram(values: ArrayLike<number>, bins = 40, range?: [number, number]): Histogram {
  const finite = Array.from(values).filter(Number.isFinite);
  if (finite.length === 0) return { lo: 0, width: 1, counts: new Array<number>(bins).fill(0) };
  let lo = range ? range[0] : minOf(finite);
  let hi = range ? range[1] : maxOf(finite);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
  return { lo, width, counts };
}



export function columns(records: Iterable<ScoredRecord>): DashboardColumns {
  const c: DashboardColumns = { line: [], sub: [], margin: [], chosenReward: [], rejectedReward: [], chosenShift: [], rejectedShift: [], lengthDiff: [], loss: [], flags: [] };
  for (const r of records) {
    if (r.margin === undefined || !r.chosen || !r.rejected) continue;
    c.line.push(r.line);
    c.sub.push(r.sub ?? 0);
    c.margin.push(r.margin);
    c.chosenReward.push(r.chosen.reward ?? NaN);
    c.rejectedReward.push(r.rejected.reward ?? NaN);
    c.chosenShift.push(r.chosen.logp - (r.chosen.ref_logp ?? NaN));
    c.rejectedShift.push(r.rejected.logp - (r.rejected.ref_logp ?? NaN));
    c.lengthDiff.push(r.chosen.tokens.length - r.rejected.tokens.length);
    c.loss.push(r.dpo_loss ?? NaN);
    c.flags.push(r.flags);
  }
  return c;
}

export function summarize(c: DashboardColumns): DashboardSummary {
  const n = c.margin.length;
  const flagCounts: Record<string, number> = {};
  for (const fs of c.flags) for (const f of fs) flagCounts[f] = (flagCounts[f] ?? 0) + 1;
  let acc = 0;
  let loss = 0;
  let margin = 0;
  for (let i = 0; i < n; i++) {
    if (c.margin[i] > 0) acc++;
    loss += c.loss[i];
    margin += c.margin[i];
  }
  return { pairs: n, implicitAccuracy: n ? acc / n : 0, meanLoss: n ? loss / n : 0, meanMargin: n ? margin / n : 0, flagCounts };
}
