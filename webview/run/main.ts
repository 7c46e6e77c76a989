/**
 * Run view: small multiples of the logged series (train line, eval points), run-check markers on the curves they
 * concern (hover explains), the checkpoint list, SPINAL and checkpoint-comparison actions and their results.
 */
import { select, scaleLinear, line, axisBottom, axisLeft } from 'd3';
import type { RunEvent, RunRequest, RunView } from '../../src/protocol/run.js';
import type { Comparison } from '../../src/core/contract.js';
import { el, hostChannel } from '../shared/vscodeApi.js';

const vscode = hostChannel<RunRequest, RunEvent>(onEvent);
const app = document.getElementById('app') as HTMLElement;
app.classList.add('dashboard');
const head = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens run');
const mk = (label: string, fn: () => void): HTMLElement => {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('secondary', '');
  b.addEventListener('click', fn);
  return b;
};
head.append(title, mk('SPINAL traces…', () => vscode.postMessage({ type: 'spinal' })), mk('Compare checkpoints on records…', () => vscode.postMessage({ type: 'compare' })));
const checks = el('section', 'run-checks');
const grid = el('section', 'charts');
const cps = el('section', 'table-box');
const cmp = el('section', 'table-box');
const settings = el('section', 'table-box');
app.append(head, checks, grid, cps, settings, cmp);

// Which check marks which series.
const CHECK_SERIES: Record<string, string[]> = {
  'non-finite': [],
  'rejected-collapse': ['logps/rejected'],
  'likelihood-displacement': ['logps/chosen', 'rewards/margins'],
  collapse: ['loss', 'rewards/margins', 'grad_norm'],
  'over-optimisation': ['rewards/accuracies', 'rewards/margins'],
  'grpo-no-signal': ['frac_reward_zero_std'],
  'lr-schedule': ['learning_rate'],
};

function onEvent(e: RunEvent): void {
  if (e.type === 'run') render(e.run);
  else if (e.type === 'comparison') renderComparison(e.comparison);
}

function render(r: RunView): void {
  title.textContent = `${r.name} · ${r.trainer} · ${r.steps} steps · ${r.format}`;
  checks.replaceChildren();
  if (!r.checks.length) checks.append(el('p', 'muted', 'No run check fired.'));
  for (const c of r.checks) {
    const d = el('div', `check ${c.severity}`);
    d.append(el('code', '', c.id), document.createTextNode(` ${c.message} `), el('span', 'muted', `(${c.source}; steps ${c.steps.slice(0, 6).join(', ')}${c.steps.length > 6 ? ', …' : ''})`));
    checks.append(d);
  }
  grid.replaceChildren();
  const names = [...new Set([...Object.keys(r.series), ...Object.keys(r.eval)])].filter((n) => n !== 'epoch');
  for (const name of names) chart(name, r.series[name] ?? [], r.eval[name] ?? [], r.checks.filter((c) => (CHECK_SERIES[c.id] ?? []).includes(name) || (c.id === 'non-finite' && [...(r.series[name] ?? []), ...(r.eval[name] ?? [])].some(([, v]) => v === null))));
  cps.replaceChildren(el('h3', '', `Checkpoints (${r.checkpoints.length})`));
  const ul = el('ul', 'cps');
  for (const c of r.checkpoints) {
    const li = el('li');
    const a = el('a', '', `checkpoint-${c.step}`);
    a.tabIndex = 0;
    a.addEventListener('click', () => vscode.postMessage({ type: 'openCheckpoint', step: c.step }));
    li.append(a, el('span', 'muted', ` ${[c.hasOnnx ? 'ONNX' : '', c.hasSafetensors ? 'safetensors' : '', c.hasAdapter ? 'LoRA adapter' : ''].filter(Boolean).join(' · ')}`));
    ul.append(li);
  }
  cps.append(ul);
  renderSettings(r);
}

/** The Trainer's args and model config from the TensorBoard text summaries: a key/value table per JSON object. */
function renderSettings(r: RunView): void {
  settings.replaceChildren();
  for (const p of r.problems) settings.append(el('div', 'check warning', `${p.file}: byte ${p.offset}: ${p.message}`));
  const entries = Object.entries(r.settings);
  if (!entries.length) return;
  settings.append(el('h3', '', 'Settings (TensorBoard text summaries)'));
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
    settings.append(d);
  }
}

const W = 300;
const H = 150;
const M = { l: 44, r: 8, t: 8, b: 20 };

function chart(name: string, train: Array<[number, number | null]>, ev: Array<[number, number | null]>, marks: RunView['checks']): void {
  const fig = el('figure', 'chart');
  fig.dataset.series = name;
  fig.append(el('figcaption', '', name));
  grid.append(fig);
  const pts = [...train, ...ev].filter(([, v]) => v !== null) as Array<[number, number]>;
  if (!pts.length) {
    fig.append(el('div', 'muted', 'no finite values'));
    return;
  }
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x = scaleLinear().domain([Math.min(...xs), Math.max(...xs) || 1]).range([M.l, W - M.r]);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const y = scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).nice().range([H - M.b, M.t]);
  const svg = select(fig).append('svg').attr('width', W).attr('height', H).attr('role', 'img').attr('aria-label', name);
  svg.append('g').attr('transform', `translate(0,${H - M.b})`).attr('class', 'axis').call(axisBottom(x).ticks(5));
  svg.append('g').attr('transform', `translate(${M.l},0)`).attr('class', 'axis').call(axisLeft(y).ticks(4));
  for (const c of marks) {
    const g = svg.append('g').attr('class', `check-mark ${c.severity}`).attr('data-check', c.id);
    for (const s of c.steps) g.append('line').attr('x1', x(s)).attr('x2', x(s)).attr('y1', M.t).attr('y2', H - M.b);
    g.append('title').text(`${c.id}: ${c.message} (${c.source})`);
  }
  const ln = line<[number, number | null]>()
    .defined((d) => d[1] !== null)
    .x((d) => x(d[0]))
    .y((d) => y(d[1] ?? 0));
  svg.append('path').datum(train).attr('class', 'train-line').attr('d', ln);
  svg.append('g').selectAll('circle').data(ev.filter(([, v]) => v !== null)).join('circle').attr('class', 'eval-pt').attr('r', 3).attr('cx', (d) => x(d[0])).attr('cy', (d) => y(d[1] ?? 0)).append('title').text((d) => `eval at step ${d[0]}: ${d[1]}`);
}

function renderComparison(c: Comparison): void {
  cmp.replaceChildren(el('h3', '', `Margins across checkpoints (${c.records.length} records, ${c.flipped.length} flipped sign)`));
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
  cmp.append(t);
}

vscode.postMessage({ type: 'ready' });
