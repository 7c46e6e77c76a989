/**
 * One-shot worker jobs (docs/ARCHITECTURE.md, "Worker jobs"). A scan range, a scoring run, a checkpoint comparison
 * and a set of SPINAL traces each run in a worker thread started for that job, and both sides speak one protocol:
 * the job posts messages of its own (progress, scored records, …) and ends with exactly one of `done` (with its
 * result), `error` or `cancelled`. A worker that crashes or exits without ending its job ends it with an error, so
 * a caller's promise always settles.
 */
import { Worker, parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { CancelledError, InputError } from './errors.js';

export type JobEnd<R> = { type: 'done'; result: R } | { type: 'error'; message: string; input: boolean } | { type: 'cancelled' };

/** What a job's worker posts: one of its own messages, or its end. */
type JobPost<M, R> = { type: 'message'; message: M } | JobEnd<R>;

export interface JobOptions<M> {
  onMessage?: (m: M) => void;
  signal?: AbortSignal;
  /**
   * How a cancellation reaches the job: `message` asks it to stop between units of work (it ends `cancelled` and
   * what it posted stays valid), `terminate` stops the thread at once. A job asked by message that has not ended
   * after `graceMs` is terminated.
   */
  cancel?: 'message' | 'terminate';
  graceMs?: number;
}

/** A job worker's data when its job comes later, by message (Prestarted). */
const LATER = 'preflens:job-later';

/**
 * A worker running one job: its end, however it comes (its `done`, `error` or `cancelled`, a crash, an exit), settles
 * `ended` exactly once and terminates the thread. Listens from its start, so that a worker that fails while it loads
 * (before its options are given: Prestarted) ends its job instead of throwing an unhandled error.
 */
class JobThread<M, R> {
  readonly ended: Promise<JobEnd<R>>;
  private readonly w: Worker;
  private opts: JobOptions<M> = {};
  private settled = false;
  private resolve: (e: JobEnd<R>) => void = () => undefined;
  private grace: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => {
    if (this.opts.cancel === 'message') {
      this.w.postMessage({ type: 'cancel' });
      this.grace = setTimeout(() => this.end({ type: 'cancelled' }), this.opts.graceMs ?? 5000);
    } else this.end({ type: 'cancelled' });
  };

  constructor(script: string, workerData: unknown) {
    this.ended = new Promise((resolve) => (this.resolve = resolve));
    const w = (this.w = new Worker(script, { workerData }));
    w.on('message', (p: JobPost<M, R>) => {
      if (p.type === 'message') {
        if (!this.settled) this.opts.onMessage?.(p.message);
      } else this.end(p);
    });
    w.on('error', (e) => this.end({ type: 'error', message: `worker crashed: ${e.message}`, input: false }));
    w.on('exit', (code) => this.end({ type: 'error', message: `worker exited (code ${code}) before its job ended`, input: false }));
  }

  /** Its options (messages, cancellation) from now on; returns its end. */
  watch(opts: JobOptions<M>): Promise<JobEnd<R>> {
    this.opts = opts;
    if (!this.settled) {
      if (opts.signal?.aborted) this.onAbort();
      else opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    }
    return this.ended;
  }

  post(message: unknown): void {
    this.w.postMessage(message);
  }

  end(e: JobEnd<R>): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.grace);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.resolve(e);
    void this.w.terminate();
  }
}

/** Runs `script` as a job on `data`; resolves with how it ended (never rejects). */
export function startJob<D, M, R>(script: string, data: D, opts: JobOptions<M> = {}): Promise<JobEnd<R>> {
  return new JobThread<M, R>(script, data).watch(opts);
}

/**
 * A job worker started before its job is known, so that its thread and script load while the caller does other work
 * (the extension's scan of a huge Parquet file: the workers for the rest of the file load while its first row groups
 * are scanned): `run` gives it its job (once), `drop` ends it unused. A worker that failed while it loaded ends the job
 * given to it with that error.
 */
export class Prestarted<D, M, R> {
  private readonly t: JobThread<M, R>;
  private given = false;

  constructor(script: string) {
    this.t = new JobThread<M, R>(script, LATER);
  }

  run(data: D, opts: JobOptions<M> = {}): Promise<JobEnd<R>> {
    if (this.given) throw new Error('a prestarted worker runs one job');
    this.given = true;
    this.t.post({ type: 'job', data });
    return this.t.watch(opts);
  }

  /** Ends the worker if it was given no job (after a job: nothing, the job ends it). */
  drop(): void {
    if (!this.given) this.t.end({ type: 'cancelled' });
  }
}

/** What a job sees of its worker: the cancellation signal and a way to post its own messages. */
export interface JobContext<M> {
  signal: AbortSignal;
  post(message: M, transfer?: TransferListItem[]): void;
}

/**
 * The worker side: runs `job` on the worker's data. Its result ends the job (`done`, its buffers transferred when
 * `transfer` lists them); a CancelledError, or any error once cancelled, ends it `cancelled`; an InputError or any
 * other error ends it `error`.
 */
export function serveJob<D, M, R>(job: (data: D, ctx: JobContext<M>) => Promise<R> | R, transfer?: (result: R) => TransferListItem[]): void {
  const port = parentPort;
  if (!port) return;
  const ac = new AbortController();
  const post = (message: M, list?: TransferListItem[]): void => port.postMessage({ type: 'message', message } satisfies JobPost<M, R>, list);
  const run = async (data: D): Promise<void> => {
    try {
      const result = await job(data, { signal: ac.signal, post });
      port.postMessage({ type: 'done', result } satisfies JobPost<M, R>, transfer?.(result));
    } catch (e) {
      if (e instanceof CancelledError || ac.signal.aborted) port.postMessage({ type: 'cancelled' } satisfies JobPost<M, R>);
      else port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies JobPost<M, R>);
    }
  };
  // a prestarted worker's job comes by message (Prestarted.run), once
  const later = workerData === LATER;
  let started = !later;
  port.on('message', (m: { type?: unknown; data?: unknown }) => {
    if (m?.type === 'cancel') ac.abort();
    else if (m?.type === 'job' && !started) {
      started = true;
      void run(m.data as D);
    }
  });
  if (!later) void run(workerData as D);
}

/** The error a caller throws for a job that did not end `done` (cancelled → CancelledError, bad input → InputError). */
export function jobFailure(e: Exclude<JobEnd<unknown>, { type: 'done' }>): Error {
  if (e.type === 'cancelled') return new CancelledError();
  return e.input ? new InputError(e.message) : new Error(e.message);
}

/**
 * The requests a thread is answering, for work it does between them (the extension's host worker scans a Parquet
 * file's first range itself: ScanOptions.pause): `quiet()` resolves on the next turn of the event loop once none is
 * being answered, so that a request asked during the work is answered whole (each of its reads included) before the
 * work goes on, instead of one read per turn.
 */
export class Answering {
  private count = 0;
  private waiting: Array<() => void> = [];

  /** Counts `work` (a request being answered) until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.count++;
    return work.finally(() => {
      if (--this.count > 0) return;
      const wake = this.waiting;
      this.waiting = [];
      for (const w of wake) w();
    });
  }

  async quiet(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.count > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}
