/** Messages between the run webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { Comparison, RunView } from '../core/contract.js';

export type { RunView };
import { isInt } from './validate.js';

/** Actions on one of the runs shown (by its folder, which the host checks against the runs it showed). */
export type RunRequest = { type: 'ready' } | { type: 'spinal'; dir: string } | { type: 'compare'; dir: string } | { type: 'rollouts'; dir: string } | { type: 'openCheckpoint'; dir: string; step: number };

/** `runs`: the runs shown, overlaid (sent again, whole, when a live run changed). */
export type RunEvent = { type: 'runs'; runs: RunView[] } | { type: 'comparison'; dir: string; comparison: Comparison } | { type: 'busy'; message: string } | { type: 'error'; message: string };

export function parseRunRequest(m: unknown): RunRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready') return { type: 'ready' };
  if (typeof o.dir !== 'string' || o.dir.length > 4096) return null;
  if (o.type === 'spinal' || o.type === 'compare' || o.type === 'rollouts') return { type: o.type, dir: o.dir };
  if (o.type === 'openCheckpoint' && isInt(o.step, 0, Number.MAX_SAFE_INTEGER)) return { type: 'openCheckpoint', dir: o.dir, step: o.step };
  return null;
}

