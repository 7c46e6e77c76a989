/** A training run as read (runs.ts RunReader): its curves, checkpoints and run checks. */
import type { Checkpoint, RunCheck } from '../contract.js';

export type { Checkpoint, RunCheck };

/** Curves by metric name: [step, value] pairs in step order (NaN and ±Infinity kept as logged). */
export type Series = Record<string, Array<[number, number]>>;

/** A part of a run's files that could not be read: where (a byte offset, or a row or line) and what is wrong. */
export interface RunProblem {
  file: string;
  /** The byte offset of a damaged event record. */
  offset?: number;
  /** Or the place in a log: `log_history[3]`, `line 12`. */
  where?: string;
  message: string;
}

/** Where a problem is, for messages: its byte offset or its place. */
export function problemPlace(p: RunProblem): string {
  return p.where ?? `byte ${p.offset ?? 0}`;
}

export interface RunInfo {
  dir: string;
  format: 'trainer_state' | 'llamafactory_log' | 'tensorboard' | 'checkpoints-only';
  /** TensorBoard event files read (their curves are merged with trainer_state.json's). */
  eventFiles: string[];
  /** The run's settings as the Trainer wrote them to TensorBoard (text summaries `args`, `model_config`). */
  settings: Record<string, string>;
  /** What could not be read (the rest was): file, byte offset or place (a row, a line), what is wrong. */
  problems: RunProblem[];
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
