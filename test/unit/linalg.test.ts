/** SPINAL's fast singular values (src/core/spinal/linalg.ts) against ml-matrix's float64 SVD and eigen-decomposition. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EigenvalueDecomposition, Matrix, SVD } from 'ml-matrix';
import { centredSingularValues, symmetricEigenvalues, symmetricEigenvaluesTwoStage } from '../../src/core/spinal/linalg.js';
import { rng } from '../gpt2.js';

function centred(n: number, d: number, seed: number, rank = Infinity): Float64Array {
  const r = rng(seed);
  const x = new Float64Array(n * d);
  if (rank < Math.min(n, d)) {
    const a = Float64Array.from({ length: n * rank }, () => r());
    const b = Float64Array.from({ length: rank * d }, () => r());
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < rank; k++) x[i * d + j] += a[i * rank + k] * b[k * d + j];
  } else for (let i = 0; i < x.length; i++) x[i] = r() * (1 + (i % d) / d);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j];
    m /= n;
    for (let i = 0; i < n; i++) x[i * d + j] -= m;
  }
  return x;
}

test('symmetric eigenvalues (fused Householder + implicit QL) = ml-matrix, sizes 1–120, with repeated and zero eigenvalues', () => {
  for (const [n, seed] of [[1, 1], [2, 2], [3, 3], [4, 4], [17, 5], [64, 6], [120, 7]]) {
    const r = rng(seed);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r();
    const want = new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.slice(i * n, i * n + n))))).realEigenvalues.sort((x, y) => y - x);
    const got = symmetricEigenvalues(Float64Array.from(a), n);
    const scale = Math.max(...want.map(Math.abs));
    want.forEach((w, i) => assert.ok(Math.abs(w - got[i]) <= 1e-12 * scale, `n=${n} λ${i}: ${got[i]} vs ${w}`));
  }
  // a diagonal matrix (nothing to reflect) and a rank-one matrix (many zero eigenvalues)
  const diag = new Float64Array(25);
  for (let i = 0; i < 5; i++) diag[i * 5 + i] = i;
  assert.deepEqual(Array.from(symmetricEigenvalues(diag, 5)), [4, 3, 2, 1, 0]);
  const u = [1, 2, 3, 4];
  const r1 = Float64Array.from({ length: 16 }, (_, k) => u[Math.floor(k / 4)] * u[k % 4]);
  const ev = symmetricEigenvalues(r1, 4);
  assert.ok(Math.abs(ev[0] - 30) < 1e-12 && ev.slice(1).every((x) => Math.abs(x) < 1e-12));
});

test('singular values of centred token × hidden matrices = ml-matrix SVD (N < D, N > D, rank-deficient)', async () => {
  for (const [n, d, rank] of [[40, 96, Infinity], [150, 64, Infinity], [60, 60, 10], [5, 3, Infinity]]) {
    const x = centred(n, d, n + d, rank);
    const X = new Matrix(n, d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X.set(i, j, x[i * d + j]);
    const want = new SVD(X, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).diagonal;
    const { values, method } = await centredSingularValues(x, n, d);
    assert.equal(values.length, Math.min(n - 1, d));
    if (rank === Infinity) {
      assert.equal(method, 'gram');
      values.forEach((s, i) => assert.ok(Math.abs(s - want[i]) <= 1e-9 * want[i], `${n}×${d} σ${i}: ${s} vs ${want[i]}`));
    } else {
      // rank 10: the fit's lower half is numerically zero, so the SVD route takes over
      assert.equal(method, 'svd');
    }
  }
});

test('two-stage eigenvalues (band by onnxruntime GEMMs, then bulge chasing) = the one-stage route and ml-matrix', async () => {
  for (const [n, b, seed] of [[650, 8, 1], [701, 32, 2], [640, 4, 3]]) {
    const r = rng(seed);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r() + (i === j ? i / n : 0);
    const one = symmetricEigenvalues(Float64Array.from(a), n);
    // ml-matrix once (it takes seconds at this size); the one-stage route, itself checked against it above, always
    const want = seed === 1 ? new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.slice(i * n, i * n + n))))).realEigenvalues.sort((x, y) => y - x) : Array.from(one);
    const two = await symmetricEigenvaluesTwoStage(Float64Array.from(a), n, b);
    const scale = Math.max(...want.map(Math.abs));
    want.forEach((w, i) => {
      assert.ok(Math.abs(w - two[i]) <= 1e-11 * scale, `n=${n} b=${b} λ${i}: ${two[i]} vs ${w}`);
      assert.ok(Math.abs(one[i] - two[i]) <= 1e-11 * scale);
    });
  }
});

/** One-sided Jacobi SVD in float64 (the test's own, independent of linalg.ts): the singular values, descending. */
function jacobiSingularValues(x: Float64Array, n: number, d: number): number[] {
  // columns of Xᵀ (rows of X) orthogonalised pairwise: U Σ = X V; the norms of the rotated rows are σ
  const a = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, i * d + d)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < d; k++) {
          alpha += a[p][k] * a[p][k];
          beta += a[q][k] * a[q][k];
          gamma += a[p][k] * a[q][k];
        }
        if (Math.abs(gamma) <= 1e-300 || Math.abs(gamma) <= 1e-17 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < d; k++) {
          const u = a[p][k];
          const v = a[q][k];
          a[p][k] = c * u - s * v;
          a[q][k] = s * u + c * v;
        }
      }
    if (off < 1e-15) break;
  }
  return a.map((r) => Math.sqrt(r.reduce((s, v) => s + v * v, 0))).sort((p, q) => q - p);
}

test('SPINAL contraction at the embeddings: exactly repeated rows make the centred matrix rank-deficient, and its numerically-zero singular values stay out of the fit (K = min(N − 1, D, numerical rank))', async () => {
  const { contraction, contractionFromSingularValues, numericalRank } = await import('../../src/core/spinal/spinal.js');
  const D = 48;
  const r = rng(21);
  // 9 distinct token embeddings, repeated (the same token at the same position in several records): N = 30 ≤ D
  const distinct = Array.from({ length: 9 }, () => Array.from({ length: D }, () => r() * 2 - 1));
  const rows = Array.from({ length: 30 }, (_, i) => distinct[(i * 7) % 9]);
  const n = rows.length;
  const x = new Float64Array(n * D);
  const mean = new Float64Array(D);
  for (const row of rows) row.forEach((v, j) => (mean[j] += v / n));
  rows.forEach((row, i) => row.forEach((v, j) => (x[i * D + j] = v - mean[j])));
  const sv = jacobiSingularValues(x, n, D);
  const rank = numericalRank(sv, n, D);
  assert.equal(rank, 8, 'nine distinct rows, centred: rank 8');
  assert.ok(sv[8] < 1e-12 * sv[0], 'the rest are numerically zero');
  const want = contractionFromSingularValues(sv.slice(0, rank));
  const got = await contraction(rows, D);
  assert.ok(Math.abs(got - want) < 1e-9, `α ${got} vs ${want}`);
  // what the fit gave when the zeros entered it (K = min(N − 1, D)): far off
  const unbounded = contractionFromSingularValues(sv.slice(0, Math.min(n - 1, D)));
  assert.ok(Math.abs(unbounded - want) > 1, `the numerically-zero values change α (${unbounded} vs ${want})`);
  // full rank (no repeats): K = min(N − 1, D) as before
  const free = Array.from({ length: 30 }, () => Array.from({ length: D }, () => r()));
  const fx = new Float64Array(30 * D);
  const fm = new Float64Array(D);
  for (const row of free) row.forEach((v, j) => (fm[j] += v / 30));
  free.forEach((row, i) => row.forEach((v, j) => (fx[i * D + j] = v - fm[j])));
  const fsv = jacobiSingularValues(fx, 30, D);
  assert.equal(numericalRank(fsv, 30, D), 29);
  assert.ok(Math.abs((await contraction(free, D)) - contractionFromSingularValues(fsv.slice(0, 29))) < 1e-9);
});
