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
  checkpoints: Checkpoint[];
  checks: RunCheck[];
  referenceModel: string | null;
  /** The run's settings from TensorBoard text summaries (`args`, `model_config`), as written. */
  settings: Record<string, string>;
  /** Corrupt or truncated event records (file, byte offset, message); the rest was read. */
  problems: Array<{ file: string; offset: number; message: string }>;
}

export type RunRequest = { type: 'ready' } | { type: 'spinal' } | { type: 'compare' } | { type: 'openCheckpoint'; step: number };

export type RunEvent = { type: 'run'; run: RunView } | { type: 'comparison'; comparison: Comparison } | { type: 'busy'; message: string } | { type: 'error'; message: string };


export function parseRunRequest(m: unknown): RunRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready' || o.type === 'spinal' || o.type === 'compare') return { type: o.type };
  if (o.type === 'openCheckpoint' && isInt(o.step, 0, Number.MAX_SAFE_INTEGER)) return { type: 'openCheckpoint', step: o.step };
  return null;
}
