/**
 * A run's curves, composed from what its files log (docs/ARCHITECTURE.md, "Training runs"): rows of the trainer's
 * own log and points of TensorBoard event files, as the reader (runs.ts) meets them.
 */
import type { EventRead } from './tfevents.js';
import type { Series } from './types.js';
import { dict } from '../dict.js';

const IGNORE = new Set(['step', 'epoch', 'current_steps', 'total_steps', 'percentage', 'elapsed_time', 'remaining_time', 'total_flos', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

/** LLaMA-Factory's trainer_log.jsonl names: `lr` is the learning rate, `accuracy` TRL's `rewards/accuracies`. */
export const LLAMAFACTORY_NAMES: ReadonlyMap<string, string> = new Map([
  ['lr', 'learning_rate'],
  ['accuracy', 'rewards/accuracies'],
]);

/** trainer_state.json's `lr` (older Trainers) is the learning rate. */
export const TRAINER_NAMES: ReadonlyMap<string, string> = new Map([['lr', 'learning_rate']]);

/** Where a logged value goes: a train or eval series by name (`epoch` is the step → epoch map). */
export type Put = (isEval: boolean, name: string, step: number, value: number) => void;

export function addRow(row: Record<string, unknown>, step: number, put: Put, aliases: ReadonlyMap<string, string> = new Map()): void {
  const isEval = Object.keys(row).some((k) => k.startsWith('eval_'));
  if (!isEval && typeof row.epoch === 'number') put(false, 'epoch', step, row.epoch);
  for (const [k0, v] of Object.entries(row)) {
    if (IGNORE.has(k0) || typeof v !== 'number') continue;
    const k = aliases.get(k0) ?? k0;
    if (isEval && k.startsWith('eval_')) put(true, k.slice(5), step, v);
    else if (!isEval) put(false, k, step, v);
  }
}

/**
 * A run's curves, composed as they are read (so that a live update adds only the new points): the trainer's own
 * log (trainer_state.json or trainer_log.jsonl) as written, in its order; event-file points at the steps it lacks;
 * a list re-sorted only when a point arrived out of order; `epoch` kept apart as the step → epoch map.
 */
export class Curves {
  // metric names are data: null-prototype dictionaries (a metric may be called __proto__ or constructor)
  readonly series: Series = dict();
  readonly eval: Series = dict();
  readonly epochs: Array<[number, number]> = [];
  readonly nonFinite: Array<{ name: string; step: number }> = [];
  private readonly steps = new Map<Array<[number, number]>, Set<number>>();
  private readonly unsorted = new Set<Array<[number, number]>>();

  /** A point of the trainer's log (kept as written) or, `fromEvents`, of an event file (kept when its step is new). */
  put(isEval: boolean, name: string, step: number, value: number, fromEvents: boolean): void {
    if (name === 'epoch') {
      if (isEval || !Number.isFinite(value)) return;
      this.add(this.epochs, step, value, fromEvents);
      return;
    }
    const list = ((isEval ? this.eval : this.series)[name] ??= []);
    if (this.add(list, step, value, fromEvents) && !Number.isFinite(value)) this.nonFinite.push({ name, step });
  }

  private add(list: Array<[number, number]>, step: number, value: number, fromEvents: boolean): boolean {
    // the steps a list has, made when an event-file point first meets it (a run without event files never needs them)
    let seen = this.steps.get(list);
    if (!seen && fromEvents) this.steps.set(list, (seen = new Set(list.map(([s]) => s))));
    if (fromEvents && seen?.has(step)) return false;
    seen?.add(step);
    if (fromEvents && list.length && list[list.length - 1][0] > step) this.unsorted.add(list);
    list.push([step, value]);
    return true;
  }

  /** Sorts the lists that received a point out of order. */
  settle(): void {
    for (const l of this.unsorted) l.sort((a, b) => a[0] - b[0]);
    this.unsorted.clear();
  }
}

export type Points = Map<string, Map<number, number>>;

/**
 * Adds one event file read to the event curves (the Trainer's tags `train/X` and `eval/X` are X and eval X; a step
 * logged twice keeps its first value, as a resumed run logs its steps again) and passes each new point to `put`.
 */
export function addEvents(read: EventRead, train: Points, ev: Points, settings: Map<string, string>, put: Put): void {
  for (const [k, v] of read.texts) settings.set(k, v);
  for (const [tag, points] of read.scalars) {
    const isEval = tag.startsWith('eval/');
    const byName = isEval ? ev : train;
    const name = tag.replace(/^(train|eval)\//, '');
    const steps = byName.get(name) ?? new Map<number, number>();
    for (const [step, value] of points)
      if (!steps.has(step)) {
        steps.set(step, value);
        put(isEval, name, step, value);
      }
    byName.set(name, steps);
  }
}
