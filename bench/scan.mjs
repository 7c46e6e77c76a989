// bench/scan: `preflens stats` against the script a user would write (a Python json.loads loop) and against
// `wc -l` (the I/O floor), on the same deterministic HH-style file, in the same run (this machine is shared and
// noisy: compare ratios, not seconds). Usage: node bench/scan.mjs [--size BYTES|1g|100m] [--repeat N]
// Last line: {"bytes", "preflens_s", "python_s", "wc_s", "ratio_vs_python", "ratio_vs_wc", "peak_rss_mb"}.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, createReadStream, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './gen-hh.mjs';
import { flag, opt, parseSize } from './args.mjs';

const repo = resolve(import.meta.dirname, '..');
const size = parseSize(opt('size', flag('quick') ? '100m' : '1g'));
const repeat = Number(opt('repeat', '1'));
const dataDir = join(repo, 'bench', '.data');
mkdirSync(dataDir, { recursive: true });
const file = join(dataDir, `hh-${size}.jsonl`);
if (!existsSync(file)) {
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

const wc = await best('wc', ['-l', file]);
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
console.log(`ratios       ${(py.s / pl.s).toFixed(2)}× faster than the Python loop; ${(pl.s / wc.s).toFixed(1)}× the wc -l time`);
console.log(JSON.stringify({
  bytes,
  preflens_s: +pl.s.toFixed(3),
  python_s: +py.s.toFixed(3),
  wc_s: +wc.s.toFixed(3),
  ratio_vs_python: +(py.s / pl.s).toFixed(3),
  ratio_vs_wc: +(pl.s / wc.s).toFixed(3),
  peak_rss_mb: +peak.toFixed(1),
}));
