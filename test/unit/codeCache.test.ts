/**
 * The launchers' V8 code caches (src/core/codeCache.ts; docs/ARCHITECTURE.md, "Start-up"): a cache is taken when it
 * fits, ignored when it does not (the bundle compiled as usual, same results), and the build's caches of the CLI and
 * the scan worker are taken by the Node that built them.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot } from '../helpers.js';

const dist = join(repoRoot, 'dist');

/** loadBundle in a fresh process (V8 keeps what one process compiled: a cache is only asked for in a new one). */
function load(file: string, save = false): { accepted: boolean | null; twice: number; here: unknown } {
  const code = `const b = require(${JSON.stringify(join(repoRoot, 'out', 'src', 'core', 'codeCache.js'))}).loadBundle(${JSON.stringify(file)});
${save ? 'b.saveCache();' : ''}console.log(JSON.stringify({ accepted: b.accepted, twice: b.exports.twice(21), here: b.exports.here }));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { accepted: boolean | null; twice: number; here: unknown };
}

test('loadBundle: no cache (compiled), then the cache it saved (taken), then a damaged or stale cache (ignored): the same exports each time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-cache-'));
  const file = join(dir, 'b.js');
  writeFileSync(file, `const path = require('node:path');\nmodule.exports = { twice: (x) => 2 * x, here: path.basename(__filename) + ' ' + (__dirname === ${JSON.stringify(dir)}) };\n`);
  assert.deepEqual(load(file, true), { accepted: null, twice: 42, here: 'b.js true' });
  assert.deepEqual(load(file), { accepted: true, twice: 42, here: 'b.js true' });
  // damaged: other bytes
  writeFileSync(`${file}.cache`, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff)));
  assert.deepEqual(load(file), { accepted: false, twice: 42, here: 'b.js true' });
  // stale: the bundle changed since its cache was made
  load(file, true);
  writeFileSync(file, `module.exports = { twice: (x) => 2 * x + 0, here: 'changed' };\n`);
  assert.deepEqual(load(file), { accepted: false, twice: 42, here: 'changed' });
});

test('the build\'s caches: the CLI\'s and the scan worker\'s are taken by this Node; the CLI with a damaged cache gives the same output', () => {
  for (const f of ['cli.bundle.js.cache', 'scanWorker.bundle.js.cache']) assert.ok(existsSync(join(dist, f)), `${f} made by the build`);
  const env = { ...process.env, PREFLENS_CODE_CACHE: 'report' };
  const cli = spawnSync(process.execPath, [join(dist, 'cli.js'), 'stats', fixture('ultrafeedback-binarized.jsonl'), '--json'], { env, encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stderr, /code cache of cli\.bundle\.js: taken/);
  // the scan worker, as the CLI and the extension start it (a job on a range of a file)
  const job = `const { startJob } = require(${JSON.stringify(join(repoRoot, 'out', 'src', 'core', 'jobs.js'))});
const { DEFAULT_CHECK_OPTIONS } = require(${JSON.stringify(join(repoRoot, 'out', 'src', 'core', 'checks', 'record.js'))});
const path = ${JSON.stringify(fixture('hh.jsonl'))};
startJob(${JSON.stringify(join(dist, 'scanWorker.js'))}, { path, kind: 'jsonl', bomLength: 0, start: 0, end: require('fs').statSync(path).size, format: 'hh', strict: false, opts: DEFAULT_CHECK_OPTIONS, maxErrors: 10 })
  .then((end) => { console.log(end.type, end.result && end.result.count); });`;
  const worker = spawnSync(process.execPath, ['-e', job], { env, encoding: 'utf8' });
  assert.equal(worker.status, 0, worker.stderr);
  assert.match(worker.stdout, /^done [1-9]/);
  assert.match(worker.stderr, /code cache of scanWorker\.bundle\.js: taken/);
  // a copy of the CLI whose cache is damaged: compiled as usual, the same output
  const dir = mkdtempSync(join(tmpdir(), 'preflens-cache-cli-'));
  for (const f of ['cli.js', 'cli.bundle.js', 'scanWorker.js', 'scanWorker.bundle.js']) copyFileSync(join(dist, f), join(dir, f));
  writeFileSync(join(dir, 'cli.bundle.js.cache'), Buffer.alloc(4096, 7));
  const damaged = spawnSync(process.execPath, [join(dir, 'cli.js'), 'stats', fixture('ultrafeedback-binarized.jsonl'), '--json'], { env, encoding: 'utf8' });
  assert.equal(damaged.status, 0, damaged.stderr);
  assert.match(damaged.stderr, /code cache of cli\.bundle\.js: rejected/);
  const strip = (s: string): unknown => ({ ...(JSON.parse(s) as Record<string, unknown>), seconds: null });
  assert.deepEqual(strip(damaged.stdout), strip(cli.stdout));
});

test('the launchers\' bundles are ASCII (built without comments; a non-ASCII character anywhere makes V8 hold and compile the whole bundle as a two-byte string)', async () => {
  const { readFileSync } = await import('node:fs');
  for (const f of ['cli.bundle.js', 'scanWorker.bundle.js']) {
    const b = readFileSync(join(dist, f));
    const at = b.findIndex((x) => x >= 0x80);
    assert.equal(at, -1, `${f}: a non-ASCII byte at ${at}: …${b.subarray(Math.max(0, at - 60), at + 20).toString('utf8')}…`);
  }
});
