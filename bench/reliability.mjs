// Reliability report: one summary of the fuzzing, hostile-data, scale and failure-scenario figures.
// Usage: npm run build && node bench/reliability.mjs [--fuzz-cases 2000]
// (the 2 GB real-VS-Code figures come from `node bench/scale.mjs`, whose last result is read here).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const cases = args.includes('--fuzz-cases') ? args[args.indexOf('--fuzz-cases') + 1] : '2000';
const run = (argv, env = {}) => spawnSync(process.execPath, argv, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } });
const count = (out) => ({ pass: Number(/# pass (\d+)/.exec(out)?.[1] ?? 0), fail: Number(/# fail (\d+)/.exec(out)?.[1] ?? 0) });

const fuzz = run(['--test', 'out/test/unit/fuzz.test.js'], { PREFLENS_FUZZ_CASES: cases });
const fz = /fuzz: (\d+) cases, (\d+) failures, (\d+) records read, (\d+) bad lines reported/.exec(fuzz.stdout);
const fuzzCount = count(fuzz.stdout);
const hostile = run(['--test', 'test/webview/']);
const hostileCount = count(hostile.stdout);
const failures = run(['--test', '--test-name-pattern=failure scenarios|corrupted cache entry|worker thread', 'out/test/unit/engine.test.js']);
const failureCount = count(failures.stdout);
const cancelMs = /cancel: stopped (\d+) ms/.exec(failures.stdout)?.[1];
const scalePath = join(repo, 'bench', '.data', 'scale-result.json');
const scale = existsSync(scalePath) ? JSON.parse(readFileSync(scalePath, 'utf8')) : null;

console.log('PrefLens reliability report');
console.log(`fuzzing          ${fz ? `${fz[1]} cases, ${fz[2]} failures; ${fz[3]} records read, ${fz[4]} bad lines reported` : 'no result'} (+ JSON-array and 50 MB-line cases: ${fuzzCount.pass} tests passed, ${fuzzCount.fail} failed)`);
console.log(`hostile data     ${hostileCount.pass} webview tests passed, ${hostileCount.fail} failed: <script>, event handlers, javascript: links, CSS escapes, bidi overrides and 10,000-character words shown as text, nothing executed (the real-VS-Code test repeats it in the inspector, heatmap and dashboard)`);
console.log(`failure cases    ${failureCount.pass} passed, ${failureCount.fail} failed: corrupt ONNX, crashing worker, cancel (stopped ${cancelMs ?? '?'} ms after the request), torn and corrupted cache entries, changed records detected by hash`);
console.log(scale ? `big file         ${(scale.bytes / 1e9).toFixed(2)} GB (bench/scale's last run), ${scale.records.toLocaleString('en-US')} records: first records in ${scale.first_records_s} s, full index in ${scale.full_index_s} s, last record ${scale.last_record_ok ? 'shown' : 'NOT shown'}, extension host peak ${scale.exthost_peak_mb} MB` : 'big file         not measured yet: run node bench/scale.mjs');
console.log(JSON.stringify({
  fuzz_cases: fz ? Number(fz[1]) : 0,
  fuzz_failures: fz ? Number(fz[2]) : null,
  hostile_tests_passed: hostileCount.pass,
  hostile_tests_failed: hostileCount.fail,
  failure_scenarios_passed: failureCount.pass,
  failure_scenarios_failed: failureCount.fail,
  cancel_ms: cancelMs ? Number(cancelMs) : null,
  scale,
}));
