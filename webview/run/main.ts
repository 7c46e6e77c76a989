/**
 * Run view: one run or several overlaid (one colour per run, a legend). Small multiples of every logged series:
 * each run's curve smoothed with TensorBoard's debiased EMA (slider; the raw curve faint behind), eval points, run
 * check markers on the curves they concern; a crosshair shared by all charts reads every run's value at a step; log
 * scale; x-axis by step or epoch. Below, each run's checks, checkpoints, settings and actions (SPINAL, checkpoint
 * comparison). The host sends the runs again whenever a live run changed: the controls keep their state.
 */
import { select, scaleLinear, scaleLog, line, axisBottom, axisLeft, pointer, type ScaleContinuousNumeric } from 'd3';
import { checkSeries } from '../../src/core/runs/checks.js';
import type { RunEvent, RunRequest, RunView } from '../../src/protocol/run.js';
import type { Comparison } from '../../src/core/contract.js';
import { emaSmooth, epochOf, valueAt, type Point } from '../../src/core/runs/curves.js';
import { el, hostChannel } from '../shared/vscodeApi.js';

const vscode = hostChannel<RunRequest, RunEvent>(onEvent);
interface ViewState {
  smoothing: number;
  log: boolean;
  xAxis: 'step' | 'epoch';
}
const saved = vscode.getState() as Partial<ViewState> | undefined;
const state: ViewState = { smoothing: saved?.smoothing ?? 0.6, log: saved?.log ?? false, xAxis: saved?.xAxis ?? 'step' };
let runs: RunView[] = [];
const comparisons = new Map<string, Comparison>();

const app = document.getElementById('app') as HTMLElement;
app.classList.add('dashboard');
const head = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens run');

// Smoothing: TensorBoard's slider (0 = raw, 0.99 = heaviest).
const smoothLabel = el('label', 'control');
smoothLabel.append(document.createTextNode('Smoothing '));
const slider = document.createElement('input');
slider.type = 'range';
slider.id = 'smoothing';
slider.min = '0';
slider.max = '0.99';
slider.step = '0.01';
slider.value = String(state.smoothing);
slider.setAttribute('aria-label', 'Smoothing (exponential moving average, TensorBoard debiased)');
const smoothValue = el('span', 'count', state.smoothing.toFixed(2));
smoothLabel.append(slider, smoothValue);
slider.addEventListener('input', () => {
  state.smoothing = Number(slider.value);
  smoothValue.textContent = state.smoothing.toFixed(2);
  save();
  drawCharts();
});

const logBox = document.createElement('vscode-checkbox');
logBox.id = 'log-scale';
logBox.textContent = 'Log scale';
if (state.log) logBox.setAttribute('checked', '');
logBox.addEventListener('change', () => {
  state.log = (logBox as unknown as { checked: boolean }).checked;
  save();
  drawCharts();
});

const xSelect = document.createElement('vscode-single-select');
xSelect.id = 'x-axis';
xSelect.setAttribute('aria-label', 'x-axis');
for (const [v, label] of [['step', 'x: step'], ['epoch', 'x: epoch']] as const) {
  const o = document.createElement('vscode-option');
  o.setAttribute('value', v);
  o.textContent = label;
  if (v === state.xAxis) o.setAttribute('selected', '');
  xSelect.append(o);
}
xSelect.addEventListener('change', () => {
  state.xAxis = (xSelect as unknown as { value: string }).value === 'epoch' ? 'epoch' : 'step';
  save();
  drawCharts();
});

head.append(title, smoothLabel, logBox, xSelect);
const legend = el('div', 'legend run-legend');
const note = el('p', 'muted chart-note');
const grid = el('section', 'charts');
const perRun = el('section', 'runs-detail');
app.append(head, legend, note, grid, perRun);

function save(): void {
  vscode.setState(state);
}

// Which check marks which series.
/** The series each run check reads (its table, core/runs/checks.ts): its steps are marked on their charts. */
const CHECK_SERIES = checkSeries();

/** Runs cycle through six theme chart colours (media/preflens.css .run-cN). */
const colourClass = (i: number): string => `run-c${i % 6}`;

function onEvent(e: RunEvent): void {
  if (e.type === 'runs') {
    runs = e.runs;
    render();
  } else if (e.type === 'comparison') {
    comparisons.set(e.dir, e.comparison);
    renderDetails();
  } else if (e.type === 'error') note.replaceChildren(el('span', 'check error', e.message));
}

function render(): void {
  const one = runs.length === 1 ? runs[0] : null;
  title.textContent = one ? `${one.name} · ${one.trainer} · ${one.steps} steps · ${one.format}` : `${runs.length} runs overlaid`;
  legend.replaceChildren();
  runs.forEach((r, i) => {
    const item = el('span', `legend-item ${colourClass(i)}`);
    item.dataset.run = r.dir;
    item.title = r.dir;
    item.append(el('span', 'run-swatch'), document.createTextNode(` ${r.name} `), el('span', 'muted', `${r.trainer} · ${r.steps} steps`));
    if (r.live) item.append(el('span', 'live-badge', 'live'));
    legend.append(item);
  });
  const hasEpochs = runs.some((r) => r.epochs.length > 0);
  xSelect.toggleAttribute('disabled', !hasEpochs);
  if (!hasEpochs && state.xAxis === 'epoch') state.xAxis = 'step';
  drawCharts();
  renderDetails();
}

/** A run's points on the chosen x-axis (by epoch: each step mapped through the run's step → epoch log). */
function onX(r: RunView, pts: Array<[number, number | null]>): Point[] {
  if (state.xAxis === 'step') return pts;
  const out: Point[] = [];
  for (const [s, v] of pts) {
    const e = epochOf(r.epochs, s);
    if (e !== null) out.push([e, v]);
  }
  return out;
}

type Crosshair = (x: number | null) => void;
let crosshairs: Crosshair[] = [];

function drawCharts(): void {
  grid.replaceChildren();
  crosshairs = [];
  const names = [...new Set(runs.flatMap((r) => [...Object.keys(r.series), ...Object.keys(r.eval)]))].filter((n) => n !== 'epoch');
  const notes: string[] = [];
  if (state.smoothing > 0) notes.push(`Curves smoothed by TensorBoard's debiased EMA (weight ${state.smoothing.toFixed(2)}); the raw curve is drawn faint behind.`);
  if (state.xAxis === 'epoch') {
    const without = runs.filter((r) => !r.epochs.length).map((r) => r.name);
    if (without.length) notes.push(`No epochs logged for ${without.join(', ')}: not drawn by epoch.`);
  }
  if (state.log) notes.push('Log scale: values ≤ 0 are not drawn.');
  note.textContent = notes.join(' ');
  for (const name of names) chart(name);
}

const W = 320;
const H = 170;
const M = { l: 48, r: 8, t: 8, b: 20 };

function chart(name: string): void {
  const fig = el('figure', 'chart');
  fig.dataset.series = name;
  fig.append(el('figcaption', '', name));
  grid.append(fig);
  const curves = runs.map((r, i) => {
    const train = onX(r, r.series[name] ?? []);
    return { r, i, train, smooth: state.smoothing > 0 ? emaSmooth(train, state.smoothing) : train, ev: onX(r, r.eval[name] ?? []) };
  });
  const ok = (v: number | null): v is number => v !== null && Number.isFinite(v) && (!state.log || v > 0);
  const pts = curves.flatMap((c) => [...c.train, ...c.ev]).filter((p) => ok(p[1])) as Array<[number, number]>;
  if (!pts.length) {
    fig.append(el('div', 'muted', state.log ? 'no positive finite values' : 'no finite values'));
    return;
  }
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const x = scaleLinear().domain([x0, x1 > x0 ? x1 : x0 + 1]).range([M.l, W - M.r]);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const y: ScaleContinuousNumeric<number, number> = state.log
    ? scaleLog().domain(lo === hi ? [lo / 2, hi * 2] : [lo, hi]).nice().range([H - M.b, M.t])
    : scaleLinear().domain(lo === hi ? [lo - (Math.abs(lo) * 0.1 || 1), hi + (Math.abs(hi) * 0.1 || 1)] : [lo, hi]).nice().range([H - M.b, M.t]);
  const svg = select(fig).append('svg').attr('width', W).attr('height', H).attr('role', 'img').attr('aria-label', name);
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(5));
  svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(4, '~g'));
  for (const c of curves) {
    const marks = c.r.checks.filter((k) => (CHECK_SERIES.get(k.id) ?? []).includes(name) || (k.id === 'non-finite' && [...(c.r.series[name] ?? []), ...(c.r.eval[name] ?? [])].some(([, v]) => v === null)));
    for (const k of marks) {
      const g = svg.append('g').attr('class', `check-mark ${k.severity}`).attr('data-check', k.id).attr('data-run', c.r.dir);
      for (const s of k.steps) {
        const sx = state.xAxis === 'step' ? s : epochOf(c.r.epochs, s);
        if (sx !== null) g.append('line').attr('x1', x(sx)).attr('x2', x(sx)).attr('y1', M.t).attr('y2', H - M.b);
      }
      g.append('title').text(`${runs.length > 1 ? `${c.r.name}: ` : ''}${k.id}: ${k.message} (${k.source})`);
    }
  }
  const ln = line<Point>()
    .defined((d) => ok(d[1]))
    .x((d) => x(d[0]))
    .y((d) => y(d[1] ?? 1));
  for (const c of curves) {
    const g = svg.append('g').attr('class', colourClass(c.i)).attr('data-run', c.r.dir);
    if (state.smoothing > 0) g.append('path').datum(c.train).attr('class', 'raw-line').attr('d', ln);
    g.append('path').datum(c.smooth).attr('class', 'train-line').attr('d', ln);
    g.append('g')
      .selectAll('circle')
      .data(c.ev.filter((p) => ok(p[1])))
      .join('circle')
      .attr('class', 'eval-pt')
      .attr('r', 3)
      .attr('cx', (d) => x(d[0]))
      .attr('cy', (d) => y(d[1] ?? 1))
      .append('title')
      .text((d) => `${c.r.name}: eval at ${state.xAxis} ${fmtX(d[0])}: ${d[1]}`);
  }
  // the crosshair: a vertical line on every chart, and every run's value at that x under each chart
  const hair = svg.append('line').attr('class', 'crosshair').attr('y1', M.t).attr('y2', H - M.b).attr('visibility', 'hidden');
  const readout = el('div', 'readout');
  fig.append(readout);
  crosshairs.push((at) => {
    if (at === null || at < x.domain()[0] || at > x.domain()[1]) {
      hair.attr('visibility', 'hidden');
      readout.replaceChildren();
      return;
    }
    hair.attr('x1', x(at)).attr('x2', x(at)).attr('visibility', 'visible');
    readout.replaceChildren(el('span', 'muted', `${state.xAxis} ${fmtX(at)}`));
    for (const c of curves) {
      const raw = valueAt(c.train, at);
      const sm = valueAt(c.smooth, at);
      const item = el('span', `reading-item ${colourClass(c.i)}`);
      item.dataset.run = c.r.dir;
      const v = sm?.[1];
      const text = raw === null ? '—' : v === null || v === undefined ? 'NaN' : state.smoothing > 0 ? `${fmt(v)} (raw ${raw[1] === null ? 'NaN' : fmt(raw[1])})` : fmt(v);
      item.append(el('span', 'run-swatch'), document.createTextNode(` ${c.r.name}: ${text}`));
      readout.append(item);
    }
  });
  svg
    .append('rect')
    .attr('class', 'hover-area')
    .attr('x', M.l)
    .attr('y', M.t)
    .attr('width', W - M.l - M.r)
    .attr('height', H - M.t - M.b)
    .on('mousemove', (ev: MouseEvent) => {
      const at = x.invert(pointer(ev)[0]);
      for (const f of crosshairs) f(at);
    })
    .on('mouseleave', () => {
      for (const f of crosshairs) f(null);
    });
}

const fmt = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));
const fmtX = (v: number): string => (state.xAxis === 'step' ? String(Math.round(v)) : v.toFixed(2));

/** Each run: its checks, actions, checkpoints, settings and comparison. */
function renderDetails(): void {
  perRun.replaceChildren();
  runs.forEach((r, i) => {
    const box = el('section', `run-detail ${colourClass(i)}`);
    box.dataset.run = r.dir;
    const h = el('h3', '');
    h.append(el('span', 'run-swatch'), document.createTextNode(` ${r.name} `), el('span', 'muted', `${r.trainer} · ${r.steps} steps · ${r.format}${r.live ? ' · live' : ''}`));
    const actions = el('div', 'actions');
    actions.append(button('SPINAL traces…', () => vscode.postMessage({ type: 'spinal', dir: r.dir })), button('Compare checkpoints on records…', () => vscode.postMessage({ type: 'compare', dir: r.dir })));
    if (r.rollouts) actions.append(button('Rollouts…', () => vscode.postMessage({ type: 'rollouts', dir: r.dir })));
    box.append(h, actions);
    const checks = el('div', 'run-checks');
    if (!r.checks.length) checks.append(el('p', 'muted', 'No run check fired.'));
    for (const c of r.checks) {
      const d = el('div', `check ${c.severity}`);
      d.append(el('code', '', c.id), document.createTextNode(` ${c.message} `), el('span', 'muted', `(${c.source}; steps ${c.steps.slice(0, 6).join(', ')}${c.steps.length > 6 ? ', …' : ''})`));
      checks.append(d);
    }
    box.append(checks);
    if (r.checkpoints.length) {
      box.append(el('h4', '', `Checkpoints (${r.checkpoints.length})`));
      const ul = el('ul', 'cps');
      for (const c of r.checkpoints) {
        const li = el('li');
        const a = el('a', '', `checkpoint-${c.step}`);
        a.tabIndex = 0;
        a.addEventListener('click', () => vscode.postMessage({ type: 'openCheckpoint', dir: r.dir, step: c.step }));
        li.append(a, el('span', 'muted', ` ${[c.hasOnnx ? 'ONNX' : '', c.hasSafetensors ? 'safetensors' : '', c.hasAdapter ? 'LoRA adapter' : ''].filter(Boolean).join(' · ')}`));
        ul.append(li);
      }
      box.append(ul);
    }
    renderSettings(box, r);
    const cmp = comparisons.get(r.dir);
    if (cmp) renderComparison(box, cmp);
    perRun.append(box);
  });
}

function button(label: string, fn: () => void): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('secondary', '');
  b.addEventListener('click', fn);
  return b;
}

/** The Trainer's args and model config from the TensorBoard text summaries: a key/value table per JSON object. */
function renderSettings(box: HTMLElement, r: RunView): void {
  for (const p of r.problems) box.append(el('div', 'check warning', `${p.file}: ${p.where ?? `byte ${p.offset ?? 0}`}: ${p.message}`));
  const entries = Object.entries(r.settings);
  if (!entries.length) return;
  box.append(el('h4', '', 'Settings (TensorBoard text summaries)'));
  for (const [name, text] of entries) {
    const d = el('details');
    d.append(el('summary', '', name));
    let obj: unknown = null;
    try {
      obj = JSON.parse(text);
    } catch {
      /* not JSON: shown as text */
    }
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      const t = el('table', 'settings');
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        const tr = el('tr');
        tr.append(el('td', 'muted', k), el('td', '', typeof v === 'string' ? v : JSON.stringify(v)));
        t.append(tr);
      }
      d.append(t);
    } else d.append(el('pre', '', text));
    box.append(d);
  }
}

function renderComparison(box: HTMLElement, c: Comparison): void {
  box.append(el('h4', '', `Margins across checkpoints (${c.records.length} records, ${c.flipped.length} flipped sign)`));
  const t = el('table', 'worst');
  const hr = el('tr');
  hr.append(el('th', '', 'line'), ...c.steps.map((s) => el('th', '', `step ${s}`)));
  t.append(hr);
  const rows = [...c.records].sort((a, b) => Number(b.flipped) - Number(a.flipped) || a.line - b.line);
  for (const r of rows) {
    const tr = el('tr', r.flipped ? 'row flipped' : 'row');
    tr.append(el('td', '', String(r.line)));
    r.margins.forEach((m, i) => {
      const td = el('td', m !== null && m < 0 ? 'neg' : '', m === null ? '—' : m.toFixed(3));
      td.title = `chosen logp ${r.chosenLogp[i]?.toFixed(2)} · rejected logp ${r.rejectedLogp[i]?.toFixed(2)}`;
      tr.append(td);
    });
    t.append(tr);
  }
  box.append(t);
}

vscode.postMessage({ type: 'ready' });
