/**
 * Worker jobs (core/jobs.ts): a job started with its data and one given to a prestarted worker end the same way, a
 * prestarted worker that is not needed ends, and one whose script fails while it loads ends its job with that error
 * (never an unhandled error in the caller).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Prestarted, startJob } from '../../src/core/jobs.js';

const dir = mkdtempSync(join(tmpdir(), 'preflens-jobs-'));
const jobs = JSON.stringify(join(__dirname, '..', '..', 'src', 'core', 'jobs.js'));
// a job that posts a message, then doubles its number (or fails for a negative one, as bad input)
const script = join(dir, 'double.js');
writeFileSync(
  script,
  `const { serveJob } = require(${jobs});
const { InputError } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'core', 'errors.js'))});
serveJob(async (d, { post }) => { post('started'); if (d.x < 0) throw new InputError('negative'); return d.x * 2; });
`,
);
// a job that runs until it is cancelled
const forever = join(dir, 'forever.js');
writeFileSync(forever, `const { serveJob } = require(${jobs});\nserveJob((d, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))));\n`);

type End = Awaited<ReturnType<typeof startJob<{ x: number }, string, number>>>;

test('a prestarted worker runs the job given to it as a worker started with its data does: messages, result, bad input', async () => {
  for (const x of [21, -1]) {
    const seen: string[][] = [[], []];
    const direct: End = await startJob<{ x: number }, string, number>(script, { x }, { onMessage: (m) => seen[0].push(m) });
    const w = new Prestarted<{ x: number }, string, number>(script);
    // (its thread loads meanwhile)
    await new Promise((r) => setTimeout(r, 50));
    const later: End = await w.run({ x }, { onMessage: (m) => seen[1].push(m) });
    assert.deepEqual(later, direct);
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[0], ['started']);
    assert.throws(() => w.run({ x }), /runs one job/);
  }
  const ok = await new Prestarted<{ x: number }, string, number>(script).run({ x: 4 });
  assert.deepEqual(ok, { type: 'done', result: 8 });
  const bad = await new Prestarted<{ x: number }, string, number>(script).run({ x: -3 });
  assert.deepEqual(bad, { type: 'error', message: 'negative', input: true });
});

test('a prestarted worker is cancelled like any job, dropped when unused, and one whose script fails ends its job with the error', async () => {
  const ac = new AbortController();
  const w = new Prestarted<{ x: number }, string, number>(forever);
  const end = w.run({ x: 1 }, { signal: ac.signal, cancel: 'message', graceMs: 2000 });
  setTimeout(() => ac.abort(), 50);
  assert.deepEqual(await end, { type: 'cancelled' });
  // dropped before any job: it ends (this test's process would not exit while its thread ran)
  new Prestarted<{ x: number }, string, number>(forever).drop();
  // dropping after a job does nothing to the job
  const given = new Prestarted<{ x: number }, string, number>(script);
  const r = given.run({ x: 5 });
  given.drop();
  assert.deepEqual(await r, { type: 'done', result: 10 });
  // a script that cannot load: it fails while the worker waits for its job, and the job ends with that error
  const broken = join(dir, 'broken.js');
  writeFileSync(broken, 'throw new Error("cannot load");\n');
  const b = new Prestarted<{ x: number }, string, number>(broken);
  await new Promise((res) => setTimeout(res, 200));
  const e = await b.run({ x: 1 });
  assert.equal(e.type, 'error');
  assert.match(e.type === 'error' ? e.message : '', /cannot load/);
});
