/**
 * Reading a training run (docs/ARCHITECTURE.md, "Training runs"): HF Trainer trainer_state.json (log_history with
 * train and eval_ rows; bare NaN/Infinity, which real files contain), LLaMA-Factory trainer_log.jsonl, TensorBoard
 * event files and checkpoints, read incrementally (RunReader) and composed into curves (compose.ts), with the run
 * checks (checks.ts). Unknown metrics are kept too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { locateModel } from '../hub.js';
import { InputError } from '../errors.js';
import { iterateLines, MAX_RECORD_BYTES, oversizeMessage, readBytes, withFile } from '../jsonl/reader.js';
import { readEventFile } from './tfevents.js';
import { parseLenientJson } from './lenientJson.js';
import { addEvents, addRow, Curves, LLAMAFACTORY_NAMES, type Points, type Put, TRAINER_NAMES } from './compose.js';
import { dict } from '../dict.js';
import { checkpoints } from './checkpoints.js';
import { refineTrainer, detectTrainer, trainerOfCard } from './trainer.js';
import { runChecks } from './checks.js';
import type { Checkpoint, RunInfo, Series } from './types.js';

export type { RunInfo };

export class RunError extends InputError {}

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

/** The offset of the last newline in [from, size) of a file, read backwards a chunk at a time; -1 when there is none. */
function lastNewline(fd: number, from: number, size: number): number {
  const CHUNK = 1 << 20;
  for (let end = size; end > from; ) {
    const start = Math.max(from, end - CHUNK);
    const at = readBytes(fd, start, end - start).lastIndexOf(10);
    if (at >= 0) return start + at;
    end = start;
  }
  return -1;
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
  /** Paths named like event files that are not files (reported once). */
  private readonly notFiles = new Set<string>();
  private readonly trainEvents: Points = new Map();
  private readonly evalEvents: Points = new Map();
  private readonly settings = new Map<string, string>();
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
        const st = statSync(f);
        if (!st.isFile()) {
          // named like an event file but a folder (or a device): said once, never read
          if (!this.notFiles.has(f)) {
            this.problems.push({ file: f, where: 'the path', message: `is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, not an event file: not read` });
            this.notFiles.add(f);
            changed = true;
          }
          continue;
        }
        size = st.size;
      } catch {
        continue;
      }
      if (size === start && this.eventEnds.has(f)) continue;
      // a file rewritten from scratch is read again (a step already read keeps its value)
      const from = size < start ? 0 : start;
      let r: ReturnType<typeof readEventFile>;
      try {
        r = readEventFile(f, from, this.live);
      } catch (e) {
        this.problems.push({ file: f, where: 'the file', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))})` });
        this.eventEnds.set(f, size);
        changed = true;
        continue;
      }
      const known = this.eventEnds.has(f);
      this.eventEnds.set(f, r.end);
      this.touch(f);
      // a record still being written (live) is read at the next update
      if (r.end === from && !r.problems.length && known) continue;
      for (const p of r.problems) this.problems.push(p);
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
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        if (Array.isArray(row) || (row !== null && row !== undefined)) this.problems.push({ file: path, where: `log_history[${i}]`, message: `${Array.isArray(row) ? 'an array' : typeof row}, not a row of logged values: skipped` });
        return;
      }
      const r = row as Record<string, unknown>;
      addRow(r, typeof r.step === 'number' ? r.step : i, put, TRAINER_NAMES);
    });
    this.globalStep = typeof s.global_step === 'number' ? s.global_step : 0;
    this.touch(path);
  }

  /**
   * Reads the lines appended since the last read (a last line without its newline waits for the next read), streamed:
   * a log of any size, or a line of many megabytes, is never one string.
   */
  private readLog(path: string): boolean {
    const size = statSync(path).size;
    // truncated or rewritten: composed again, the log read from its start
    if (size < this.logOffset) this.rebuild(null);
    if (size === this.logOffset) return false;
    return withFile(path, (fd) => {
      let end = lastNewline(fd, this.logOffset, size) + 1 || this.logOffset;
      // a last line without its newline: taken when it is whole JSON (a line still being written is not), or when
      // this is a one-time read
      if (end < size && size - end > MAX_RECORD_BYTES) {
        // a last line over the limit: reported as such by a one-time read (a live read waits for its end)
        if (!this.live) end = size;
      } else if (end < size) {
        const tail = readBytes(fd, end, size - end).toString('utf8');
        if (tail.trim()) {
          let whole = !this.live;
          try {
            parseLenientJson(tail);
            whole = true;
          } catch {
            /* still being written */
          }
          if (whole) end = size;
        }
      }
      if (end === this.logOffset) return false;
      const put = this.put(false);
      for (const { line: n, bytes, oversize } of iterateLines(fd, this.logOffset, end, this.logLine + 1)) {
        this.logLine = n;
        if (oversize !== undefined) {
          this.problems.push({ file: path, where: `line ${n}`, message: oversizeMessage(oversize) });
          continue;
        }
        const line = bytes.toString('utf8');
        if (!line.trim()) continue;
        let v: unknown;
        try {
          v = parseLenientJson(line);
        } catch {
          throw new RunError(`${path}: line ${n} is not valid JSON`);
        }
        if (typeof v !== 'object' || v === null || Array.isArray(v)) {
          this.problems.push({ file: path, where: `line ${n}`, message: `${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}, not a row of logged values: skipped` });
          continue;
        }
        const r = v as Record<string, unknown>;
        const step = typeof r.current_steps === 'number' ? r.current_steps : typeof r.step === 'number' ? r.step : n;
        addRow(r, step, put, LLAMAFACTORY_NAMES);
        this.logRows++;
        if (typeof r.total_steps === 'number') this.logTotal = Math.max(this.logTotal, r.total_steps);
      }
      this.logOffset = end;
      this.touch(path);
      return true;
    });
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
    const snap = (x: Series): Series => dict(Object.entries(x).map(([k, v]) => [k, v.slice()] as const));
    return {
      dir,
      format,
      eventFiles: [...this.eventEnds.keys()],
      settings: dict(this.settings),
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

