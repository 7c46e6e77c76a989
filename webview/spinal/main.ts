/**
 * SPINAL view (PrefLens' operationalisation of the SPINAL abstract): contraction α and transport 𝓛 against depth
 * for several models on one chart, the per-layer difference policy − reference, and the path in the (α, 𝓛) plane
 * coloured by depth, with a plain sentence of what the trace says.
 */
import { select, scaleLinear, scaleOrdinal, line, axisBottom, axisLeft, schemeTableau10, interpolateViridis } from 'd3';
import type { SpinalEvent } from '../../src/protocol/spinal.js';
import type { SpinalTrace } from '../../src/core/contract.js';
import { el, hostChannel } from '../shared/vscodeApi.js';

const vscode = hostChannel<{ type: 'ready' }, SpinalEvent>(render);
const app = document.getElementById('app') as HTMLElement;
app.classList.add('dashboard');
const head = el('header', 'toolbar');
const title = el('div', 'title', 'SPINAL layer traces');
head.append(title);
const note = el('p', 'muted spinal-note', 'PrefLens’ operationalisation of the SPINAL abstract: contraction α_l = −slope of log σ_k vs log k over the lower half of the singular values of the centred token × hidden matrix at layer l; transport 𝓛_l = mean 2·arccos(Bhattacharyya coefficient) between logit-lens distributions of layers l and l+1.');
const reading = el('p', 'reading');
const charts = el('section', 'charts');
app.append(head, note, reading, charts);

const W = 330;
const H = 200;
const M = { l: 44, r: 10, t: 10, b: 34 };

function render(e: SpinalEvent): void {
  title.textContent = `SPINAL · ${e.file} lines ${e.lines[0]}–${e.lines[1]} · ${e.traces[0]?.trace.tokens ?? 0} response tokens`;
  const colour = scaleOrdinal<string, string>(schemeTableau10).domain(e.traces.map((t) => t.label));
  charts.replaceChildren();
  const metric = (name: string, get: (t: SpinalTrace, l: number) => number | null, series: Array<{ label: string; trace: SpinalTrace }>, yLabel: string): void => {
    const fig = el('figure', 'chart');
    fig.append(el('figcaption', '', name));
    charts.append(fig);
    const L = Math.max(...series.map((s) => s.trace.layers.length));
    const vals = series.flatMap((s) => s.trace.layers.map((_, l) => get(s.trace, l)).filter((v): v is number => v !== null && Number.isFinite(v)));
    const x = scaleLinear().domain([0, Math.max(1, L - 1)]).range([M.l, W - M.r]);
    const lo = Math.min(0, ...vals);
    const hi = Math.max(...vals, 0.001);
    const y = scaleLinear().domain([lo, hi]).nice().range([H - M.b, M.t]);
    const svg = select(fig).append('svg').attr('width', W).attr('height', H).attr('role', 'img').attr('aria-label', name);
    svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(L).tickFormat((d) => String(d)));
    svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(5));
    svg.append('text').attr('x', W / 2).attr('y', H - 2).attr('class', 'lg').attr('text-anchor', 'middle').text(`layer · ${yLabel}`);
    for (const s of series) {
      const pts = s.trace.layers.map((_, l) => [l, get(s.trace, l)] as [number, number | null]);
      svg.append('path').datum(pts).attr('class', 'trace').style('stroke', colour(s.label)).attr('d', line<[number, number | null]>().defined((d) => d[1] !== null).x((d) => x(d[0])).y((d) => y(d[1] ?? 0)));
      svg.append('g').selectAll('circle').data(pts.filter((p) => p[1] !== null)).join('circle').attr('r', 2.5).attr('cx', (d) => x(d[0])).attr('cy', (d) => y(d[1] ?? 0)).style('fill', colour(s.label)).append('title').text((d) => `${s.label}, layer ${d[0]}: ${(d[1] ?? 0).toFixed(4)}`);
    }
  };
  metric('Contraction α by layer', (t, l) => t.layers[l]?.contraction ?? null, e.traces, 'α');
  metric('Transport 𝓛 by layer (l → l+1)', (t, l) => t.layers[l]?.transport ?? null, e.traces, '𝓛');
  const ref = e.traces.find((t) => t.label === 'reference');
  const others = e.traces.filter((t) => t !== ref);
  if (ref && others.length) {
    const diff = (get: (t: SpinalTrace, l: number) => number | null) => (t: SpinalTrace, l: number): number | null => {
      const a = get(t, l);
      const b = get(ref.trace, l);
      return a === null || b === null ? null : a - b;
    };
    metric('Δ contraction (model − reference)', diff((t, l) => t.layers[l]?.contraction ?? null), others, 'Δα');
    metric('Δ transport (model − reference)', diff((t, l) => t.layers[l]?.transport ?? null), others, 'Δ𝓛');
  }
  // Path in the (α, 𝓛) plane, coloured by depth.
  const fig = el('figure', 'chart');
  fig.append(el('figcaption', '', 'Path in the (α, 𝓛) plane, coloured by depth (dark = early)'));
  charts.append(fig);
  const pts = e.traces.flatMap((s) => s.trace.layers.filter((l) => l.transport !== null).map((l) => ({ s: s.label, l: l.layer, a: l.contraction, t: l.transport ?? 0, L: s.trace.layers.length })));
  const x = scaleLinear().domain([Math.min(...pts.map((p) => p.a)), Math.max(...pts.map((p) => p.a))]).nice().range([M.l, W - M.r]);
  const y = scaleLinear().domain([0, Math.max(...pts.map((p) => p.t), 0.001)]).nice().range([H - M.b, M.t]);
  const svg = select(fig).append('svg').attr('width', W).attr('height', H);
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(5));
  svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(5));
  for (const s of e.traces) {
    const ps = pts.filter((p) => p.s === s.label);
    svg.append('path').datum(ps).attr('class', 'trace thin').style('stroke', colour(s.label)).attr('d', line<(typeof ps)[number]>().x((d) => x(d.a)).y((d) => y(d.t)));
    svg.append('g').selectAll('circle').data(ps).join('circle').attr('r', 4).attr('cx', (d) => x(d.a)).attr('cy', (d) => y(d.t)).style('fill', (d) => interpolateViridis(d.l / Math.max(1, d.L - 1))).style('stroke', colour(s.label)).append('title').text((d) => `${d.s}, layer ${d.l}: α ${d.a.toFixed(3)}, 𝓛 ${d.t.toFixed(3)}`);
  }
  const legend = el('div', 'legend');
  for (const t of e.traces) {
    const sw = el('span', 'swatch');
    sw.style.backgroundColor = colour(t.label);
    legend.append(sw, el('span', '', t.label));
  }
  charts.prepend(legend);
  reading.textContent = sentence(e.traces, ref?.trace ?? null);
}

/** PrefLens' plain reading of the traces (not a claim of the SPINAL paper). */
export function sentence(traces: Array<{ label: string; trace: SpinalTrace }>, ref: SpinalTrace | null): string {
  const last = traces[traces.length - 1];
  if (!last) return '';
  const layers = last.trace.layers;
  let rise = 0;
  let riseAt = 0;
  for (let l = 1; l < layers.length; l++) {
    const d = layers[l].contraction - layers[l - 1].contraction;
    if (d > rise) {
      rise = d;
      riseAt = l;
    }
  }
  const tr = layers.filter((l) => l.transport !== null);
  const minT = tr.reduce((b, l) => ((l.transport ?? Infinity) < (b.transport ?? Infinity) ? l : b), tr[0]);
  let out = `PrefLens’ reading: in ${last.label}, contraction rises most between layers ${riseAt - 1} and ${riseAt} (+${rise.toFixed(2)}); transport is smallest from layer ${minT?.layer} to ${(minT?.layer ?? 0) + 1} (${minT?.transport?.toFixed(3)}), where the logit-lens distribution changes least.`;
  if (ref && last.trace !== ref) {
    const diffs = layers.map((l, i) => l.contraction - (ref.layers[i]?.contraction ?? l.contraction));
    const k = diffs.reduce((b, d, i) => (Math.abs(d) > Math.abs(diffs[b]) ? i : b), 0);
    out += ` Against the reference, contraction differs most at layer ${k} (${diffs[k] >= 0 ? '+' : ''}${diffs[k].toFixed(3)}): ${diffs[k] > 0 ? 'alignment training concentrated the representation there' : 'the representation is more spread there than in the reference'}.`;
  }
  return out;
}

vscode.postMessage({ type: 'ready' });
