/** Run comparison curves (src/core/runs/curves.ts) and live runs read incrementally (runs.ts RunReader), issue #13 items 2–3. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { emaSmooth, epochOf, thin, valueAt, type Point } from '../../src/core/runs/curves.js';
import { runView } from '../../src/core/runs/view.js';
import { parseRun, RunReader, runDirOf } from '../../src/core/runs/runs.js';
import { eventBytes, frame } from '../tfevents.js';

test('EMA smoothing is TensorBoard\'s: the debiased average Σ w^(n−i)(1−w)·y_i / (1 − w^n); gaps kept; a constant curve untouched', () => {
  const ys = [3, 1, 4, 1, 5, 9, 2, 6];
  for (const w of [0, 0.3, 0.6, 0.95]) {
    const got = emaSmooth(ys.map((y, i) => [i * 10, y]), w);
    ys.forEach((_, n) => {
      // the closed form, written independently of the recurrence under test
      let num = 0;
      for (let i = 0; i <= n; i++) num += Math.pow(w, n - i) * (1 - w) * ys[i];
      const want = w === 0 ? ys[n] : num / (1 - Math.pow(w, n + 1));
      assert.ok(Math.abs((got[n][1] as number) - want) < 1e-12, `w=${w} n=${n}: ${got[n][1]} vs ${want}`);
      assert.equal(got[n][0], n * 10);
    });
  }
  // a logged NaN is a gap: kept as a gap, skipped by the average
  const gap = emaSmooth([[1, 2], [2, null], [3, 4]], 0.5);
  assert.equal(gap[1][1], null);
  assert.ok(Math.abs((gap[2][1] as number) - (0.5 * 0.5 * 2 + 0.5 * 4) / 0.75) < 1e-12);
  assert.deepEqual(emaSmooth([[1, 7], [2, 7], [3, 7]], 0.9), [[1, 7], [2, 7], [3, 7]]);
});

test('crosshair reading and the step → epoch map', () => {
  const pts: Point[] = [[10, 1], [20, 2], [40, 4]];
  assert.equal(valueAt(pts, 5), null);
  assert.deepEqual(valueAt(pts, 10), [10, 1]);
  assert.deepEqual(valueAt(pts, 39), [20, 2]);
  assert.deepEqual(valueAt(pts, 1000), [40, 4]);
  const epochs: Array<[number, number]> = [[10, 0.1], [20, 0.2], [100, 1]];
  assert.equal(epochOf(epochs, 20), 0.2);
  assert.ok(Math.abs((epochOf(epochs, 60) as number) - 0.6) < 1e-12);
  assert.ok(Math.abs((epochOf(epochs, 0) as number) - 0) < 1e-12, 'extrapolated before the first logged step');
  assert.equal(epochOf([], 5), null);
  assert.ok(Math.abs((epochOf([[50, 0.5]], 100) as number) - 1) < 1e-12);
});

const tmp = (p: string): string => mkdtempSync(join(tmpdir(), p));
const logRow = (step: number, loss: number): string => JSON.stringify({ current_steps: step, total_steps: 100, loss, lr: 1e-6, epoch: step / 50 }) + '\n';

test('live trainer_log.jsonl: appended lines are read from where the last read ended; a line being written waits', () => {
  const dir = tmp('preflens-live-');
  const log = join(dir, 'trainer_log.jsonl');
  writeFileSync(log, logRow(5, 0.69) + logRow(10, 0.68));
  const r = new RunReader(dir, true);
  assert.equal(r.update(), true);
  assert.deepEqual(r.run().series.loss, [[5, 0.69], [10, 0.68]]);
  assert.deepEqual(r.run().epochs, [[5, 0.1], [10, 0.2]]);
  assert.equal(r.update(), false, 'nothing written: nothing changed');
  // half a line: not read yet
  const next = logRow(15, 0.6);
  appendFileSync(log, next.slice(0, 20));
  assert.equal(r.update(), false);
  appendFileSync(log, next.slice(20));
  assert.equal(r.update(), true);
  assert.deepEqual(r.run().series.loss.map((p) => p[0]), [5, 10, 15]);
  // Only the new bytes are read: an early line damaged in place (the size unchanged) is not seen again, while a
  // one-time read of the whole file fails on it.
  const fd = openSync(log, 'r+');
  writeSync(fd, 'X', 0);
  closeSync(fd);
  appendFileSync(log, logRow(20, 0.55));
  assert.equal(r.update(), true);
  assert.deepEqual(r.run().series.loss.map((p) => p[0]), [5, 10, 15, 20]);
  assert.throws(() => parseRun(dir), /trainer_log\.jsonl: line 1 is not valid JSON/);
  // a rewritten (shorter) log is read again from its start
  writeFileSync(log, logRow(1, 0.7));
  assert.equal(r.update(), true);
  assert.deepEqual(r.run().series.loss, [[1, 0.7]]);
});

test('live event files, trainer_state.json rewrites and new checkpoints', () => {
  const dir = tmp('preflens-live-tb-');
  const logdir = join(dir, 'runs', 'Nov29_host');
  mkdirSync(logdir, { recursive: true });
  const file = join(logdir, 'events.out.tfevents.1.host.1.0');
  const rec = (s: number): Uint8Array => frame(eventBytes(s, [{ tag: 'train/loss', simple: 1 / s }, { tag: 'train/epoch', simple: s / 100 }]));
  writeFileSync(file, Buffer.concat([frame(eventBytes(0, [])), rec(10), rec(20)]));
  const r = new RunReader(dir, true);
  r.update();
  assert.equal(r.run().format, 'tensorboard');
  assert.deepEqual(r.run().series.loss.map((p) => p[0]), [10, 20]);
  assert.equal(r.run().series.epoch, undefined, 'train/epoch is the step → epoch map, not a curve');
  assert.deepEqual(r.run().epochs.map((e) => e[0]), [10, 20]);
  assert.equal(runDirOf(file), dir);
  // a record cut off mid-write is not a problem for a live run: it is read whole at the next update
  const third = Buffer.from(rec(30));
  appendFileSync(file, third.subarray(0, 9));
  assert.equal(r.update(), false);
  assert.deepEqual(r.run().problems, []);
  // damage the first data record in place, then finish the third: only the new bytes are read, so no CRC problem
  const bytes = readFileSync(file);
  bytes[frame(eventBytes(0, [])).length + 14] ^= 0xff;
  writeFileSync(file, bytes);
  appendFileSync(file, third.subarray(9));
  assert.equal(r.update(), true);
  assert.deepEqual(r.run().series.loss.map((p) => p[0]), [10, 20, 30]);
  assert.deepEqual(r.run().problems, []);
  assert.equal(parseRun(dir).problems.length, 1, 'a one-time read sees the damaged record');
  // trainer_state.json written at a save (the Trainer rewrites it whole): its rows win over the events' at the same step
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 30, log_history: [{ step: 10, loss: 0.5, epoch: 0.1 }] }));
  assert.equal(r.update(), true);
  assert.equal(r.run().format, 'trainer_state');
  assert.deepEqual(r.run().series.loss, [[10, 0.5], [20, Math.fround(1 / 20)], [30, Math.fround(1 / 30)]]);
  mkdirSync(join(dir, 'checkpoint-30'));
  assert.equal(r.update(), true, 'a new checkpoint folder is a change');
  assert.deepEqual(r.run().checkpoints.map((c) => c.step), [30]);
  writeFileSync(join(dir, 'checkpoint-30', 'model.safetensors'), '');
  assert.equal(r.update(), true, 'a checkpoint\'s weights appearing is a change');
  assert.equal(r.run().checkpoints[0].hasSafetensors, true);
  assert.equal(r.update(), false);
  assert.ok(Date.now() - r.lastWrite < 60_000, 'written just now: live');
});

test('long curves are thinned for drawing: every bucket keeps its extremes, so a one-step spike survives; gaps kept', () => {
  const pts: Point[] = Array.from({ length: 100_000 }, (_, i) => [i, Math.sin(i / 1000)]);
  pts[54_321] = [54_321, 50];
  pts[77_777] = [77_777, null];
  const t = thin(pts, 2000);
  assert.ok(t.length <= 2002 && t.length >= 1000, String(t.length));
  assert.ok(t.some((p) => p[0] === 54_321 && p[1] === 50), 'the spike is kept');
  assert.ok(t.some((p) => p[0] === 77_777 && p[1] === null), 'the gap is kept');
  for (let i = 1; i < t.length; i++) assert.ok(t[i][0] > t[i - 1][0], 'in step order');
  // every bucket's min and max over the original points are present
  const lo = Math.min(...pts.slice(0, 100).map((p) => p[1] ?? Infinity));
  assert.ok(t.slice(0, 4).some((p) => p[1] === lo));
  const short: Point[] = [[1, 1], [2, 2]];
  assert.deepEqual(thin(short), short);
  // the panel's view of a run: NaN as a gap, thinned
  const dir = tmp('preflens-view-');
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 3, log_history: [{ step: 1, loss: 1 }, { step: 2, loss: 'x' }, { step: 3, loss: 0.5 }] }).replace('"x"', 'NaN'));
  const v = runView(parseRun(dir), false);
  assert.deepEqual(v.series.loss, [[1, 1], [2, null], [3, 0.5]]);
  assert.equal(v.name, dir.split('/').pop());
});

test('the live-run worker posts the shown runs, then again within a second of an append; an unreadable run is reported', async () => {
  const { Worker } = await import('node:worker_threads');
  const { repoRoot } = await import('../helpers.js');
  const dir = tmp('preflens-liveworker-');
  const log = join(dir, 'trainer_log.jsonl');
  writeFileSync(log, logRow(5, 0.69) + logRow(10, 0.68));
  const w = new Worker(join(repoRoot, 'out', 'src', 'workers', 'liveWorker.js'));
  type Reply = { type: 'runs'; runs: Array<{ dir: string; live: boolean; series: Record<string, Array<[number, number | null]>> }>; errors: Array<{ dir: string; message: string }> };
  const next = (): Promise<Reply> => new Promise((res) => w.once('message', (m: Reply) => res(m)));
  try {
    let got = next();
    w.postMessage({ type: 'watch', dirs: [dir, join(dir, 'nope')] });
    const first = await got;
    assert.deepEqual(first.runs.map((r) => [r.dir, r.live, r.series.loss.map((p) => p[0])]), [[dir, true, [5, 10]]]);
    assert.match(first.errors[0].message, /nope: no such folder/);
    got = next();
    const t = Date.now();
    appendFileSync(log, logRow(15, 0.6));
    const second = await got;
    assert.deepEqual(second.runs[0].series.loss.map((p) => p[0]), [5, 10, 15]);
    assert.ok(Date.now() - t < 2000, `${Date.now() - t} ms from the write to the new view`);
  } finally {
    await w.terminate();
  }
});
