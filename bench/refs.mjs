// bench/refs: `preflens refs` (the reference alone) against `preflens score` with policy and reference, on the same
// records of the Qwen2.5-0.5B-shaped checkpoint of bench/score, alternated in one run (best of --rounds each; this
// machine is shared): the target is refs ≥ 1.9× score's tokens per second, since one forward pass is half
// the work. Then the peak RSS of writing a 1M-row Parquet output (JSON Lines in, rows of about 1 KB: an 840-character
// column beside short pairs, so that the writer, not the model, is measured) against DuckDB writing the same rows to
// Parquet (COPY … TO, the named peer), each in its own process; target < 400 MB. Last, the same rows the other way
// round: DuckDB's Parquet (row groups of 122,880 rows, the long column one page of about 100 MB per row group) read by
// `preflens refs` and written again, against DuckDB copying that file to Parquet.
// Usage: npm run build && node bench/refs.mjs [--records 8] [--threads 2] [--rounds 2] [--rows 1000000] [--skip-qwen]
// Last line: {"refs_tok_s", "score_tok_s", "speedup", "rows", "refs_peak_mb", "duckdb_peak_mb", "refs_write_s", "duckdb_write_s",
// "pq_refs_peak_mb", "pq_duckdb_peak_mb"}
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { opt, flag } from './args.mjs';
import { qwenShape } from './shapes.mjs';

const require = createRequire(import.meta.url);
const repo = resolve(import.meta.dirname, '..');
const out = (p) => require(join(repo, 'out', p));
const cli = join(repo, 'dist', 'cli.js');
const peak = join(repo, 'bench', 'peak-rss.cjs');
const work = join(repo, 'bench', '.data');
mkdirSync(work, { recursive: true });
const threads = opt('threads', '2');
const N = Number(opt('records', '8'));
const rounds = Number(opt('rounds', '2'));
const ROWS = Number(opt('rows', '1000000'));
const shared = resolve(repo, '..', 'shared');
const dev = join(shared, 'data', 'hh-harmless', 'dev.jsonl');

/** Runs the CLI in a child with the peak-RSS probe; returns its stderr and peak RSS (MB). */
function runCli(args) {
  const r = spawnSync(process.execPath, ['--require', peak, cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`preflens ${args[0]} failed: ${r.stderr}`);
  return { err: r.stderr, peakMb: Number(/peak_rss_mb ([\d.]+)/.exec(r.stderr)[1]) };
}

let speed = null;
if (!flag('skip-qwen')) {
  if (!existsSync(dev)) console.log(`refs vs score: skipped: ${dev} is absent`);
  else {
    const qdir = qwenShape(work, out);
    const data = join(work, `refs-bench-${N}.jsonl`);
    writeFileSync(data, readFileSync(dev, 'utf8').split('\n').slice(0, N).join('\n') + '\n');
    const lengths = ['--max-prompt-length', '192', '--max-completion-length', '128', '--convention', 'trl-legacy', '--device', 'cpu', '--threads', threads];
    let best = { refs: Infinity, score: Infinity };
    let tokens = 0;
    for (let i = 0; i < rounds; i++) {
      const o = join(work, 'refs-bench.out.jsonl');
      rmSync(o, { force: true });
      rmSync(`${o}.preflens.json`, { force: true });
      const r = runCli(['refs', data, '--ref', qdir, '--out', o, ...lengths]);
      const m = /(\d+) tokens, ([\d.]+) s, (\d+) tokens\/s/.exec(r.err);
      tokens = Number(m[1]);
      best.refs = Math.min(best.refs, Number(m[2]));
      const s = runCli(['score', data, '--policy', qdir, '--ref', qdir, '--no-cache', '--out', join(work, 'score-bench.out.jsonl'), ...lengths]);
      const sm = /(\d+) tokens computed.*?, ([\d.]+) s, (\d+) tokens\/s/.exec(s.err);
      if (Number(sm[1]) !== tokens) throw new Error(`score computed ${sm[1]} policy tokens, refs ${tokens} reference tokens: not the same sequences`);
      best.score = Math.min(best.score, Number(sm[2]));
      console.log(`round ${i + 1}: refs ${m[2]} s, score (policy + reference) ${sm[2]} s for ${tokens} tokens of each model`);
    }
    speed = { tokens, refs: tokens / best.refs, score: tokens / best.score };
    console.log(`refs vs score  ${N} HH records, ${tokens} tokens (byte tokenizer, prompt ≤ 192, response ≤ 128), Qwen2.5-0.5B shape, ${threads} threads`);
    console.log(`  refs         ${speed.refs.toFixed(1)} tokens/s (one forward pass: the reference)`);
    console.log(`  score        ${speed.score.toFixed(1)} tokens/s (policy and reference)`);
    console.log(`  speedup      ${(speed.refs / speed.score).toFixed(2)}× (target ≥ 1.9×)`);
  }
}

// 1M rows: JSON Lines in, Parquet out
const big = join(work, `refs-rows-${ROWS}.jsonl`);
if (!existsSync(big)) {
  const ws = createWriteStream(big);
  const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(20).slice(0, 840);
  let buf = [];
  for (let i = 0; i < ROWS; i++) {
    buf.push(JSON.stringify({ id: i, prompt: `Q${i % 1000}`, chosen: ' y', rejected: ' n', source: 'bench', context: `${i} ${filler}` }));
    if (buf.length === 10_000) {
      if (!ws.write(buf.join('\n') + '\n')) await new Promise((r) => ws.once('drain', r));
      buf = [];
    }
  }
  ws.end(buf.length ? buf.join('\n') + '\n' : '');
  await new Promise((r) => ws.on('finish', r));
}
const tiny = join(repo, 'test', 'fixtures', 'tiny-gpt2');
const pq = join(work, 'refs-rows.out.parquet');
rmSync(pq, { force: true });
rmSync(`${pq}.preflens.json`, { force: true });
let t = performance.now();
const w = runCli(['refs', big, '--ref', tiny, '--out', pq]);
const refsWriteS = (performance.now() - t) / 1000;
const refsRows = Number(/wrote (\d+) rows/.exec(w.err)[1]);
if (refsRows !== ROWS) throw new Error(`refs wrote ${refsRows} rows of ${ROWS}`);
const duckOut = join(work, 'refs-rows.duckdb.parquet');
/** DuckDB copying `from` (a SELECT's FROM) to the Parquet file `to`, in a child with the peak-RSS probe. */
function duckCopy(from, to) {
  rmSync(to, { force: true });
  const code = `const { DuckDBInstance } = require('@duckdb/node-api');
(async () => { const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
await c.run("SET threads = ${threads}");
await c.run(\`COPY (SELECT * FROM ${from}) TO '${to}' (FORMAT parquet)\`); })();`;
  const t0 = performance.now();
  const d = spawnSync(process.execPath, ['--require', peak, '-e', code], { encoding: 'utf8', cwd: repo });
  if (d.status !== 0) throw new Error(d.stderr);
  return { s: (performance.now() - t0) / 1000, peakMb: Number(/peak_rss_mb ([\d.]+)/.exec(d.stderr)[1]) };
}
const { s: duckWriteS, peakMb: duckPeak } = duckCopy(`read_json('${big}', format = 'newline_delimited')`, duckOut);
const mb = (p) => (statSync(p).size / 2 ** 20).toFixed(0);
console.log(`1M-row Parquet ${ROWS} rows of ${mb(big)} MB JSON Lines (tiny model: the writer is measured)`);
console.log(`  refs         peak RSS ${w.peakMb.toFixed(0)} MB (target < 400 MB), ${refsWriteS.toFixed(1)} s, ${mb(pq)} MB written (hyparquet-writer, row groups of 10,000 rows)`);
console.log(`  DuckDB       peak RSS ${duckPeak.toFixed(0)} MB, ${duckWriteS.toFixed(1)} s, ${mb(duckOut)} MB written (COPY … TO parquet, ${threads} threads, no model)`);
console.log(`  ratio        ${(w.peakMb / duckPeak).toFixed(2)}× DuckDB's peak RSS`);

// the other way round: DuckDB's Parquet in, Parquet out
const pq2 = join(work, 'refs-rows.pq2pq.parquet');
rmSync(pq2, { force: true });
rmSync(`${pq2}.preflens.json`, { force: true });
t = performance.now();
const w2 = runCli(['refs', duckOut, '--ref', tiny, '--out', pq2]);
const refs2S = (performance.now() - t) / 1000;
const duck2 = duckCopy(`read_parquet('${duckOut}')`, join(work, 'refs-rows.duckdb2.parquet'));
console.log(`1M-row Parquet in: DuckDB's file (row groups of 122,880 rows, pages of about 100 MB)`);
console.log(`  refs         peak RSS ${w2.peakMb.toFixed(0)} MB, ${refs2S.toFixed(1)} s (read 10,000 rows at a time)`);
console.log(`  DuckDB       peak RSS ${duck2.peakMb.toFixed(0)} MB, ${duck2.s.toFixed(1)} s (COPY … TO parquet)`);
console.log(`  ratio        ${(w2.peakMb / duck2.peakMb).toFixed(2)}× DuckDB's peak RSS`);
console.log(JSON.stringify({
  refs_tok_s: speed ? +speed.refs.toFixed(2) : null,
  score_tok_s: speed ? +speed.score.toFixed(2) : null,
  speedup: speed ? +(speed.refs / speed.score).toFixed(3) : null,
  rows: ROWS,
  refs_peak_mb: Math.round(w.peakMb),
  duckdb_peak_mb: Math.round(duckPeak),
  refs_write_s: +refsWriteS.toFixed(1),
  duckdb_write_s: +duckWriteS.toFixed(1),
  pq_refs_peak_mb: Math.round(w2.peakMb),
  pq_duckdb_peak_mb: Math.round(duck2.peakMb),
}));
