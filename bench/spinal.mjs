// bench/spinal: SPINAL's contraction at 7B-class shape — 33 layer boundaries of N = 4,096 tokens × D = 4,096
// random states — by PrefLens (float64 Gram matrix by onnxruntime, two-stage symmetric eigensolver: linalg.ts)
// against numpy's LAPACK (numpy.linalg.svd(compute_uv=False), Debian's python3-numpy) in the same run, on the same
// matrices (a counter hash both sides compute bit-identically). Prints the time ratio and the largest relative
// differences of α (the contraction SPINAL reports) and of the singular values the fit uses.
// Usage: npm run build && node bench/spinal.mjs [--n 4096] [--d 4096] [--boundaries 33] [--threads 2]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const repo = resolve(import.meta.dirname, '..');
const { centredSingularValues } = require(join(repo, 'out', 'src/core/spinal/linalg.js'));
const { contractionFromSingularValues } = require(join(repo, 'out', 'src/core/spinal/spinal.js'));
const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(`--${k}`) ? Number(args[args.indexOf(`--${k}`) + 1]) : d);
const N = opt('n', 4096);
const D = opt('d', 4096);
const L = opt('boundaries', 33);
const threads = opt('threads', 2);
const K = Math.min(N - 1, D);
const work = join(repo, 'bench', '.data');
mkdirSync(work, { recursive: true });

function states(seed) {
  const x = new Float32Array(N * D);
  const base = Math.imul(seed, 1000003);
  for (let i = 0; i < x.length; i++) {
    let h = Math.imul((i + base) >>> 0, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    x[i] = (h >>> 0) / 2 ** 32 - 0.5;
  }
  return x;
}

const python = '/usr/bin/python3';
const outFile = join(work, 'spinal-numpy.f64');
// Interleaved, boundary by boundary (numpy's, then ours), so that both sides see the same machine load.
let seconds = 0;
let numpySeconds = 0;
let numpyVersion = '';
let maxAlpha = 0;
let maxSigma = 0;
const methods = {};
for (let l = 0; l < L; l++) {
  const py = spawnSync(python, [join(repo, 'bench', 'spinal_numpy.py'), String(N), String(D), String(l), '1', outFile], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
  });
  if (py.status !== 0) {
    console.log(`bench/spinal: numpy not available (${py.stderr.trim().split('\n').pop()}); install: apt-get install python3-numpy libopenblas0-pthread`);
    process.exit(0);
  }
  const np = JSON.parse(py.stdout.trim().split('\n').pop());
  numpySeconds += np.seconds;
  numpyVersion = np.numpy;
  const raw = readFileSync(outFile);
  const ref = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const x32 = states(l);
  const t0 = performance.now();
  const x = new Float64Array(N * D);
  const mean = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) mean[j] += x32[i * D + j];
  for (let j = 0; j < D; j++) mean[j] /= N;
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) x[i * D + j] = x32[i * D + j] - mean[j];
  const { values, method } = await centredSingularValues(x, N, D, threads);
  seconds += (performance.now() - t0) / 1000;
  methods[method] = (methods[method] ?? 0) + 1;
  const a = contractionFromSingularValues(values);
  const b = contractionFromSingularValues(ref);
  maxAlpha = Math.max(maxAlpha, Math.abs(a - b) / Math.abs(b));
  for (let k = Math.floor(K / 2); k < K; k++) maxSigma = Math.max(maxSigma, Math.abs(values[k] - ref[k]) / ref[k]);
  process.stderr.write(`\rboundary ${l + 1}/${L}: preflens ${seconds.toFixed(0)} s, numpy ${numpySeconds.toFixed(0)} s`);
}
process.stderr.write('\n');
console.log(`shape          ${L} boundaries × N ${N} tokens × D ${D}, ${threads} threads`);
console.log(`preflens       ${seconds.toFixed(1)} s (float64 Gram by onnxruntime + two-stage symmetric eigensolver; ${JSON.stringify(methods)})`);
console.log(`numpy          ${numpySeconds.toFixed(1)} s (numpy ${numpyVersion}, linalg.svd(compute_uv=False))`);
console.log(`ratio          ${(seconds / numpySeconds).toFixed(2)}× numpy's time (target ≤ 2×)`);
console.log(`agreement      max relative |Δα| ${maxAlpha.toExponential(2)}; max relative |Δσ| over the fit's singular values ${maxSigma.toExponential(2)}`);
console.log(JSON.stringify({ boundaries: L, n: N, d: D, preflens_s: +seconds.toFixed(2), numpy_s: +numpySeconds.toFixed(2), ratio: +(seconds / numpySeconds).toFixed(3), max_rel_alpha: maxAlpha, max_rel_sigma: maxSigma }));
