// bench/parquet: `preflens stats` on a Parquet preference file (every check: the texts decoded by the Parquet kernel and
// scanned where they lie by the scan kernel, one range of row groups per core) against DuckDB's read_parquet computing
// the row count and the mean lengths of chosen and rejected (the named peer: @duckdb/node-api, a dev dependency used
// only here and in test fixtures), in the same run. The file is the HH-style data of bench/gen-hh.mjs written by
// DuckDB with Snappy pages (what pyarrow and the hub's converter write by default) in row groups of 32,768 rows,
// generated once into bench/.data and grown until it reaches the target size; with --shape ultrafeedback or
// trl-conversational, the hub's shapes of bench/gen-hub.mjs (list<struct<content, role>> columns, extra columns,
// scores; DuckDB's Parquet of the 1 GB JSON Lines file, row groups of about 10,000 rows). Where the time goes: the
// kernel decoding what the scan reads (one thread), beside the scan itself. DuckDB runs in this process, the CLI as a
// process of its own: Node's own start and exit (`node -e 0`) is measured in the same run and the ratio without it said
// beside the ratio.
// Usage: npm run build && node bench/parquet.mjs [--shape hh|ultrafeedback|trl-conversational] [--size 1g|200m] ;
// last line: JSON with the ratio and peak RSS.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, renameSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { generate } from './gen-hh.mjs';
import { hubFile } from './gen-hub.mjs';
import { opt, parseSize } from './args.mjs';

const repo = resolve(import.meta.dirname, '..');
const target = parseSize(opt('size', '1g'));
const dataDir = join(repo, 'bench', '.data');
mkdirSync(dataDir, { recursive: true });
const shape = opt('shape', 'hh');
const file = shape === 'hh' ? join(dataDir, `hh-${target}.parquet`) : await hubFile(dataDir, shape, target, 'parquet');
const sql = (s) => `'${s.replace(/'/g, "''")}'`;

async function duck(query) {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(query);
    return r.getRowObjects();
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

if (!existsSync(file)) {
  // Snappy on this text compresses about 2.2×: the JSON Lines source is made that much larger than the target.
  let jsonl = join(dataDir, `hh-for-parquet-${target}.jsonl`);
  let factor = 2.3;
  for (;;) {
    process.stderr.write(`generating ${jsonl} (${((target * factor) / 1e6).toFixed(0)} MB of JSON Lines)…\n`);
    await generate(jsonl, Math.round(target * factor));
    const tmp = `${file}.tmp`;
    await duck(`COPY (SELECT chosen, rejected FROM read_json(${sql(jsonl)}, format='newline_delimited', columns={chosen: 'VARCHAR', rejected: 'VARCHAR'})) TO ${sql(tmp)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 32768)`);
    const got = statSync(tmp).size;
    unlinkSync(jsonl);
    if (got >= target * 0.97) {
      renameSync(tmp, file);
      break;
    }
    factor *= (target / got) * 1.02;
    unlinkSync(tmp);
    jsonl = join(dataDir, `hh-for-parquet-${target}-b.jsonl`);
  }
}
const bytes = statSync(file).size;

/** Runs the CLI under /usr/bin/time: wall seconds and peak RSS (all its threads). */
function preflens() {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', '%M', process.execPath, join(repo, 'dist', 'cli.js'), 'stats', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (err += b));
    p.on('close', (code) => {
      if (code !== 0) return rej(new Error(`preflens stats failed: ${err}`));
      const s = (performance.now() - t0) / 1000;
      const rssKb = Number(err.trim().split('\n').pop());
      res({ s, rss: rssKb / 1024, summary: JSON.parse(out) });
    });
  });
}

/** Node starting and exiting with nothing to run (its own start-up, which the CLI pays and in-process DuckDB does not). */
function bareNode() {
  return new Promise((res) => {
    const t0 = performance.now();
    spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('close', () => res((performance.now() - t0) / 1000));
  });
}

async function duckdb() {
  const t0 = performance.now();
  const last = shape === 'hh' ? '' : '[-1].content';
  const [r] = await duck(`SELECT count(*) AS n, avg(length(chosen${last})) AS chosen, avg(length(rejected${last})) AS rejected FROM read_parquet(${sql(file)})`);
  return { s: (performance.now() - t0) / 1000, rows: Number(r.n), chosen: r.chosen, rejected: r.rejected };
}

const { createRequire } = await import('node:module');
const req = createRequire(import.meta.url);
const { openParquet, readRowGroupRaw } = req('../out/src/core/parquet/parquet.js');
const { RowGroupLines } = req('../out/src/core/parquet/rowLines.js');

/** hyparquet decoding every row group to rows (texts left as UTF-8 bytes), nothing else, on this thread. */
async function decodeOnly() {
  const t0 = performance.now();
  const pf = await openParquet(file);
  for (let g = 0; g < pf.rowGroups.length; g++) await readRowGroupRaw(pf, g);
  return (performance.now() - t0) / 1000;
}

/** The Parquet kernel making every row a JSON line (more than decoding), nothing else, on this thread. */
async function kernelOnly() {
  const t0 = performance.now();
  const pf = await openParquet(file);
  const lines = new RowGroupLines(pf);
  for (let g = 0; g < pf.rowGroups.length; g++) {
    // the hub's shapes: what a scan decodes (chosen, rejected, the scores); HH: the rows as JSON Lines
    await lines.load(g, undefined, shape !== 'hh');
    if (shape === 'hh') while (lines.next());
  }
  lines.close();
  return (performance.now() - t0) / 1000;
}

const p = await preflens();
const d = await duckdb();
// the second of each, alternating, is the one reported (the first warms the page cache for both)
const p2 = await preflens();
const d2 = await duckdb();
// (hyparquet decoding the hub's nested columns takes tens of seconds: timed for HH only)
const dec = shape === 'hh' ? await decodeOnly() : null;
const ker = await kernelOnly();
const ps = Math.min(p.s, p2.s);
const ds = Math.min(d.s, d2.s);
const node0 = Math.min(await bareNode(), await bareNode(), await bareNode());
if (p.summary.records !== d.rows) throw new Error(`row counts differ: preflens ${p.summary.records}, DuckDB ${d.rows}`);
const meanP = p.summary.lengths.chosen.chars.mean;
console.log(`file ${file}: ${(bytes / 1e6).toFixed(0)} MB, ${d.rows.toLocaleString('en-US')} rows`);
console.log(`preflens stats (every check): ${ps.toFixed(2)} s, peak RSS ${Math.max(p.rss, p2.rss).toFixed(0)} MB`);
console.log(`DuckDB read_parquet (count, mean lengths): ${ds.toFixed(2)} s`);
if (shape === 'hh') {
  console.log(`(lengths differ by definition: HH's chosen column is the whole transcript for DuckDB, the response after the last "Assistant:" for PrefLens, mean ${meanP} chars)`);
  console.log(`one thread, no checks: the Parquet kernel's rows as JSON Lines ${ker.toFixed(2)} s, hyparquet decoding alone (texts as bytes) ${dec.toFixed(2)} s: kernel / hyparquet ${(ker / dec).toFixed(2)}×`);
} else console.log(`where: one thread, the kernel decoding what the scan reads (chosen, rejected, scores: Snappy, levels, values) ${ker.toFixed(2)} s; the scan, its checks and the merge the rest`);
console.log(`ratio preflens / DuckDB: ${(ps / ds).toFixed(2)}× (target ≤ 1.5×); peak RSS under 400 MB: ${Math.max(p.rss, p2.rss) < 400 ? 'yes' : 'NO'}`);
// (DuckDB runs in this process; the CLI is a process of its own: Node's start, measured here, is part of its time)
console.log(`Node's own start and exit (node -e 0): ${node0.toFixed(3)} s; preflens without it / DuckDB: ${((ps - node0) / ds).toFixed(2)}×`);
console.log(JSON.stringify({ shape, bytes, rows: d.rows, preflens_s: ps, duckdb_s: ds, node_start_s: node0, kernel_lines_s: ker, hyparquet_decode_s: dec, ratio: ps / ds, ratio_without_node_start: (ps - node0) / ds, peak_rss_mb: Math.max(p.rss, p2.rss) }));
