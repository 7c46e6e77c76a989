/** Messages between the run webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { Checkpoint, Comparison, RunCheck } from '../core/contract.js';
import { isInt } from './validate.js';

/** Series with NaN/Infinity as null (postMessage keeps NaN, but the charts treat null as a gap). */
export interface RunView {
  name: string;
  dir: string;
  format: string;
  trainer: string;
  steps: number;
  series: Record<string, Array<[number, number | null]>>;
  eval: Record<string, Array<[number, number | null]>>;
  /** step → epoch as logged, for an x-axis by epoch. */
  epochs: Array<[number, number]>;
  checkpoints: Checkpoint[];
  checks: RunCheck[];
  referenceModel: string | null;
  /** The run's settings from TensorBoard text summaries (`args`, `model_config`), as written. */
  settings: Record<string, string>;
  /** Corrupt or truncated event records (file, byte offset, message); the rest was read. */
  problems: Array<{ file: string; offset: number; message: string }>;
  /** Written in the last few minutes (the host re-reads it as it grows). */
  live: boolean;
  /** The run has GRPO rollouts on disk (TRL completions, verl dumps): the panel offers the Rollouts view. */
  rollouts: boolean;
}

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

