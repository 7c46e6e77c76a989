import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeScale, metricValue, quantile, scalePosition } from '../../webview/shared/colors.js';
import { columns, histogram, summarize } from '../../src/core/metrics/dashboard.js';
import { sortedRows } from '../../webview/shared/rows.js';
import { parseHeatmapRequest } from '../../src/protocol/heatmap.js';
import { parseDashboardRequest } from '../../src/protocol/dashboard.js';
import { log1mexp, negLogSigmoid, pairOut, topShare, type ResponseOut } from '../../src/core/metrics/pair.js';
import type { ScoredRecord } from '../../src/core/engine/score.js';

test('diverging scale: centred at 0, symmetric, clipped at the 98th percentile of |value|', () => {
  const vals = [...Array.from({ length: 98 }, (_, i) => (i % 2 ? 1 : -1) * (i / 98)), 50, -60];
  const s = makeScale(vals, true);
  assert.equal(s.lo, -s.hi);
  assert.ok(s.hi < 50 && s.hi > 0.9, `clip ${s.hi}`);
  assert.equal(scalePosition(s, 0), 0);
  assert.equal(scalePosition(s, 1000), 1);
  assert.equal(scalePosition(s, -1000), -1);
  assert.ok(Math.abs(scalePosition(s, s.hi / 2) - 0.5) < 1e-12);
  assert.equal(scalePosition(s, NaN), 0);
});

test('sequential scale maps [2nd, 98th] percentile to [0, 1]; quantile interpolates', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  const s = makeScale(Array.from({ length: 101 }, (_, i) => i), false);
  assert.ok(Math.abs(s.lo - 2) < 1e-9 && Math.abs(s.hi - 98) < 1e-9);
  assert.equal(scalePosition(s, 50), 0.5);
  assert.equal(scalePosition(s, -5), 0);
  const flat = makeScale([3, 3, 3], false);
  assert.ok(flat.hi > flat.lo, 'constant values do not divide by zero');
});

test('metric values of a token', () => {
  const t = { logp: -2, ref_logp: -3, reward: 0.1, entropy: 1.5, topk_mass: 0.9 };
  assert.equal(metricValue(t, 'logratio'), 1);
  assert.equal(metricValue(t, 'reward'), 0.1);
  assert.ok(Number.isNaN(metricValue({ ...t, ref_logp: undefined, reward: undefined }, 'reward')));
});

test('pair metrics: DPO loss, flags', () => {
  assert.ok(Math.abs(negLogSigmoid(0) - Math.log(2)) < 1e-15);
  assert.ok(Math.abs(negLogSigmoid(-800) - 800) < 1e-9, 'stable for large negative margins');
  assert.ok(negLogSigmoid(800) >= 0 && negLogSigmoid(800) < 1e-300 + 1e-15);
  const resp = (logp: number, ref: number, n = 4): ResponseOut => ({
    tokens: Array.from({ length: n }, (_, i) => ({ id: i, text: 'x', start: i, end: i + 1, logp: logp / n, ref_logp: ref / n, reward: (0.1 * (logp - ref)) / n, entropy: 1, rank: 1, topk_mass: 1, topk_entropy: 0 })),
    logp,
    mean_logp: logp / n,
    ref_logp: ref,
    reward: 0.1 * (logp - ref),
  });
  // chosen fell below the reference but the margin is positive: likelihood displacement
  const p = pairOut(resp(-10, -9), resp(-30, -12), 0.1);
  assert.ok(p && p.margin > 0);
  assert.deepEqual(p?.flags, ['likelihood-displacement', 'rejected-collapse']);
  const w = pairOut(resp(-12, -10), resp(-9, -10), 0.1);
  assert.deepEqual(w?.flags, ['wrong-way']);
  assert.equal(topShare([10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1);
  assert.equal(topShare(Array.from({ length: 20 }, () => 1)), 0.05);
});

function scored(line: number, margin: number, lc: number, lr: number, flags: string[] = []): ScoredRecord {
  const r = (n: number, reward: number): ResponseOut => ({ tokens: Array.from({ length: n }, (_, i) => ({ id: i, text: '', start: 0, end: 0, logp: -1, entropy: 0, rank: 1, topk_mass: 1, topk_entropy: 0 })), logp: -n, mean_logp: -1, ref_logp: -n - reward * 10, reward });
  return { line, format: 'hh', chosen: r(lc, margin / 2), rejected: r(lr, -margin / 2), margin, dpo_loss: negLogSigmoid(margin), flags };
}

test('dashboard aggregation: columns, summary, histogram, sorting and brushing', () => {
  const recs = [scored(1, 2, 10, 5), scored(2, -1, 3, 8, ['wrong-way']), scored(3, 0.5, 4, 4), { line: 4, format: 'kto', flags: [] } as ScoredRecord];
  const c = columns(recs);
  assert.deepEqual(c.line, [1, 2, 3], 'only scored pairs');
  assert.deepEqual(c.lengthDiff, [5, -5, 0]);
  const s = summarize(c);
  assert.equal(s.pairs, 3);
  assert.ok(Math.abs(s.implicitAccuracy - 2 / 3) < 1e-12);
  assert.deepEqual(s.flagCounts, { 'wrong-way': 1 });
  assert.ok(Math.abs(s.meanMargin - 0.5) < 1e-12);
  const h = histogram(c.margin, 3);
  assert.deepEqual(h.counts, [1, 1, 1]);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 3);
  assert.deepEqual(sortedRows(c, 'margin', false, null).map((i) => c.line[i]), [2, 3, 1]);
  assert.deepEqual(sortedRows(c, 'loss', true, null).map((i) => c.line[i]), [2, 3, 1]);
  assert.deepEqual(sortedRows(c, 'margin', false, [0, 3]).map((i) => c.line[i]), [3, 1]);
});

test('heatmap and dashboard messages from webviews are validated', () => {
  assert.deepEqual(parseHeatmapRequest({ type: 'navigate', direction: 'next' }), { type: 'navigate', direction: 'next' });
  assert.deepEqual(parseHeatmapRequest({ type: 'alternatives', response: 1, token: 4, seq: 9 }), { type: 'alternatives', response: 1, token: 4, seq: 9 });
  for (const m of [null, {}, { type: 'navigate', direction: 'up' }, { type: 'alternatives', response: -1, token: 0, seq: 0 }, { type: 'alternatives', response: 0, token: 1.5, seq: 0 }, { type: 'open', path: '/etc/passwd' }])
    assert.equal(parseHeatmapRequest(m), null);
  assert.deepEqual(parseDashboardRequest({ type: 'open', line: 3, sub: 0 }), { type: 'open', line: 3, sub: 0 });
  for (const m of [{ type: 'open', line: 0, sub: 0 }, { type: 'open', line: '3', sub: 0 }, { type: 'write', path: 'x' }]) assert.equal(parseDashboardRequest(m), null);
});

test('log1mexp keeps precision near 0, where ORPO\'s log-odds of a confident response need it', () => {
  // log(1 − e^x) = log(−x) + x/2 + O(x²) for x → 0⁻: an independent expansion.
  for (const x of [-1e-17, -1e-12, -1e-8]) {
    const want = Math.log(-x) + x / 2;
    assert.ok(Math.abs(log1mexp(x) - want) < 1e-9 * Math.abs(want), `x=${x}: ${log1mexp(x)} vs ${want}`);
  }
  assert.equal(Math.log1p(-Math.exp(-1e-17)), -Infinity, 'the naive form loses everything at −1e-17');
  for (const x of [-0.5, -1, -5, -40]) assert.ok(Math.abs(log1mexp(x) - Math.log(1 - Math.exp(x))) < 1e-12, `x=${x}`);
  assert.equal(log1mexp(0), -Infinity);
  // A pair whose chosen response is almost certain has a large, finite ORPO log-odds ratio.
  const resp = (mean: number): ResponseOut => ({ tokens: [], logp: mean * 10, mean_logp: mean, ref_logp: mean * 10, reward: 0 });
  const p = pairOut(resp(-1e-14), resp(-2), 0.1);
  assert.ok(p && Number.isFinite(p.orpo_log_odds_ratio) && p.orpo_log_odds_ratio > -1e-12, String(p?.orpo_log_odds_ratio));
});

test('TRL losses per pair: hinge (SLiC), robust DPO with label smoothing, SimPO (reference-free)', async () => {
  const { robustLoss, simpoLoss } = await import('../../src/core/metrics/pair.js');
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  const resp = (logp: number, ref: number, n: number): ResponseOut => ({ tokens: Array.from({ length: n }, () => ({ id: 0, text: '', start: 0, end: 0, logp: logp / n, entropy: 0, rank: 1, topk_mass: 1, topk_entropy: 0 })), logp, mean_logp: logp / n, ref_logp: ref, reward: 0.1 * (logp - ref) });
  const up = pairOut(resp(-10, -12, 5), resp(-20, -15, 5), 0.1); // margin 0.2 − (−0.5) = 0.7
  const down = pairOut(resp(-12, -10, 5), resp(-15, -20, 5), 0.1, 0.1); // margin −0.7
  assert.ok(up && down);
  assert.ok(Math.abs(up.hinge_loss - 0.3) < 1e-12);
  assert.ok(Math.abs(down.hinge_loss - 1.7) < 1e-12);
  assert.equal(up.robust_loss, undefined, 'no robust loss without label smoothing (it would equal the DPO loss)');
  const eps = 0.1;
  const want = (-Math.log(sig(-0.7)) * (1 - eps) + Math.log(sig(0.7)) * eps) / (1 - 2 * eps);
  assert.ok(Math.abs((down.robust_loss ?? NaN) - want) < 1e-12, `${down.robust_loss} vs ${want}`);
  assert.ok(Math.abs(robustLoss(0.7, 0) - -Math.log(sig(0.7))) < 1e-12, 'at ε = 0 the robust loss is the DPO loss');
  // SimPO: −log σ(β Δ − γ) on mean log-probabilities.
  assert.ok(Math.abs(simpoLoss(-1.2, -2.0, 2, 0.5) - -Math.log(sig(2 * 0.8 - 0.5))) < 1e-12);
});
