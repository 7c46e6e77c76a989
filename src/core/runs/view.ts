/** The run panel's view of a run (contract.ts RunView), built in the live-run worker from what runs.ts read. */
import type { RunView } from '../contract.js';
import type { RunInfo } from './runs.js';
import { thin } from './curves.js';
import { dict } from '../dict.js';

/**
 * What the panel draws of a run: NaN/Infinity as gaps; a long curve thinned to the extremes of
 * pixel-sized buckets (curves.ts thin), so that a live update of a 20,000-step run posts thousands of points, not
 * hundreds of thousands.
 */
export function runView(r: RunInfo, live: boolean): Omit<RunView, 'rollouts'> {
  const clean = (s: Record<string, Array<[number, number]>>): Record<string, Array<[number, number | null]>> =>
    dict(Object.entries(s).map(([k, v]) => [k, thin(v).map(([x, y]) => [x, Number.isFinite(y) ? y : null] as [number, number | null])] as const));
  const name = r.dir.split(/[\\/]/).filter(Boolean).pop() ?? r.dir;
  return { name, dir: r.dir, format: r.format, trainer: r.trainer, steps: r.steps, series: clean(r.series), eval: clean(r.eval), epochs: thin(r.epochs), checkpoints: r.checkpoints, checks: r.checks, referenceModel: r.referenceModel, settings: r.settings, problems: r.problems, live };
}
