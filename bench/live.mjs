// bench/live: a live run's update, as the run panel does it every 500 ms (src/core/runs/runs.ts RunReader: only the
// bytes appended since the last read; then the view posted to the panel, curves thinned), against the named peer re-reading the whole run (parseRun, what a reload
// does), in the same run. The run is big: a 20,000-row LLaMA-Factory trainer_log.jsonl and a TensorBoard event file
// with 20,000 steps × 24 scalars. Each round appends 5 rows and 5 event steps, then times both on the host thread:
// the update's time is how long the extension host is blocked (target: under 50 ms), and write → data ready is
// bounded by the poll interval plus that.
// Usage: npm run build && node bench/live.mjs [ROWS]
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { RunReader, parseRun } = require('../out/src/core/runs/runs.js');
const { eventBytes, frame } = require('../out/test/tfevents.js');
const { runView } = require('../out/src/core/runs/view.js');

const ROWS = Number(process.argv[2] ?? 20000);
const TAGS = ['loss', 'grad_norm', 'learning_rate', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected', 'epoch'];
const dir = mkdtempSync(join(tmpdir(), 'preflens-bench-live-'));
const row = (s) => JSON.stringify({ current_steps: s, total_steps: ROWS * 2, loss: 0.7 - s / (ROWS * 4), lr: 5e-7, epoch: s / 1000, 'rewards/margins': s / ROWS, 'rewards/accuracies': 0.5 + s / (ROWS * 4), elapsed_time: '0:00:01', remaining_time: '1:00:00', percentage: 1 }) + '\n';
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
const reader = new RunReader(dir, true);
let t = performance.now();
reader.update();
console.log(`first read of the run (${ROWS} log rows, ${ROWS} event steps × ${TAGS.length * 2} scalars): ${(performance.now() - t).toFixed(0)} ms`);
const inc = [];
const views = [];
const full = [];
let next = ROWS + 1;
for (let round = 0; round < 10; round++) {
  let a = '';
  const e = [];
  for (let k = 0; k < 5; k++, next++) {
    a += row(next);
    e.push(ev(next));
  }
  appendFileSync(log, a);
  appendFileSync(tb, Buffer.concat(e));
  t = performance.now();
  const changed = reader.update();
  inc.push(performance.now() - t);
  // the host's next task (src/host/runs.ts yields between them): the view posted to the panel, curves thinned
  t = performance.now();
  structuredClone(runView(reader.run(), true));
  views.push(performance.now() - t);
  if (!changed) throw new Error('the update saw no change');
  t = performance.now();
  const whole = parseRun(dir);
  full.push(performance.now() - t);
  const a1 = reader.run().series.loss;
  const a2 = whole.series.loss;
  if (a1.length !== a2.length || a1.at(-1)[0] !== a2.at(-1)[0]) throw new Error('incremental and whole reads differ');
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`incremental update (RunReader.update): median ${med(inc).toFixed(1)} ms, max ${Math.max(...inc).toFixed(1)} ms`);
console.log(`panel view (runView, curves thinned, and its structured clone), the next host task: median ${med(views).toFixed(1)} ms, max ${Math.max(...views).toFixed(1)} ms`);
console.log(`peer, whole re-read (parseRun): median ${med(full).toFixed(1)} ms, max ${Math.max(...full).toFixed(1)} ms`);
console.log(`ratio whole / incremental (median): ${(med(full) / med(inc)).toFixed(1)}×; longest host task (median of rounds) ${Math.max(med(inc), med(views)).toFixed(1)} ms, ≤ 50 ms: ${Math.max(med(inc), med(views)) <= 50 ? 'yes' : 'NO'}`);
rmSync(dir, { recursive: true, force: true });
