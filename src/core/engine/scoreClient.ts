/** Starts a scoring worker and exposes its messages; `cancel()` stops it between engine rounds. */
import { Worker } from 'node:worker_threads';
import type { ScoreJobSpec, ScoreWorkerMessage } from './scoreWorker.js';

export type ScoreEnd = Extract<ScoreWorkerMessage, { type: 'done' | 'cancelled' | 'error' }>;

export class ScoreJob {
  private readonly worker: Worker;
  readonly finished: Promise<ScoreEnd>;

  constructor(script: string, spec: ScoreJobSpec, onMessage: (m: ScoreWorkerMessage) => void) {
    this.worker = new Worker(script, { workerData: spec });
    this.finished = new Promise((resolve) => {
      this.worker.on('message', (m: ScoreWorkerMessage) => {
        onMessage(m);
        if (m.type === 'done' || m.type === 'cancelled' || m.type === 'error') {
          resolve(m);
          void this.worker.terminate();
        }
      });
      this.worker.on('error', (e) => resolve({ type: 'error', message: `scoring worker crashed: ${e.message}` }));
      this.worker.on('exit', (code) => resolve({ type: 'error', message: `scoring worker exited (code ${code})` }));
    });
  }

  cancel(): void {
    this.worker.postMessage({ type: 'cancel' });
  }
}
