/**
 * Curve arithmetic shared by the run view (webview) and the tests: TensorBoard's EMA smoothing with its debiasing,
 * the value of a curve at a step (for the crosshair) and the step → epoch map (for an x-axis by epoch). No Node or
 * VS Code imports: the webview bundles this file.
 */

/** A point of a curve: [step, value]; null is a gap (a NaN or Infinity that was logged). */
export type Point = [number, number | null];

/**
 * TensorBoard's smoothing (its "classic" smoothing): an exponential moving average started at 0 and divided by
 * 1 − w^n (n = finite points so far), so the first points are not pulled towards 0; gaps stay gaps and are skipped by
 * the average, and a constant curve is left as it is. `weight` is TensorBoard's slider value in [0, 1).
 */
export function emaSmooth(points: readonly Point[], weight: number): Point[] {
  const w = Number.isFinite(weight) ? Math.min(Math.max(weight, 0), 1) : 0;
  const first = points.find((p) => p[1] !== null)?.[1];
  const constant = points.every((p) => p[1] === null || p[1] === first);
  let last = 0;
  let n = 0;
  return points.map(([x, y]) => {
    if (y === null || !Number.isFinite(y) || constant) return [x, y];
    last = last * w + (1 - w) * y;
    n++;
    const debias = w === 1 ? 1 : 1 - Math.pow(w, n);
    return [x, last / debias];
  });
}

/** The last point at or before `step` (a curve is a step function between its logged points), or null. */
export function valueAt(points: readonly Point[], step: number): Point | null {
  let lo = 0;
  let hi = points.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] <= step) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best < 0 ? null : points[best];
}

/**
 * The epoch of a step, linear between the logged (step, epoch) pairs and extrapolated from the last two at the ends
 * (the Trainer logs the epoch with each row, as a float). Null without two distinct logged steps.
 */
export function epochOf(epochs: ReadonlyArray<[number, number]>, step: number): number | null {
  if (epochs.length === 0) return null;
  if (epochs.length === 1) return epochs[0][0] === 0 ? null : (epochs[0][1] * step) / epochs[0][0];
  let i = 1;
  while (i < epochs.length - 1 && epochs[i][0] < step) i++;
  const [s0, e0] = epochs[i - 1];
  const [s1, e1] = epochs[i];
  if (s1 === s0) return e0;
  return e0 + ((e1 - e0) * (step - s0)) / (s1 - s0);
}

/**
 * At most about `max` points of a long curve for drawing (a chart is about 300 pixels wide): the curve is cut into
 * max/2 buckets of consecutive points and each keeps its lowest and highest value, in step order, so spikes survive
 * (TensorBoard samples 1,000 points per tag instead, which can drop them). Gaps (null) are always kept.
 */
export function thin<P extends Point | [number, number]>(points: readonly P[], max = 1000): P[] {
  const n = points.length;
  if (n <= max) return points.slice();
  const buckets = Math.max(1, Math.floor(max / 2));
  const size = n / buckets;
  const out: P[] = [];
  const keep: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(n, Math.floor((b + 1) * size));
    let lo = -1;
    let hi = -1;
    let loV = Infinity;
    let hiV = -Infinity;
    keep.length = 0;
    for (let i = from; i < to; i++) {
      const v = points[i][1];
      if (v === null || v !== v || v === Infinity || v === -Infinity) keep.push(i);
      else {
        if (v < loV) {
          loV = v;
          lo = i;
        }
        if (v > hiV) {
          hiV = v;
          hi = i;
        }
      }
    }
    if (lo >= 0) keep.push(lo);
    if (hi >= 0 && hi !== lo) keep.push(hi);
    if (keep.length > 1) keep.sort((x, y) => x - y);
    for (const i of keep) out.push(points[i]);
  }
  return out;
}
