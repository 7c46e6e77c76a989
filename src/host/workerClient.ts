/** Runs requests on the host worker; a cancelled request terminates the worker (a new one starts on demand). */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { WorkerReply, WorkerRequest } from '../workers/hostWorker.js';
import type { ScanResult } from '../core/scan/index.js';

type Pending = {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
  onProgress?: (done: number, total: number) => void;
  onHead?: (head: ScanResult) => void;
};

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export class WorkerClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly distDir: string) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(join(this.distDir, 'hostWorker.js'));
    w.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') p.onProgress?.(m.done, m.total);
      else if (m.type === 'head') p.onHead?.(m.result);
      else {
        this.pending.delete(m.id);
        if (m.type === 'error') p.reject(Object.assign(new Error(m.message), { input: m.input }));
        else p.resolve(m);
      }
    });
    const fail = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    };
    w.on('error', (e) => fail(new Error(`PrefLens worker failed: ${e.message}`)));
    w.on('exit', (code) => {
      if (this.worker === w) fail(new Error(`PrefLens worker exited (code ${code})`));
    });
    this.worker = w;
    return w;
  }

  request(
    req: DistributiveOmit<WorkerRequest, 'id'>,
    opts: {
      onProgress?: (done: number, total: number) => void;
      /** A scan's first records (a request with `head`), before its reply. */
      onHead?: (head: ScanResult) => void;
      signal?: { onCancellationRequested(cb: () => void): unknown; isCancellationRequested: boolean };
    } = {},
  ): Promise<WorkerReply> {
    const id = this.nextId++;
    const w = this.ensure();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress: opts.onProgress, onHead: opts.onHead });
      opts.signal?.onCancellationRequested(() => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        reject(new Error('cancelled'));
        // Stop the work now: terminate the worker; pending requests of others fail and are retried by callers.
        const old = this.worker;
        this.worker = null;
        for (const p of this.pending.values()) p.reject(new Error('cancelled'));
        this.pending.clear();
        void old?.terminate();
      });
      w.postMessage({ ...req, id });
    });
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}
