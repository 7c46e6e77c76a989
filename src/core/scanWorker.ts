/** Worker thread entry: scans one byte range of a preference file and posts the packed result back. */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, loadTokenCounter, type RangeTask, scanRange } from './scan.js';

async function main(): Promise<void> {
  const task = workerData as RangeTask;
  try {
    const tok = task.tokenizerDir ? await loadTokenCounter(task.tokenizerDir) : null;
    const t0 = performance.now();
    if (process.env.PT) console.error('worker start at', performance.timeOrigin + t0 - Number(process.env.PT));
    const part = scanRange(task, tok, (bytes) => parentPort?.postMessage({ type: 'progress', bytes }));
    if (process.env.PT) console.error('worker scan ms', performance.now() - t0);
    parentPort?.postMessage({ type: 'done', part }, [...part.rows.flatMap((r) => [r.f.buffer as ArrayBuffer, r.i.buffer as ArrayBuffer]), part.extra.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError });
  }
}
void main();
