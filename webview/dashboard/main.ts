/**
 * Margin dashboard: histograms of margins, chosen/rejected rewards and logp shifts; margin vs length difference
 * (canvas above 3,000 points); implicit accuracy and mean loss; counts per flag; a sortable table of the worst
 * pairs. Brushing the margin histogram filters the table; clicking a point or a row opens that record's heatmap.
 */
import { select, scaleLinear, brushX, axisBottom, axisLeft, type ScaleLinear } from 'd3';
import type { DashboardEvent, DashboardRequest } from '../../src/protocol/dashboard.js';
import type { DashboardColumns, Histogram } from '../../src/core/contract.js';
import { sortedRows } from '../shared/rows.js';
import { el, hostChannel } from '../shared/vscodeApi.js';

const vscode = hostChannel<DashboardRequest, DashboardEvent>(onEvent);
const app = document.getElementById('app') as HTMLElement;
let data: Extract<DashboardEvent, { type: 'data' }> | null = null;
let brush: [number, number] | null = null;
type SortKey = 'margin' | 'loss' | 'chosenReward' | 'rejectedReward' | 'lengthDiff';
let sortKey: SortKey = 'margin';
let descending = false;

const head = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens margins');
const exportBtn = document.createElement('vscode-button');
exportBtn.textContent = 'Export filtered records…';
exportBtn.setAttribute('secondary', '');
exportBtn.addEventListener('click', () => vscode.postMessage({ type: 'export' }));
head.append(title, exportBtn);
const cards = el('section', 'cards');
const charts = el('section', 'charts');
const tableBox = el('section', 'table-box');
app.append(head, cards, charts, tableBox);
app.classList.add('dashboard');

function onEvent(e: DashboardEvent): void {
  data = e;
  render();
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

function render(): void {
  if (!data) return;
  const d = data;
  title.textContent = `${d.file} · ${d.summary.pairs.toLocaleString('en-US')} scored pairs`;
  cards.replaceChildren();
  const card = (k: string, v: string, cls = ''): void => {
    const c = el('div', `stat ${cls}`);
    c.append(el('div', 'v', v), el('div', 'k', k));
    cards.append(c);
  };
  card('implicit accuracy', `${(d.summary.implicitAccuracy * 100).toFixed(1)}%`);
  card('mean DPO loss', fmt(d.summary.meanLoss));
  card('mean margin', fmt(d.summary.meanMargin));
  for (const [f, n] of Object.entries(d.summary.flagCounts).sort((a, b) => b[1] - a[1])) {
    const c = el('div', 'stat flag');
    c.title = `${d.flagInfo[f]?.text ?? ''} (${d.flagInfo[f]?.source ?? ''})`;
    c.append(el('div', 'v', n.toLocaleString('en-US')), el('div', 'k', f));
    cards.append(c);
  }
  charts.replaceChildren();
  histChart('Margins (drag to filter the table)', [d.histograms.margin], ['--pl-seq'], true);
  histChart('Rewards: chosen vs rejected', [d.histograms.chosenReward, d.histograms.rejectedReward], ['--pl-pos', '--pl-neg'], false, ['chosen', 'rejected']);
  histChart('Logp shift (policy − reference)', [d.histograms.chosenShift, d.histograms.rejectedShift], ['--pl-pos', '--pl-neg'], false, ['chosen', 'rejected']);
  scatter(d.columns);
  table();
}

const W = 360;
const H = 170;
const M = { l: 36, r: 8, t: 18, b: 22 };

function histChart(label: string, hs: Histogram[], colours: string[], brushable: boolean, names?: string[]): void {
  const box = el('figure', 'chart');
  box.append(el('figcaption', '', label));
  charts.append(box);
  const lo = Math.min(...hs.map((h) => h.lo));
  const hi = Math.max(...hs.map((h) => h.lo + h.width * h.counts.length));
  const x = scaleLinear().domain([lo, hi]).range([M.l, W - M.r]);
  const y = scaleLinear().domain([0, Math.max(1, ...hs.flatMap((h) => h.counts))]).nice().range([H - M.b, M.t]);
  const svg = select(box).append('svg').attr('width', W).attr('height', H).attr('role', 'img').attr('aria-label', label);
  hs.forEach((h, k) => {
    svg.append('g').selectAll('rect').data(h.counts).join('rect')
      .attr('x', (_c, i) => x(h.lo + i * h.width))
      .attr('width', Math.max(1, x(h.lo + h.width) - x(h.lo) - 1))
      .attr('y', (c) => y(c))
      .attr('height', (c) => y(0) - y(c))
      .attr('class', `bar b${k}`)
      .style('fill', `var(${colours[k]})`)
      .style('opacity', hs.length > 1 ? 0.6 : 0.9);
  });
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(6));
  svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(4));
  if (names) names.forEach((n, k) => svg.append('text').attr('x', W - M.r - 70).attr('y', M.t + 12 * k).attr('class', 'lg').style('fill', `var(${colours[k]})`).text(n));
  if (brushable) {
    svg.append('line').attr('x1', x(0)).attr('x2', x(0)).attr('y1', M.t).attr('y2', H - M.b).attr('class', 'zero');
    const b = brushX().extent([[M.l, M.t], [W - M.r, H - M.b]]).on('end', (ev: { selection: [number, number] | null }) => {
      brush = ev.selection ? [x.invert(ev.selection[0]), x.invert(ev.selection[1])] : null;
      table();
    });
    const g = svg.append('g').attr('class', 'brush').call(b);
    if (brush) g.call(b.move, [x(brush[0]), x(brush[1])]);
  }
}

function scatter(c: DashboardColumns): void {
  const box = el('figure', 'chart');
  box.append(el('figcaption', '', 'Margin vs length difference (chosen − rejected tokens) · click a point'));
  charts.append(box);
  const n = c.margin.length;
  const ext = (a: number[]): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of a) if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return lo <= hi ? (lo === hi ? [lo - 1, hi + 1] : [lo, hi]) : [-1, 1];
  };
  const x: ScaleLinear<number, number> = scaleLinear().domain(ext(c.lengthDiff)).nice().range([M.l, W - M.r]);
  const y: ScaleLinear<number, number> = scaleLinear().domain(ext(c.margin)).nice().range([H - M.b, M.t]);
  const useCanvas = n > 3000;
  const wrap = el('div', 'plot');
  wrap.style.width = `${W}px`;
  wrap.style.height = `${H}px`;
  box.append(wrap);
  const svg = select(wrap).append('svg').attr('width', W).attr('height', H).attr('class', 'overlay');
  if (useCanvas) {
    const canvas = document.createElement('canvas');
    const dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    canvas.style.width = `${W}px`;
    canvas.style.height = `${H}px`;
    canvas.className = 'scatter-canvas';
    wrap.prepend(canvas);
    const ctx = canvas.getContext('2d');
    if (ctx) {
      ctx.scale(dpr, dpr);
      const cs = getComputedStyle(document.body);
      const pos = cs.getPropertyValue('--pl-pos').trim() || '#3fb950';
      const neg = cs.getPropertyValue('--pl-neg').trim() || '#f85149';
      ctx.globalAlpha = 0.5;
      for (let i = 0; i < n; i++) {
        ctx.fillStyle = c.margin[i] < 0 ? neg : pos;
        ctx.fillRect(x(c.lengthDiff[i]) - 1, y(c.margin[i]) - 1, 2, 2);
      }
    }
  } else {
    svg.append('g').selectAll('circle').data(c.margin.map((_m, i) => i)).join('circle')
      .attr('cx', (i) => x(c.lengthDiff[i])).attr('cy', (i) => y(c.margin[i])).attr('r', 3)
      .attr('class', (i) => (c.margin[i] < 0 ? 'pt neg' : 'pt pos'))
      .attr('data-line', (i) => c.line[i])
      .append('title').text((i) => `line ${c.line[i]}: margin ${fmt(c.margin[i])}, length diff ${c.lengthDiff[i]}`);
  }
  svg.append('line').attr('x1', M.l).attr('x2', W - M.r).attr('y1', y(0)).attr('y2', y(0)).attr('class', 'zero');
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(6));
  svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(4));
  svg.on('click', (ev: MouseEvent) => {
    const [px, py] = [ev.offsetX, ev.offsetY];
    let best = -1;
    let bd = 100; // within 10 px
    for (let i = 0; i < n; i++) {
      const dd = (x(c.lengthDiff[i]) - px) ** 2 + (y(c.margin[i]) - py) ** 2;
      if (dd < bd) {
        bd = dd;
        best = i;
      }
    }
    if (best >= 0) vscode.postMessage({ type: 'open', line: c.line[best], sub: c.sub[best] });
  });
}

function table(): void {
  if (!data) return;
  const c = data.columns;
  const rows = sortedRows(c, sortKey, descending, brush, 200);
  tableBox.replaceChildren();
  tableBox.append(el('h3', '', brush ? `Pairs with margin in [${fmt(brush[0])}, ${fmt(brush[1])}] (${rows.length}${rows.length === 200 ? '+' : ''} shown)` : `Worst pairs (${Math.min(200, c.margin.length)} shown)`));
  const t = el('table', 'worst');
  const hr = el('tr');
  const cols: Array<[string, SortKey | null]> = [['line', null], ['margin', 'margin'], ['DPO loss', 'loss'], ['reward chosen', 'chosenReward'], ['reward rejected', 'rejectedReward'], ['Δ tokens', 'lengthDiff'], ['flags', null]];
  for (const [label, key] of cols) {
    const th = el('th', key === sortKey ? 'sorted' : '', label + (key === sortKey ? (descending ? ' ▼' : ' ▲') : ''));
    if (key) {
      th.tabIndex = 0;
      th.addEventListener('click', () => {
        if (sortKey === key) descending = !descending;
        else {
          sortKey = key;
          descending = key === 'loss';
        }
        table();
      });
    }
    hr.append(th);
  }
  t.append(hr);
  for (const i of rows) {
    const tr = el('tr', 'row');
    tr.tabIndex = 0;
    tr.dataset.line = String(c.line[i]);
    for (const v of [String(c.line[i]), fmt(c.margin[i]), fmt(c.loss[i]), fmt(c.chosenReward[i]), fmt(c.rejectedReward[i]), String(c.lengthDiff[i]), c.flags[i].join(', ')]) tr.append(el('td', '', v));
    const open = (): void => vscode.postMessage({ type: 'open', line: c.line[i], sub: c.sub[i] });
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') open();
    });
    t.append(tr);
  }
  tableBox.append(t);
}

vscode.postMessage({ type: 'ready' });
