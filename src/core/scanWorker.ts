/** Worker thread entry: scans one byte range of a preference file and posts the packed result back. */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, loadTokenCounter, type RangeTask, scanRange } from './scan.js';
import { transferList } from './scanParts.js';

async function main(): Promise<void> {
  const task = workerData as RangeTask;
  try {
    const tok = task.tokenizerDir ? await loadTokenCounter(task.tokenizerDir) : null;
    const part = scanRange(task, tok, (bytes) => parentPort?.postMessage({ type: 'progress', bytes }));
    parentPort?.postMessage({ type: 'done', part }, transferList(part));
  } catch (e) {
    parentPort?.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError });
  }
}
void main();
