/** A training run as read (runs.ts RunReader): its curves, checkpoints and run checks. */
import type { Checkpoint, RunCheck } from '../contract.js';

export type { Checkpoint, RunCheck };

/** Curves by metric name: [step, value] pairs in step order (NaN and ±Infinity kept as logged). */
export type Series = Record<string, Array<[number, number]>>;

export interface RunInfo {
  dir: string;
  format: 'trainer_state' | 'llamafactory_log' | 'tensorboard' | 'checkpoints-only';
  /** TensorBoard event files read (their curves are merged with trainer_state.json's). */
  eventFiles: string[];
  /** The run's settings as the Trainer wrote them to TensorBoard (text summaries `args`, `model_config`). */
  settings: Record<string, string>;
  /** Corrupt or truncated event records: file, byte offset, what is wrong (the rest was read). */
  problems: Array<{ file: string; offset: number; message: string }>;
  trainer: string;
  steps: number;
  series: Series;
  eval: Series;
  /** step → epoch, from the logged rows' `epoch` (TensorBoard: `train/epoch`), for an x-axis by epoch. */
  epochs: Array<[number, number]>;
  checkpoints: Checkpoint[];
  checks: RunCheck[];
  referenceModel: string | null;
}

/** The finite points of a series (NaN and ±Infinity are gaps for every statistic). */
export function finite(s: Array<[number, number]> | undefined): Array<[number, number]> {
  return (s ?? []).filter(([, v]) => Number.isFinite(v));
}
