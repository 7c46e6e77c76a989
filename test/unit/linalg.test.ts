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
