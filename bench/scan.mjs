// bench/scan: `preflens stats` against DuckDB's read_json (count and mean lengths of the responses: the named peer,
// @duckdb/node-api), the script a user would write (a Python json.loads loop) and `wc -l` (the I/O floor), on the same
// deterministic file, in the same run (this machine is shared and noisy: compare ratios, not seconds). Shapes: `hh`
// (HH transcripts, gen-hh.mjs), `ultrafeedback` (UltraFeedback-binarized rows) and `trl-conversational` (TRL's
// conversational pairs), both made from the shared HH pairs by gen-hub.mjs. Where the time goes: the scan kernel alone
// on one thread (no checks across records, no merge).
// Usage: node bench/scan.mjs [--shape hh|ultrafeedback|trl-conversational] [--size BYTES|1g|100m] [--repeat N]
// Last line: {"shape", "bytes", "preflens_s", "duckdb_s", "python_s", "wc_s", "ratio_vs_duckdb", "ratio_vs_python", "ratio_vs_wc", "kernel_one_thread_s", "peak_rss_mb"}.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, createReadStream, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './gen-hh.mjs';
import { COLUMNS, hubFile } from './gen-hub.mjs';
import { flag, opt, parseSize } from './args.mjs';

const repo = resolve(import.meta.dirname, '..');
const size = parseSize(opt('size', flag('quick') ? '100m' : '1g'));
const repeat = Number(opt('repeat', '1'));
const dataDir = join(repo, 'bench', '.data');
mkdirSync(dataDir, { recursive: true });
const shape = opt('shape', 'hh');
let file = join(dataDir, `hh-${size}.jsonl`);
if (shape !== 'hh') file = await hubFile(dataDir, shape, size, 'jsonl');
else if (!existsSync(file)) {
  process.stderr.write(`generating ${file} (${(size / 1e6).toFixed(0)} MB)…\n`);
  await generate(file, size);
}
const bytes = statSync(file).size;
const cli = join(repo, 'dist', 'cli.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');

// Warm the page cache so that every contender reads from memory.
await new Promise((res, rej) => createReadStream(file).on('data', () => {}).on('end', res).on('error', rej));

const PY = `import json, sys
n = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        if line.strip():
            json.loads(line)
            n += 1
print(n)`;

/**
 * Runs a command, returns wall seconds (and peak RSS in MB when `poll`: read from /proc every 50 ms, for when
 * /usr/bin/time is missing; polling costs CPU, so it is off otherwise).
 */
function timed(cmd, argv, poll = false) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    let peakKb = 0;
    const timer = poll
      ? setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) peakKb = Math.max(peakKb, Number(m[1]));
          } catch {}
        }, 50)
      : undefined;
    child.on('close', (code) => {
      clearInterval(timer);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err}`));
      else resolvePromise({ s, out, err, peakMb: peakKb / 1024 });
    });
  });
}

async function best(cmd, argv, poll = false) {
  let b = null;
  for (let i = 0; i < repeat; i++) {
    const r = await timed(cmd, argv, poll);
    if (!b || r.s < b.s) b = { ...r, peakMb: Math.max(r.peakMb, b?.peakMb ?? 0) };
  }
  return b;
}

/** DuckDB's read_json: the row count and the mean lengths of the responses (the last message's content). */
async function duckdb() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const sql = (x) => `'${x.replace(/'/g, "''")}'`;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const t0 = performance.now();
    const q =
      shape === 'hh'
        ? `SELECT count(*) AS n, avg(length(chosen)) AS c, avg(length(rejected)) AS r FROM read_json(${sql(file)}, format='newline_delimited', columns={chosen: 'VARCHAR', rejected: 'VARCHAR'})`
        : `SELECT count(*) AS n, avg(length(chosen[-1].content)) AS c, avg(length(rejected[-1].content)) AS r FROM read_json(${sql(file)}, format='newline_delimited', columns=${COLUMNS[shape]})`;
    const r = (await c.runAndReadAll(q)).getRowObjects()[0];
    return { s: (performance.now() - t0) / 1000, rows: Number(r.n) };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** The scan kernel alone on this thread over the whole file (the records it reads; no merge, no keys across records). */
async function kernelOnly() {
  const { createRequire } = await import('node:module');
  const req = createRequire(import.meta.url);
  const { RangeBuilder } = req('../out/src/core/scan/builder.js');
  const { DEFAULT_CHECK_OPTIONS } = req('../out/src/core/checks/record.js');
  const { openSync, closeSync } = await import('node:fs');
  const b = new RangeBuilder(shape === 'hh' ? 'hh' : 'trl-conversational', DEFAULT_CHECK_OPTIONS);
  const fd = openSync(file, 'r');
  const t0 = performance.now();
  let slow = 0;
  b.kernel.scanLines(fd, 0, statSync(file).size, () => slow++, () => undefined);
  b.kernel.drain();
  closeSync(fd);
  return { s: (performance.now() - t0) / 1000, fast: b.count, slow };
}

const wc = await best('wc', ['-l', file]);
const duck = await duckdb();
const duck2 = await duckdb();
const kernel = await kernelOnly();
const py = await best('python3', ['-c', PY, file]);
const pl = existsSync('/usr/bin/time')
  ? await best('/usr/bin/time', ['-f', 'PEAK_RSS_KB=%M', process.execPath, cli, 'stats', file, '--json'])
  : await best(process.execPath, [cli, 'stats', file, '--json'], true);
const m = /PEAK_RSS_KB=(\d+)/.exec(pl.out + (pl.err ?? ''));
const j = JSON.parse(pl.out.split('\n').find((l) => l.startsWith('{')));
const pyRecords = Number(py.out.trim());
if (j.records + j.errorCount !== pyRecords) console.log(`warning: preflens read ${j.records} records, python ${pyRecords}`);
const peak = m ? Number(m[1]) / 1024 : pl.peakMb;
console.log(`file         ${file} (${(bytes / 1e6).toFixed(0)} MB, ${j.records.toLocaleString('en-US')} records)`);
console.log(`wc -l        ${wc.s.toFixed(2)} s`);
console.log(`python loop  ${py.s.toFixed(2)} s   (json.loads per line)`);
console.log(`preflens     ${pl.s.toFixed(2)} s   (stats: parse, normalise, all checks)   peak RSS ${peak.toFixed(0)} MB`);
const ds = Math.min(duck.s, duck2.s);
if (duck.rows !== j.records + j.errorCount) console.log(`warning: preflens read ${j.records} records, DuckDB ${duck.rows} rows`);
console.log(`DuckDB       ${ds.toFixed(2)} s   (read_json: count, mean lengths of the responses)`);
console.log(`ratios       ${(pl.s / ds).toFixed(2)}× DuckDB's time (target ≤ 1.5× for the hub's shapes); ${(py.s / pl.s).toFixed(2)}× faster than the Python loop; ${(pl.s / wc.s).toFixed(1)}× the wc -l time`);
console.log(`where        the scan kernel alone, one thread: ${kernel.s.toFixed(2)} s (${kernel.fast.toLocaleString('en-US')} records read by it, ${kernel.slow} handed to the exact path); the rest is the threads' start, the merge and the keys across records`);
console.log(JSON.stringify({
  shape,
  bytes,
  duckdb_s: +ds.toFixed(3),
  ratio_vs_duckdb: +(pl.s / ds).toFixed(3),
  kernel_one_thread_s: +kernel.s.toFixed(3),
  preflens_s: +pl.s.toFixed(3),
  python_s: +py.s.toFixed(3),
  wc_s: +wc.s.toFixed(3),
  ratio_vs_python: +(py.s / pl.s).toFixed(3),
  ratio_vs_wc: +(pl.s / wc.s).toFixed(3),
  peak_rss_mb: +peak.toFixed(1),
}));
