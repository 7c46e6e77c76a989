// bench/live: a live run as the extension keeps it up to date. The run is big: a 20,000-row LLaMA-Factory
// trainer_log.jsonl and a TensorBoard event file with 20,000 steps × 24 scalars. Each round appends 5 rows and 5
// event steps; the live-run worker (dist/liveWorker.js: incremental RunReader, curves thinned for the panel) posts
// the new view to this thread, as it does to the extension host. Measured on this thread: the time from the write to
// the view's arrival, and how long this thread was ever blocked (perf_hooks' event-loop delay, max), against the
// named peer doing it on this thread: re-reading the whole run (parseRun) and building the same view, in the same run.
// Usage: npm run build && node bench/live.mjs [ROWS]
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const repo = resolve(import.meta.dirname, '..');
const { parseRun } = require('../out/src/core/runs/runs.js');
const { runView } = require('../out/src/core/runs/view.js');
const { eventBytes, frame } = require('../out/test/tfevents.js');

const ROWS = Number(process.argv[2] ?? 20000);
const TAGS = ['loss', 'grad_norm', 'learning_rate', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected', 'epoch'];
const dir = mkdtempSync(join(tmpdir(), 'preflens-bench-live-'));
const row = (s) => JSON.stringify({ current_steps: s, loss: 0.7 - s / (ROWS * 4), lr: 5e-7, epoch: s / 1000, 'rewards/margins': s / ROWS, 'rewards/accuracies': 0.5 + s / (ROWS * 4), elapsed_time: '0:00:01', remaining_time: '1:00:00', percentage: 1 }) + '\n';
const ev = (s) => frame(eventBytes(s, [...TAGS, ...TAGS.map((t) => `eval2/${t}`)].map((t, i) => ({ tag: `train/${t}`, simple: Math.sin(s + i) }))));
const log = join(dir, 'trainer_log.jsonl');
const tbDir = join(dir, 'runs', 'x');
mkdirSync(tbDir, { recursive: true });
const tb = join(tbDir, 'events.out.tfevents.1.host.1.0');
let buf = '';
for (let s = 1; s <= ROWS; s++) buf += row(s);
writeFileSync(log, buf);
const parts = [frame(eventBytes(0, []))];
for (let s = 1; s <= ROWS; s++) parts.push(ev(s));
writeFileSync(tb, Buffer.concat(parts));

let next = ROWS + 1;
const append = () => {
  let a = '';
  const e = [];
  for (let k = 0; k < 5; k++, next++) {
    a += row(next);
    e.push(ev(next));
  }
  appendFileSync(log, a);
  appendFileSync(tb, Buffer.concat(e));
};
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const ROUNDS = 10;

// PrefLens: the worker reads; this thread receives the views
const w = new Worker(join(repo, 'dist', 'liveWorker.js'));
const arrival = () => new Promise((res) => w.once('message', (m) => res(m)));
let got = arrival();
let t = performance.now();
w.postMessage({ type: 'watch', dirs: [dir] });
let m = await got;
console.log(`first view of the run (${ROWS} log rows, ${ROWS} event steps × ${TAGS.length * 2} scalars): ${(performance.now() - t).toFixed(0)} ms, ${m.runs[0].series.loss.length} points drawn of ${ROWS} per curve`);
const lat = [];
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
for (let r = 0; r < ROUNDS; r++) {
  got = arrival();
  t = performance.now();
  append();
  m = await got;
  lat.push(performance.now() - t);
  if (m.runs[0].steps !== next - 1) throw new Error(`the view shows step ${m.runs[0].steps}, not the last appended ${next - 1}`);
}
h.disable();
const blockedWorker = h.max / 1e6;
await w.terminate();

// the peer, on this thread: the whole run read again and its view built at every write
const peer = [];
const h2 = monitorEventLoopDelay({ resolution: 5 });
h2.enable();
for (let r = 0; r < ROUNDS; r++) {
  append();
  t = performance.now();
  structuredClone(runView(parseRun(dir), true));
  peer.push(performance.now() - t);
  await new Promise((res) => setTimeout(res, 20));
}
h2.disable();
console.log(`PrefLens (live worker): write → view on this thread median ${med(lat).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms (poll every 500 ms); this thread blocked at most ${blockedWorker.toFixed(1)} ms`);
console.log(`peer, whole re-read on this thread (parseRun + view): median ${med(peer).toFixed(0)} ms; this thread blocked at most ${(h2.max / 1e6).toFixed(0)} ms`);
console.log(`ratio of the longest block, peer / PrefLens: ${(h2.max / h.max).toFixed(1)}×; write → redraw under 2 s: ${Math.max(...lat) < 2000 ? 'yes' : 'NO'}; host never blocked over 50 ms: ${blockedWorker <= 50 ? 'yes' : 'NO'}`);
rmSync(dir, { recursive: true, force: true });
