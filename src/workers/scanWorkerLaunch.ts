/**
 * The scan worker's launcher (dist/scanWorker.js): loads its bundle (dist/scanWorker.bundle.js, from
 * workers/scanWorker.ts) with its V8 code cache (core/codeCache.ts; docs/ARCHITECTURE.md, "Start-up"). The bundle
 * serves the job (core/jobs.ts serveJob).
 */
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { CODE_CACHE_ENV, loadBundle, report } from '../core/codeCache.js';

const bundle = loadBundle(join(__dirname, 'scanWorker.bundle.js'));
report('scanWorker.bundle.js', bundle);
// the build's training runs: the cache written once the job has run, before its result is posted (the thread is then
// terminated by its parent)
const port = parentPort;
if (process.env[CODE_CACHE_ENV] === 'write' && port) {
  const post = port.postMessage.bind(port);
  port.postMessage = (message: unknown, transfer?: Parameters<typeof post>[1]): void => {
    if ((message as { type?: unknown })?.type === 'done') bundle.saveCache();
    post(message, transfer);
  };
}
