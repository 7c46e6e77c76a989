/**
 * Training runs: HF Trainer trainer_state.json (log_history with train and eval_ rows; bare NaN/Infinity, which
 * real files contain), LLaMA-Factory trainer_log.jsonl, checkpoints, and run checks with their evidence.
 * Metric names of TRL's DPO, ORPO, KTO, SimPO/CPO and GRPO trainers are recognised; unknown metrics are kept too.
 */
import { locateModel } from '../engine/hub.js';
import { type EventRead, readEventFile } from './tfevents.js';
import { readBytes, withFile } from '../jsonl/reader.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { Checkpoint, RunCheck } from '../contract.js';

export type { Checkpoint, RunCheck };

export class RunError extends Error {}

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

/** JSON.parse that accepts bare NaN, Infinity and -Infinity outside strings (Python's json.dumps writes them). */
export function parseLenientJson(text: string): unknown {
  let out = '';
  let i = 0;
  let inStr = false;
  while (i < text.length) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inStr = false;
      i++;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      i++;
      continue;
    }
    if (text.startsWith('NaN', i)) {
      out += '"\\u0000NaN"';
      i += 3;
    } else if (text.startsWith('-Infinity', i)) {
      out += '"\\u0000-Infinity"';
      i += 9;
    } else if (text.startsWith('Infinity', i)) {
      out += '"\\u0000Infinity"';
      i += 8;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out, (_k, v: unknown) => (v === '\u0000NaN' ? NaN : v === '\u0000Infinity' ? Infinity : v === '\u0000-Infinity' ? -Infinity : v));
}

const IGNORE = new Set(['step', 'epoch', 'current_steps', 'total_steps', 'percentage', 'elapsed_time', 'remaining_time', 'total_flos', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

/** LLaMA-Factory's trainer_log.jsonl names: `lr` is the learning rate, `accuracy` TRL's `rewards/accuracies`. */
const LLAMAFACTORY_NAMES: Record<string, string> = { lr: 'learning_rate', accuracy: 'rewards/accuracies' };

/** Where a logged value goes: a train or eval series by name (`epoch` is the step → epoch map). */
type Put = (isEval: boolean, name: string, step: number, value: number) => void;

function addRow(row: Record<string, unknown>, step: number, put: Put, aliases: Record<string, string> = {}): void {
  const isEval = Object.keys(row).some((k) => k.startsWith('eval_'));
  if (!isEval && typeof row.epoch === 'number') put(false, 'epoch', step, row.epoch);
  for (const [k0, v] of Object.entries(row)) {
    if (IGNORE.has(k0) || typeof v !== 'number') continue;
    const k = aliases[k0] ?? k0;
    if (isEval && k.startsWith('eval_')) put(true, k.slice(5), step, v);
    else if (!isEval) put(false, k, step, v);
  }
}

/**
 * A run's curves, composed as they are read (so that a live update adds only the new points): the trainer's own
 * log (trainer_state.json or trainer_log.jsonl) as written, in its order; event-file points at the steps it lacks;
 * a list re-sorted only when a point arrived out of order; `epoch` kept apart as the step → epoch map.
 */
class Curves {
  readonly series: Series = {};
  readonly eval: Series = {};
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
    let seen = this.steps.get(list);
    if (!seen) this.steps.set(list, (seen = new Set()));
    if (fromEvents && seen.has(step)) return false;
    seen.add(step);
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

export function detectTrainer(names: string[]): string {
  const has = (re: RegExp): boolean => names.some((n) => re.test(n));
  if (has(/frac_reward_zero_std|reward_std|^rewards\/.+\/mean$/)) return 'grpo';
  if (has(/odds_ratio|log_odds_ratio/)) return 'orpo';
  if (has(/nll_loss/) && has(/rewards\/margins/)) return 'cpo/simpo';
  if (has(/^kl$/) && has(/rewards\/(chosen|rejected)_sum|logps\/(chosen|rejected)_sum/)) return 'kto';
  if (has(/^kl$/)) return 'kto';
  if (has(/rewards\/margins/)) return 'dpo';
  if (has(/^rewards\/accuracies$/)) return 'dpo';
  return 'unknown';
}

function checkpoints(dir: string): Checkpoint[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && statSync(join(dir, m[0])).isDirectory())
    .map((m) => {
      const p = join(dir, m[0]);
      const safetensors = existsSync(join(p, 'model.safetensors')) || existsSync(join(p, 'model.safetensors.index.json'));
      return { step: Number(m[1]), path: p, hasOnnx: existsSync(join(p, 'model.onnx')), hasSafetensors: safetensors, hasAdapter: existsSync(join(p, 'adapter_config.json')) };
    })
    .sort((a, b) => a.step - b.step);
}

/** The per-pair number each trainer loss type optimises (contract.ts ScoredRecord fields). */
export const LOSS_FIELDS: Record<string, string> = { sigmoid: 'dpo_loss', hinge: 'hinge_loss', ipo: 'ipo_loss', robust: 'robust_loss', simpo: 'simpo_loss' };

/**
 * The loss type a model was trained with, when its training config names it: TRL's `loss_type` in a
 * `dpo_config.json` / `cpo_config.json` beside the model or in its run folder (a checkpoint's parent), or
 * LLaMA-Factory's `pref_loss` in `training_args.yaml`. Null when none says.
 */
export function lossTypeOf(modelDir: string): string | null {
  for (const dir of [modelDir, dirname(modelDir)]) {
    for (const f of ['dpo_config.json', 'cpo_config.json']) {
      const p = join(dir, f);
      if (!existsSync(p)) continue;
      try {
        const c = JSON.parse(readFileSync(p, 'utf8')) as { loss_type?: unknown };
        const t = Array.isArray(c.loss_type) ? c.loss_type[0] : c.loss_type;
        if (typeof t === 'string') return t;
      } catch {
        /* not a config we understand */
      }
    }
    const yaml = join(dir, 'training_args.yaml');
    if (existsSync(yaml)) {
      const m = /^pref_loss:\s*["']?([A-Za-z_]+)/m.exec(readFileSync(yaml, 'utf8'));
      if (m) return m[1];
    }
  }
  return null;
}

/** TRL's model card names its trainer: "This model was trained with DPO" (the trainer's `_name`). */
const CARD_TRAINERS: Record<string, string> = { DPO: 'dpo', CPO: 'cpo/simpo', ORPO: 'orpo', KTO: 'kto', GRPO: 'grpo', RLOO: 'rloo', 'Online DPO': 'online-dpo', SFT: 'sft', Reward: 'reward', PPO: 'ppo', BCO: 'bco' };

export function trainerOfCard(dir: string): string | null {
  const card = join(dir, 'README.md');
  if (!existsSync(card)) return null;
  const m = /This model was trained with \[?([A-Za-z][A-Za-z0-9 -]*?)\]?(?:\(|,|\.|\s+a method)/.exec(readFileSync(card, 'utf8'));
  if (!m) return null;
  return CARD_TRAINERS[m[1]] ?? m[1].toLowerCase();
}

/**
 * Metric names alone cannot tell DPO with an NLL term (`rpo_alpha`, loss_type "sft": it logs `nll_loss` too) from
 * CPO/SimPO: CPO's rewards are β·logps (a constant ratio), DPO's are β·(logps − ref logps).
 */
function refineTrainer(trainer: string, series: Series): string {
  if (trainer !== 'cpo/simpo') return trainer;
  const rewards = new Map(finite(series['rewards/chosen']));
  const ratios = finite(series['logps/chosen'])
    .filter(([step, l]) => rewards.has(step) && l !== 0)
    .map(([step, l]) => (rewards.get(step) ?? 0) / l);
  if (ratios.length < 2) return trainer;
  const k = ratios[0];
  return ratios.every((r) => Math.abs(r - k) <= 1e-3 * Math.abs(k)) ? 'cpo/simpo' : 'dpo (with nll_loss: rpo_alpha or sft)';
}

export function isRunDir(dir: string): boolean {
  return existsSync(join(dir, 'trainer_state.json')) || existsSync(join(dir, 'trainer_log.jsonl')) || checkpoints(dir).length > 0 || eventFiles(dir).length > 0;
}

const EVENT_FILE = /^events\.out\.tfevents\./;

/** TensorBoard event files of a run: in the folder itself or in its `runs/<name>/` (the Trainer's logging_dir). */
export function eventFiles(dir: string): string[] {
  const out: string[] = [];
  const scan = (d: string): void => {
    try {
      for (const n of readdirSync(d).sort()) if (EVENT_FILE.test(n)) out.push(join(d, n));
    } catch {
      /* unreadable: no event files here */
    }
  };
  scan(dir);
  const runsDir = join(dir, 'runs');
  if (existsSync(runsDir) && statSync(runsDir).isDirectory())
    for (const n of readdirSync(runsDir).sort()) {
      const p = join(runsDir, n);
      if (statSync(p).isDirectory()) scan(p);
    }
  return out;
}

/**
 * The folder of a run from one of its files: the folder itself, or for an event file in the Trainer's logging dir
 * (`<output_dir>/runs/<name>/events.out.tfevents.*`) the output dir, which runs.ts eventFiles reads it from.
 */
export function runDirOf(file: string): string {
  const d = dirname(file);
  if (EVENT_FILE.test(basename(file)) && basename(dirname(d)) === 'runs') return dirname(dirname(d));
  return d;
}

type Points = Map<string, Map<number, number>>;

/**
 * Adds one event file read to the event curves (the Trainer's tags `train/X` and `eval/X` are X and eval X; a step
 * logged twice keeps its first value, as a resumed run logs its steps again) and passes each new point to `put`.
 */
function addEvents(read: EventRead, train: Points, ev: Points, settings: Record<string, string>, put: Put): void {
  for (const [k, v] of read.texts) settings[k] = v;
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

/** The run's reference model as its config names it (dpo_config.json, or an adapter's base), else null. */
function referenceOf(dir: string): string | null {
  for (const f of ['dpo_config.json', 'adapter_config.json']) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    try {
      const c = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      const ref = c.reference_model ?? c.ref_model ?? c.base_model_name_or_path;
      if (typeof ref === 'string' && ref) {
        // a folder (absolute or relative to the run) or a hub id in the local hub cache (engine/hub.ts)
        try {
          return locateModel(ref, dir).dir;
        } catch {
          return ref.startsWith('/') ? ref : join(dir, ref);
        }
      }
    } catch {
      /* not a config we understand */
    }
  }
  return null;
}

/** A file's identity for change detection: size and modification time. */
function stamp(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
}

/**
 * A run read incrementally, for live runs (docs/ARCHITECTURE.md, "Training runs"): each `update()` reads only what
 * changed since the last — the bytes appended to `trainer_log.jsonl` and to each event file (from where the last read
 * ended; a record or line still being written is left for the next update), `trainer_state.json` again only when
 * the Trainer rewrote it (it rewrites the whole file at each save), new event files and new checkpoints — and adds
 * only the new points to the curves. `parseRun` is one update.
 */
export class RunReader {
  private stateStamp: string | null = null;
  private globalStep = 0;
  private logOffset = 0;
  private logLine = 0;
  private logRows = 0;
  private logTotal = 0;
  private readonly eventEnds = new Map<string, number>();
  private readonly trainEvents: Points = new Map();
  private readonly evalEvents: Points = new Map();
  private readonly settings: Record<string, string> = {};
  private readonly problems: RunInfo['problems'] = [];
  private curves = new Curves();
  private cpStamp = '';
  private info: RunInfo | null = null;
  /** When any of the run's files was last written (ms since the epoch). */
  lastWrite = 0;
  /** Counts the updates that changed the run (so that its user knows whether it has drawn the latest). */
  version = 0;

  /**
   * `live`: the files may be being written, so a record or line cut off at the end is not reported but read again
   * at the next update (a one-time read reports a truncated event record, and reads a last line without newline).
   */
  constructor(
    readonly dir: string,
    private readonly live = false,
  ) {}

  private touch(path: string): void {
    try {
      this.lastWrite = Math.max(this.lastWrite, statSync(path).mtimeMs);
    } catch {
      /* gone */
    }
  }

  /** Reads what changed; true when the run changed (then `run()` is new). Throws RunError for an unreadable log. */
  update(): boolean {
    const dir = this.dir;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RunError(`${dir}: no such folder`);
    let changed = this.info === null;
    const statePath = join(dir, 'trainer_state.json');
    const logPath = join(dir, 'trainer_log.jsonl');
    const st = stamp(statePath);
    if (st !== this.stateStamp) {
      // trainer_state.json (re)written or gone: the curves are composed again, from it or from the log
      this.stateStamp = st;
      changed = true;
      this.rebuild(st ? statePath : null);
    }
    if (!st && existsSync(logPath) && this.readLog(logPath)) changed = true;
    for (const f of eventFiles(dir)) {
      const start = this.eventEnds.get(f) ?? 0;
      let size = 0;
      try {
        size = statSync(f).size;
      } catch {
        continue;
      }
      if (size === start && this.eventEnds.has(f)) continue;
      // a file rewritten from scratch is read again (a step already read keeps its value)
      const from = size < start ? 0 : start;
      const r = readEventFile(f, from, this.live);
      const known = this.eventEnds.has(f);
      this.eventEnds.set(f, r.end);
      this.touch(f);
      // a record still being written (live) is read at the next update
      if (r.end === from && !r.problems.length && known) continue;
      this.problems.push(...r.problems);
      addEvents(r, this.trainEvents, this.evalEvents, this.settings, this.put(true));
      changed = true;
    }
    const cps = checkpoints(dir);
    const cpStamp = cps.map((c) => `${c.step}${c.hasOnnx ? 'o' : ''}${c.hasSafetensors ? 's' : ''}${c.hasAdapter ? 'a' : ''}`).join();
    if (cpStamp !== this.cpStamp) {
      this.cpStamp = cpStamp;
      changed = true;
    }
    if (changed) {
      this.info = this.compose(cps);
      this.version++;
    }
    return changed;
  }

  /** Composes the curves again: from trainer_state.json (or, null, from the log, read again), then the events. */
  private rebuild(statePath: string | null): void {
    this.curves = new Curves();
    this.logOffset = this.logLine = this.logRows = this.logTotal = 0;
    if (statePath) this.readState(statePath);
    const put = this.put(true);
    for (const [byName, isEval] of [[this.trainEvents, false], [this.evalEvents, true]] as const)
      for (const [name, steps] of byName) for (const [step, value] of steps) put(isEval, name, step, value);
  }

  private put(fromEvents: boolean): Put {
    const c = this.curves;
    return (isEval, name, step, value) => c.put(isEval, name, step, value, fromEvents);
  }

  private readState(path: string): void {
    let state: unknown;
    try {
      state = parseLenientJson(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new RunError(`${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const s = state as { log_history?: unknown; global_step?: unknown };
    if (!Array.isArray(s.log_history)) throw new RunError(`${path}: no "log_history" list`);
    const put = this.put(false);
    s.log_history.forEach((row: unknown, i: number) => {
      if (typeof row !== 'object' || row === null) return;
      const r = row as Record<string, unknown>;
      addRow(r, typeof r.step === 'number' ? r.step : i, put, { lr: 'learning_rate' });
    });
    this.globalStep = typeof s.global_step === 'number' ? s.global_step : 0;
    this.touch(path);
  }

  /** Reads the lines appended since the last read (a last line without its newline waits for the next read). */
  private readLog(path: string): boolean {
    const size = statSync(path).size;
    // truncated or rewritten: composed again, the log read from its start
    if (size < this.logOffset) this.rebuild(null);
    if (size === this.logOffset) return false;
    const bytes = withFile(path, (fd) => readBytes(fd, this.logOffset, size - this.logOffset));
    const lastNl = bytes.lastIndexOf(10);
    const lines = bytes.subarray(0, lastNl + 1).toString('utf8').split('\n').slice(0, -1);
    let consumed = lastNl + 1;
    // a last line without its newline: taken when it is whole JSON (a line still being written is not), or when
    // this is a one-time read
    const tail = bytes.subarray(lastNl + 1).toString('utf8');
    if (tail.trim()) {
      let whole = !this.live;
      try {
        parseLenientJson(tail);
        whole = true;
      } catch {
        /* still being written */
      }
      if (whole) {
        lines.push(tail);
        consumed = bytes.length;
      }
    }
    if (!lines.length) return false;
    this.logOffset += consumed;
    const put = this.put(false);
    for (const line of lines) {
      this.logLine++;
      if (!line.trim()) continue;
      let r: Record<string, unknown>;
      try {
        r = parseLenientJson(line) as Record<string, unknown>;
      } catch {
        throw new RunError(`${path}: line ${this.logLine} is not valid JSON`);
      }
      const step = typeof r.current_steps === 'number' ? r.current_steps : typeof r.step === 'number' ? r.step : this.logLine;
      addRow(r, step, put, LLAMAFACTORY_NAMES);
      this.logRows++;
      if (typeof r.total_steps === 'number') this.logTotal = Math.max(this.logTotal, r.total_steps);
    }
    this.touch(path);
    return true;
  }

  private compose(cps: Checkpoint[]): RunInfo {
    const dir = this.dir;
    const c = this.curves;
    c.settle();
    const { series, eval: evalSeries } = c;
    let format: RunInfo['format'] = 'checkpoints-only';
    let steps = 0;
    if (this.stateStamp) {
      format = 'trainer_state';
      steps = this.globalStep;
    } else if (this.logRows) {
      format = 'llamafactory_log';
      steps = this.logTotal;
    } else if (this.eventEnds.size) format = 'tensorboard';
    for (const s of Object.values(series)) steps = Math.max(steps, s.at(-1)?.[0] ?? 0);
    const trainer = trainerOfCard(dir) ?? refineTrainer(detectTrainer([...Object.keys(series), ...Object.keys(evalSeries)]), series);
    // the curves grow in place as the run is written: the run returned is a snapshot of the lists
    const snap = (x: Series): Series => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.slice()]));
    return {
      dir,
      format,
      eventFiles: [...this.eventEnds.keys()],
      settings: { ...this.settings },
      problems: [...this.problems],
      trainer,
      steps,
      series: snap(series),
      eval: snap(evalSeries),
      epochs: c.epochs.slice(),
      checkpoints: cps,
      checks: runChecks(series, evalSeries, c.nonFinite, trainer),
      referenceModel: referenceOf(dir),
    };
  }

  /** The run as of the last update. */
  run(): RunInfo {
    if (!this.info) this.update();
    return this.info as RunInfo;
  }
}

export function parseRun(dir: string): RunInfo {
  const r = new RunReader(dir);
  r.update();
  return r.run();
}

const mean = (a: number[]): number => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);

function finite(s: Array<[number, number]> | undefined): Array<[number, number]> {
  return (s ?? []).filter(([, v]) => Number.isFinite(v));
}

/** Mean of the first and of the last quarter of a series (at least one point each). */
function ends(s: Array<[number, number]>): { first: number; last: number; firstSteps: number[]; lastSteps: number[] } | null {
  if (s.length < 4) return null;
  const q = Math.max(1, Math.floor(s.length / 4));
  return { first: mean(s.slice(0, q).map((x) => x[1])), last: mean(s.slice(-q).map((x) => x[1])), firstSteps: s.slice(0, q).map((x) => x[0]), lastSteps: s.slice(-q).map((x) => x[0]) };
}

/**
 * KTO's own checks (its chosen and rejected are unpaired desirable and undesirable examples, TRL's names):
 * - `kto-kl-zero`: the KL estimate `kl` (the reference point z₀, clamped at 0 by TRL) is 0 in most logged steps, so
 *   the loss reduces to 1 − σ(β·log-ratio) with no reference point: expected with loss_type apo_zero_unpaired, a
 *   sign of a dead KL estimate (too small a batch for the mismatched KL completions) otherwise;
 * - `kto-desirable-falling`: the desirable examples' implied reward (`rewards/chosen`, β·log-ratio) ends below 0 and
 *   below where it started: the policy makes desirable completions less likely than the reference does;
 * - `kto-imbalance`: from the logged counts (`count/chosen`, `count/rejected`, older TRL), TRL's own rule for the
 *   desirable/undesirable balance (KTO paper eq. 8): with weights 1, num_desirable / num_undesirable must lie in
 *   [1/1.33, 1] for one of the weights to be in range — TRL warns once at start-up; PrefLens keeps it with the run.
 */
function ktoChecks(series: Series): RunCheck[] {
  const out: RunCheck[] = [];
  const kl = finite(series.kl);
  if (kl.length >= 4) {
    const zeros = kl.filter(([, v]) => v === 0);
    if (zeros.length / kl.length > 0.9)
      out.push({
        id: 'kto-kl-zero',
        severity: 'info',
        message: `the KL estimate is 0 at ${zeros.length} of ${kl.length} logged steps (> 90%: threshold ours): the KTO loss runs without its reference point (expected with loss_type apo_zero_unpaired; otherwise the KL completions' estimate is dead — try a larger per-device batch)`,
        steps: zeros.map((x) => x[0]),
        source: 'KTO (Ethayarajh et al. 2024), eq. 7; TRL KTOTrainer (kl clamped at 0)',
      });
  }
  const rc = ends(finite(series['rewards/chosen']));
  if (rc && rc.last < 0 && rc.last < rc.first)
    out.push({
      id: 'kto-desirable-falling',
      severity: 'warning',
      message: `the desirable examples' reward fell from ${rc.first.toFixed(3)} to ${rc.last.toFixed(3)} (below 0): the policy makes desirable completions less likely than the reference`,
      steps: rc.lastSteps,
      source: 'KTO (Ethayarajh et al. 2024); likelihood displacement (Razin et al. 2024)',
    });
  const nd = finite(series['count/chosen']).reduce((s, [, v]) => s + v, 0);
  const nu = finite(series['count/rejected']).reduce((s, [, v]) => s + v, 0);
  if (nd > 0 && nu > 0 && nd !== nu) {
    // TRL (kto_trainer.py): desirable_weight ∈ [nu/nd, 1.33·nu/nd] or undesirable_weight ∈ [nd/(1.33·nu), nd/nu], weights 1.
    const desOk = nu / nd <= 1 && 1 <= (1.33 * nu) / nd;
    const undOk = nd / (1.33 * nu) <= 1 && 1 <= nd / nu;
    if (!desOk && !undOk)
      out.push({
        id: 'kto-imbalance',
        severity: 'warning',
        message: `${nd} desirable and ${nu} undesirable examples seen: with unit weights the balance is outside KTO's recommended range; TRL suggests desirable_weight in [${(nu / nd).toFixed(2)}, ${((1.33 * nu) / nd).toFixed(2)}] or undesirable_weight in [${(nd / (1.33 * nu)).toFixed(2)}, ${(nd / nu).toFixed(2)}] (not both)`,
        steps: [],
        source: 'KTO (Ethayarajh et al. 2024), eq. 8; TRL KTOTrainer',
      });
  }
  return out;
}

export function runChecks(series: Series, evalSeries: Series, nonFinite: Array<{ name: string; step: number }>, trainer = ''): RunCheck[] {
  const out: RunCheck[] = [];
  if (nonFinite.length) {
    const names = [...new Set(nonFinite.map((x) => x.name))];
    out.push({
      id: 'non-finite',
      severity: 'error',
      message: `${nonFinite.length} NaN/Inf values (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''}): the run diverged or a metric is undefined`,
      steps: [...new Set(nonFinite.map((x) => x.step))].sort((a, b) => a - b),
      source: 'PrefLens',
    });
  }
  const margins = finite(series['rewards/margins']);
  const chosen = finite(series['logps/chosen']);
  const rejected = finite(series['logps/rejected']);
  // KTO's chosen and rejected are separate, unpaired examples: the pair checks below do not apply to its runs.
  const paired = trainer !== 'kto';
  const m = paired ? ends(margins) : null;
  const c = paired ? ends(chosen) : null;
  const r = paired ? ends(rejected) : null;
  if (r && c && r.last < r.first && r.first - r.last > 2 * Math.max(0, c.first - c.last) && r.first - r.last > 0.2 * Math.abs(r.first))
    out.push({
      id: 'rejected-collapse',
      severity: 'warning',
      message: `rejected log-probability fell from ${r.first.toFixed(1)} to ${r.last.toFixed(1)} (more than twice the chosen's change, > 20% of its start; thresholds ours)`,
      steps: r.lastSteps,
      source: '3D-properties of DPO (Yan et al. 2024)',
    });
  if (m && c && c.first - c.last > 0.02 * Math.abs(c.first) && m.last > m.first)
    out.push({
      id: 'likelihood-displacement',
      severity: 'warning',
      message: `chosen log-probability fell (${c.first.toFixed(1)} → ${c.last.toFixed(1)}, more than 2%: threshold ours) while the margin grew (${m.first.toFixed(3)} → ${m.last.toFixed(3)})`,
      steps: c.lastSteps,
      source: 'Likelihood displacement (Razin et al. 2024)',
    });
  const loss = finite(series.loss);
  const gn = finite(series.grad_norm);
  if (loss.length >= 4 && m) {
    const lastLoss = mean(loss.slice(-Math.max(1, Math.floor(loss.length / 4))).map((x) => x[1]));
    const gnMax = Math.max(...gn.map((x) => x[1]));
    const gnLast = gn.length ? mean(gn.slice(-Math.max(1, Math.floor(gn.length / 4))).map((x) => x[1])) : NaN;
    if (lastLoss < 0.01 && m.last > 10 * Math.max(1e-9, Math.abs(m.first)) && m.last > 5 && (!gn.length || gnLast < 0.01 * gnMax))
      out.push({
        id: 'collapse',
        severity: 'error',
        message: `loss → ${lastLoss.toExponential(1)} with margins exploding to ${m.last.toFixed(1)}${gn.length ? ` and grad norm → ${gnLast.toExponential(1)}` : ''}: the policy separates the pairs trivially (thresholds ours)`,
        steps: m.lastSteps,
        source: 'PrefLens (DPO over-optimisation)',
      });
  }
  const evAcc = finite(evalSeries['rewards/accuracies']);
  if (evAcc.length >= 3 && m && m.last > m.first) {
    const best = Math.max(...evAcc.map((x) => x[1]));
    const lastAcc = evAcc[evAcc.length - 1][1];
    const firstAcc = evAcc[0][1];
    if (lastAcc <= firstAcc + 0.01 || lastAcc < best - 0.02)
      out.push({
        id: 'over-optimisation',
        severity: 'warning',
        message: `eval accuracy ${lastAcc <= firstAcc + 0.01 ? 'flat' : 'falling'} (${firstAcc.toFixed(3)} → best ${best.toFixed(3)} → ${lastAcc.toFixed(3)}) while the train margin grew (${m.first.toFixed(3)} → ${m.last.toFixed(3)})`,
        steps: evAcc.map((x) => x[0]),
        source: 'Reward over-optimisation (Gao et al. 2023; Rafailov et al. 2024)',
      });
  }
  const fz = finite(series.frac_reward_zero_std);
  const fze = ends(fz);
  if (fze && fze.last > 0.5)
    out.push({
      id: 'grpo-no-signal',
      severity: 'warning',
      message: `${(fze.last * 100).toFixed(0)}% of GRPO groups have zero reward variance in the last quarter: no advantage signal for them`,
      steps: fz.filter(([, v]) => v > 0.5).map((x) => x[0]),
      source: 'GRPO (Shao et al. 2024)',
    });
  // GRPO: completions cut off at max_completion_length (their ends, EOS included, never trained on) …
  const clipped = ends(finite(series['completions/clipped_ratio']));
  if (clipped && clipped.last > 0.2)
    out.push({
      id: 'grpo-clipped-completions',
      severity: 'warning',
      message: `${(clipped.last * 100).toFixed(0)}% of completions hit max_completion_length in the last quarter (threshold 20%: ours): raise it, or reward shorter answers`,
      steps: clipped.lastSteps,
      source: 'TRL GRPOTrainer (completions/clipped_ratio); overlong completions: DAPO (Yu et al. 2025)',
    });
  // … and the policy's entropy collapsing (it stops exploring; every group becomes alike).
  const entropy = ends(finite(series.entropy));
  if (entropy && entropy.first > 0 && entropy.last < 0.2 * entropy.first)
    out.push({
      id: 'grpo-entropy-collapse',
      severity: 'warning',
      message: `policy entropy fell from ${entropy.first.toFixed(3)} to ${entropy.last.toFixed(3)} (below 20% of its start: threshold ours): exploration is collapsing`,
      steps: entropy.lastSteps,
      source: 'Entropy collapse in RL for LLMs (DAPO, Yu et al. 2025; Cui et al. 2025)',
    });
  if (trainer === 'kto') out.push(...ktoChecks(series));
  const lr = finite(series.learning_rate);
  if (lr.length >= 3) {
    const peak = lr.reduce((b, x, i) => (x[1] > lr[b][1] ? i : b), 0);
    const bad: number[] = [];
    for (let i = peak + 2; i < lr.length; i++) if (lr[i][1] > lr[i - 1][1] * 1.05) bad.push(lr[i][0]);
    for (let i = 1; i < lr.length; i++) if (lr[i - 1][1] > 0 && lr[i][1] / lr[i - 1][1] > 3 && i > 1) bad.push(lr[i][0]);
    const zeroEarly = lr.slice(0, -1).filter(([, v], i) => v === 0 && i > peak).map((x) => x[0]);
    if (bad.length || zeroEarly.length)
      out.push({
        id: 'lr-schedule',
        severity: 'info',
        message: `learning rate ${bad.length ? 'rises again after its peak or jumps' : ''}${bad.length && zeroEarly.length ? ' and ' : ''}${zeroEarly.length ? 'reaches 0 before the last step' : ''}`,
        steps: [...new Set([...bad, ...zeroEarly])].sort((a, b) => a - b),
        source: 'PrefLens',
      });
  }
  return out;
}
