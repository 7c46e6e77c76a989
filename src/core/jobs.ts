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

/** Runs `script` as a job on `data`; resolves with how it ended (never rejects). */
export function startJob<D, M, R>(script: string, data: D, opts: JobOptions<M> = {}): Promise<JobEnd<R>> {
  return new Promise((resolve) => {
    const w = new Worker(script, { workerData: data });
    let ended = false;
    let grace: NodeJS.Timeout | undefined;
    const end = (e: JobEnd<R>): void => {
      if (ended) return;
      ended = true;
      clearTimeout(grace);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(e);
      void w.terminate();
    };
    const onAbort = (): void => {
      if (opts.cancel === 'message') {
        w.postMessage({ type: 'cancel' });
        grace = setTimeout(() => end({ type: 'cancelled' }), opts.graceMs ?? 5000);
      } else end({ type: 'cancelled' });
    };
    w.on('message', (p: JobPost<M, R>) => {
      if (p.type === 'message') {
        if (!ended) opts.onMessage?.(p.message);
      } else end(p);
    });
    w.on('error', (e) => end({ type: 'error', message: `worker crashed: ${e.message}`, input: false }));
    w.on('exit', (code) => end({ type: 'error', message: `worker exited (code ${code}) before its job ended`, input: false }));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
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
  port.on('message', (m: { type?: unknown }) => {
    if (m?.type === 'cancel') ac.abort();
  });
  const post = (message: M, list?: TransferListItem[]): void => port.postMessage({ type: 'message', message } satisfies JobPost<M, R>, list);
  void (async () => {
    try {
      const result = await job(workerData as D, { signal: ac.signal, post });
      port.postMessage({ type: 'done', result } satisfies JobPost<M, R>, transfer?.(result));
    } catch (e) {
      if (e instanceof CancelledError || ac.signal.aborted) port.postMessage({ type: 'cancelled' } satisfies JobPost<M, R>);
      else port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies JobPost<M, R>);
    }
  })();
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
