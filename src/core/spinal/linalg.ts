/**
 * Singular values for SPINAL's contraction at real shapes (docs/ARCHITECTURE.md, "SPINAL traces"): a 7B model has
 * D = 4096, and a trace may hold thousands of tokens. The singular values of the column-centred N × D matrix X are
 * the square roots of the eigenvalues of its Gram matrix (X Xᵀ when N ≤ D, else Xᵀ X), so:
 * 1. the Gram matrix in float64 by onnxruntime's Gemm (MLAS DGEMM, all threads: ~55 GFLOP/s on this machine);
 * 2. its eigenvalues by a two-stage symmetric eigensolver (symmetricEigenvaluesTwoStage): band form of half-width b
 *    by blocked Householder panels whose two-sided updates are onnxruntime GEMMs (symmetricToBand), tridiagonal form
 *    by Givens bulge chasing (bandToTridiagonal), eigenvalues by implicit QL (Numerical Recipes' tqli, without
 *    vectors); below ~600 rows the one-stage route is faster and is used instead (symmetricEigenvalues: Householder
 *    tridiagonalisation with each step's rank-2 update fused with the next step's product, then implicit QL).
 * Squaring the condition number loses relative accuracy on singular values far below the largest: where
 * σ_max² / σ_k² exceeds 1e10 for a σ_k the fit uses, the dense SVD (ml-matrix, float64) is used instead.
 */
import * as ort from 'onnxruntime-node';
import { Matrix, SVD } from 'ml-matrix';
import { encodeModel, node, onnx, valueInfo } from '../engine/onnx.js';

const DOUBLE = 11;
const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** One CPU session per small float64 graph and thread count, created on first use and kept for the process. */
function cachedSession(key: string, threads: number | undefined, graph: () => onnx.IGraphProto): Promise<ort.InferenceSession> {
  const k = `${key}:${threads ?? 0}`;
  let s = sessions.get(k);
  if (!s) {
    const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], logSeverityLevel: 3 };
    if (threads) opts.intraOpNumThreads = threads;
    s = ort.InferenceSession.create(encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: graph() }), opts);
    sessions.set(k, s);
  }
  return s;
}

/** A session computing X Xᵀ (rows) or Xᵀ X (cols) of a float64 matrix. */
function gramSession(kind: 'rows' | 'cols', threads?: number): Promise<ort.InferenceSession> {
  return cachedSession(`gram-${kind}`, threads, () => ({
    name: 'gram',
    node: [node('Gemm', ['x', 'x'], ['g'], 'gram', kind === 'rows' ? { transB: 1 } : { transA: 1 })],
    input: [valueInfo('x', DOUBLE, ['n', 'd'])],
    output: [valueInfo('g', DOUBLE, ['k', 'k'])],
  }));
}

/** The Gram matrix (k × k, k = min(n, d)) of a row-major n × d float64 matrix. */
export async function gram(x: Float64Array, n: number, d: number, threads?: number): Promise<{ g: Float64Array; k: number }> {
  const kind = n <= d ? 'rows' : 'cols';
  const s = await gramSession(kind, threads);
  const out = await s.run({ x: new ort.Tensor('float64', x, [n, d]) });
  const g = out.g.data as Float64Array;
  return { g, k: kind === 'rows' ? n : d };
}

/**
 * Eigenvalues of a symmetric n × n matrix (row-major, overwritten), descending: Householder tridiagonalisation
 * (lower triangle; the rank-2 update of step j fused with the product for step j + 1), then implicit QL.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return d;
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  // Householder vector for column k (rows k+1..n−1), from the current (updated) column; returns β, or 0 when the
  // column is already zero below the subdiagonal.
  const householder = (k: number): number => {
    let s = 0;
    for (let i = k + 1; i < n; i++) {
      const x = a[i * n + k];
      v[i] = x;
      s += x * x;
    }
    const x0 = v[k + 1];
    const norm = Math.sqrt(s);
    const alpha = x0 >= 0 ? -norm : norm;
    e[k] = alpha;
    v[k + 1] = x0 - alpha;
    const vtv = s - x0 * x0 + v[k + 1] * v[k + 1];
    return vtv > 0 ? 2 / vtv : 0;
  };
  // p = β S v over the trailing block S = a[k+1.., k+1..], lower triangle only.
  const symv = (k: number, beta: number): void => {
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      let acc = 0;
      for (let j = k + 1; j < i; j++) {
        const s = a[row + j];
        acc += s * v[j];
        p[j] += s * vi;
      }
      p[i] += acc + a[row + i] * vi;
    }
    for (let i = k + 1; i < n; i++) p[i] *= beta;
  };
  let beta = 0;
  if (n > 2) {
    beta = householder(0);
    if (beta) symv(0, beta);
  }
  for (let k = 0; k < n - 2; k++) {
    d[k] = a[k * n + k];
    if (beta === 0) {
      // Nothing to reflect: e[k] is the subdiagonal as it stands.
      e[k] = a[(k + 1) * n + k];
      if (k + 1 < n - 2) {
        beta = householder(k + 1);
        if (beta) symv(k + 1, beta);
      }
      continue;
    }
    // w = p − (β/2)(pᵀv) v
    let pv = 0;
    for (let i = k + 1; i < n; i++) pv += p[i] * v[i];
    const K = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= K * v[i]; // p now holds w
    // Update column k+1 of the trailing block first (S_i,k+1 for i ≥ k+1), to build the next reflector from it.
    const c = k + 1;
    for (let i = c; i < n; i++) a[i * n + c] -= v[i] * p[c] + p[i] * v[c];
    if (c >= n - 2) {
      // The last 2 × 2 block: update it and stop.
      for (let i = c + 1; i < n; i++) for (let j = c + 1; j <= i; j++) a[i * n + j] -= v[i] * p[j] + p[i] * v[j];
      beta = 0;
      break;
    }
    // Next reflector from the updated column c, then one fused pass over the rest of the lower triangle:
    // S_ij −= v_i w_j + w_i v_j, and q = S' v' accumulated with the updated values.
    const w = Float64Array.from(p);
    const vOld = Float64Array.from(v);
    const nb = householder(c);
    for (let i = c + 1; i < n; i++) p[i] = 0;
    for (let i = c + 1; i < n; i++) {
      const row = i * n;
      const vi = vOld[i];
      const wi = w[i];
      const vni = v[i];
      let acc = 0;
      for (let j = c + 1; j < i; j++) {
        const s = a[row + j] - (vi * w[j] + wi * vOld[j]);
        a[row + j] = s;
        acc += s * v[j];
        p[j] += s * vni;
      }
      const sii = a[row + i] - 2 * vi * wi;
      a[row + i] = sii;
      p[i] += acc + sii * vni;
    }
    for (let i = c + 1; i < n; i++) p[i] *= nb;
    beta = nb;
  }
  // The last two diagonal entries and the last subdiagonal.
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)];
    d[n - 1] = a[(n - 1) * n + (n - 1)];
    e[n - 2] = a[(n - 1) * n + (n - 2)];
  } else d[0] = a[0];
  tqli(d, e, n);
  return d.sort().reverse();
}

/** Implicit QL eigenvalues of the symmetric tridiagonal (d, e: e[i] couples i and i+1), in place in d. */
function tqli(d: Float64Array, eIn: Float64Array, n: number): void {
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = eIn[i];
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error('tridiagonal eigenvalues did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1;
      let c = 1;
      let pp = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= pp;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - pp;
        r = (d[i] - g) * s + 2 * c * b;
        pp = s * r;
        d[i + 1] = g + pp;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= pp;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** A2 ← Qᵀ A2 Q for Q = I − V T Vᵀ (symmetric A2): X = A2 V T, Y = X − ½ V (Tᵀ Vᵀ X), A2 − [V Y][Y V]ᵀ. */
function updateSession(threads?: number): Promise<ort.InferenceSession> {
  const n = (op: string, ins: string[], out: string, attrs: Record<string, number | number[]> = {}): onnx.INodeProto => node(op, ins, [out], out, attrs);
  return cachedSession('sy2sb', threads, () => ({
    name: 'sy2sb',
    node: [
      n('MatMul', ['v', 't'], 'vt'),
      n('MatMul', ['a', 'vt'], 'x'),
      n('Gemm', ['v', 'x'], 'vtx', { transA: 1 }),
      n('Gemm', ['t', 'vtx'], 'z', { transA: 1 }),
      n('MatMul', ['v', 'z'], 'vz'),
      n('Mul', ['vz', 'half'], 'hvz'),
      n('Sub', ['x', 'hvz'], 'y'),
      n('Concat', ['v', 'y'], 'u', { axis: 1 }),
      n('Concat', ['y', 'v'], 'w', { axis: 1 }),
      node('Gemm', ['u', 'w', 'a'], ['out'], 'update', { transB: 1, alpha: -1, beta: 1 }),
    ],
    initializer: [{ name: 'half', dims: [], dataType: DOUBLE, doubleData: [0.5] }],
    input: [valueInfo('a', DOUBLE, ['m', 'm']), valueInfo('v', DOUBLE, ['m', 'r']), valueInfo('t', DOUBLE, ['r', 'r'])],
    output: [valueInfo('out', DOUBLE, ['m', 'm'])],
  }));
}

/**
 * Stage 1 of a two-stage reduction (LAPACK's sy2sb): the symmetric n × n matrix to band form with half-bandwidth b,
 * one panel of b columns at a time — Householder QR of the panel in JavaScript (m × b), the two-sided update of
 * the trailing matrix as three GEMMs by onnxruntime. Returns the band: band[d·n + j] = A[j+d][j], d = 0..b+1
 * (row b+1 left zero for stage 2's bulge).
 */
export async function symmetricToBand(a: Float64Array, n: number, b: number, threads?: number): Promise<Float64Array> {
  const band = new Float64Array((b + 2) * n);
  let cur = a;
  let size = n;
  let k = 0;
  const session = await updateSession(threads);
  while (size > b + 1) {
    // the diagonal block cur[0:b, 0:b] (lower part) goes to the band
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) band[(i - j) * n + k + j] = cur[i * size + j];
    const m = size - b;
    const r = Math.min(m - 1, b);
    // panel P = cur[b:, 0:b] (m × b), Householder QR in place: V (m × r, unit lower), τ
    const P = new Float64Array(m * b);
    for (let i = 0; i < m; i++) for (let j = 0; j < b; j++) P[i * b + j] = cur[(b + i) * size + j];
    const V = new Float64Array(m * r);
    const tau = new Float64Array(r);
    for (let j = 0; j < r; j++) {
      let norm2 = 0;
      for (let i = j; i < m; i++) norm2 += P[i * b + j] ** 2;
      const x0 = P[j * b + j];
      const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
      const v0 = x0 - alpha;
      const vtv = norm2 - x0 * x0 + v0 * v0;
      if (vtv === 0 || norm2 === 0) {
        tau[j] = 0;
        V[j * r + j] = 1;
        continue;
      }
      // v scaled so that v[j] = 1: τ = 2 v0² / vtv
      V[j * r + j] = 1;
      for (let i = j + 1; i < m; i++) V[i * r + j] = P[i * b + j] / v0;
      tau[j] = (2 * v0 * v0) / vtv;
      // apply H = I − τ v vᵀ to the remaining columns of the panel
      for (let c = j; c < b; c++) {
        let dot = 0;
        for (let i = j; i < m; i++) dot += V[i * r + j] * P[i * b + c];
        dot *= tau[j];
        for (let i = j; i < m; i++) P[i * b + c] -= dot * V[i * r + j];
      }
    }
    // R (the upper rows of P) goes to the band: A[k+b+i][k+j], i ≤ j
    for (let i = 0; i < Math.min(m, b); i++) for (let j = i; j < b; j++) band[(b + i - j) * n + k + j] = P[i * b + j];
    // T (r × r, upper) of the compact WY form Q = H_1 … H_r = I − V T Vᵀ (dlarft, forward, columnwise)
    const T = new Float64Array(r * r);
    for (let j = 0; j < r; j++) {
      T[j * r + j] = tau[j];
      if (j === 0 || tau[j] === 0) continue;
      const w = new Float64Array(j);
      for (let c = 0; c < j; c++) {
        let dot = 0;
        for (let i = j; i < m; i++) dot += V[i * r + c] * V[i * r + j];
        w[c] = -tau[j] * dot;
      }
      for (let row = 0; row < j; row++) {
        let sum = 0;
        for (let c = row; c < j; c++) sum += T[row * r + c] * w[c];
        T[row * r + j] = sum;
      }
    }
    const A2 = new Float64Array(m * m);
    for (let i = 0; i < m; i++) A2.set(cur.subarray((b + i) * size + b, (b + i) * size + size), i * m);
    const out = await session.run({ a: new ort.Tensor('float64', A2, [m, m]), v: new ort.Tensor('float64', V, [m, r]), t: new ort.Tensor('float64', T, [r, r]) });
    cur = out.out.data as Float64Array;
    size = m;
    k += b;
  }
  for (let i = 0; i < size; i++) for (let j = 0; j <= i; j++) band[(i - j) * n + k + j] = cur[i * size + j];
  return band;
}

/**
 * Stage 2: the band (half-bandwidth b, storage of symmetricToBand) to tridiagonal form by Givens rotations with
 * bulge chasing (Rutishauser–Schwarz); returns the diagonal and the subdiagonal.
 */
export function bandToTridiagonal(band: Float64Array, n: number, b: number): { d: Float64Array; e: Float64Array } {
  const W = b + 1; // largest stored distance
  const idx = (i: number, j: number): number => (i >= j ? (i - j) * n + j : (j - i) * n + i);
  const rot = (p: number, q: number, c: number, s: number): void => {
    const lo = Math.max(0, p - W);
    const hi = Math.min(n - 1, q + W);
    for (let x = lo; x <= hi; x++) {
      if (x === p || x === q) continue;
      const dp = Math.abs(x - p);
      const dq = Math.abs(x - q);
      const ap = dp <= W ? band[idx(p, x)] : 0;
      const aq = dq <= W ? band[idx(q, x)] : 0;
      if (ap === 0 && aq === 0) continue;
      if (dp <= W) band[idx(p, x)] = c * ap + s * aq;
      if (dq <= W) band[idx(q, x)] = -s * ap + c * aq;
    }
    const app = band[p];
    const aqq = band[q];
    const apq = band[n + p];
    band[p] = c * c * app + 2 * c * s * apq + s * s * aqq;
    band[q] = s * s * app - 2 * c * s * apq + c * c * aqq;
    band[n + p] = c * s * (aqq - app) + (c * c - s * s) * apq;
  };
  // zero A[q][col] using A[p][col] with a rotation in the plane (p, q = p + 1)
  const annihilate = (p: number, col: number): void => {
    const q = p + 1;
    const y = band[idx(p, col)];
    const x = band[idx(q, col)];
    if (x === 0) return;
    const r = Math.hypot(x, y);
    rot(p, q, y / r, x / r);
    band[idx(q, col)] = 0;
  };
  if (b > 1)
    for (let k = 0; k < n - 2; k++) {
      for (let r = Math.min(b, n - 1 - k); r >= 2; r--) {
        annihilate(k + r - 1, k);
        // chase the bulge at (i, i − b − 1) down the band
        for (let i = k + r + b; i < n; i += b) annihilate(i - 1, i - b - 1);
      }
    }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = band[i];
  for (let i = 0; i < n - 1; i++) e[i] = band[n + i];
  return { d, e };
}

/** Eigenvalues (descending) of a symmetric matrix by the two-stage route (band of half-width b, then tridiagonal). */
export async function symmetricEigenvaluesTwoStage(a: Float64Array, n: number, b = 32, threads?: number): Promise<Float64Array> {
  // Below ~600 the one-stage route is faster (measured: 208 against 233 ms at 512, 966 against 836 ms at 1024).
  if (n <= Math.max(2 * b + 2, 600)) return symmetricEigenvalues(a, n);
  const band = await symmetricToBand(a, n, b, threads);
  const { d, e } = bandToTridiagonal(band, n, b);
  tqli(d, e, n);
  return d.sort().reverse();
}

/**
 * Singular values (descending, the first min(n − 1, d) for a column-centred matrix) of a row-major n × d float64
 * matrix, already column-centred. The dense SVD is used when the Gram route would lose relative accuracy.
 */
export async function centredSingularValues(x: Float64Array, n: number, d: number, threads?: number): Promise<{ values: Float64Array; method: 'gram' | 'svd' }> {
  const K = Math.max(0, Math.min(n - 1, d));
  const { g, k } = await gram(x, n, d, threads);
  const lam = await symmetricEigenvaluesTwoStage(g, k, 32, threads);
  const top = Math.max(lam[0], 0);
  let ok = true;
  for (let i = Math.floor(K / 2); i < K; i++) if (!(lam[i] > 0) || top / lam[i] > 1e10) ok = false;
  if (ok) return { values: lam.slice(0, K).map((l) => Math.sqrt(Math.max(l, 0))), method: 'gram' };
  const X = new Matrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X.set(i, j, x[i * d + j]);
  const svd = new SVD(X, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true });
  return { values: Float64Array.from(svd.diagonal.slice(0, K)), method: 'svd' };
}
