/**
 * Token heatmap: each response token coloured by the selected metric (implicit reward by default), a hover card
 * per token with the policy's top-5 alternatives (fetched from the host on demand), the pair's numbers and flags.
 * Keyboard: j / → next record, k / ← previous, n / p next / previous flagged record, m next metric.
 */
import type { HeatmapEvent, HeatmapRequest, HeatRecordView, Alternative } from '../../src/protocol/heatmap.js';
import { HEAT_METRICS, type HeatMetric, metricValue } from '../shared/colors.js';
import type { ResponseOut, TokenOut } from '../../src/core/contract.js';
import { el, hostChannel } from '../shared/vscodeApi.js';
import { renderTokens, scaleFor, visibleWhitespace, background } from '../shared/heat.js';

interface ValueElement extends HTMLElement {
  value: string;
}

const vscode = hostChannel<HeatmapRequest, HeatmapEvent>(onEvent);
const app = document.getElementById('app') as HTMLElement;
let view: HeatRecordView | null = null;
let metric: HeatMetric = 'reward';
let altSeq = 0;
let hovered: { r: number; i: number } | null = null;
const metrics = Object.keys(HEAT_METRICS) as HeatMetric[];

const bar = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens Heatmap');
const btn = (label: string, aria: string, fn: () => void): HTMLElement => {
  const b = document.createElement('vscode-button');
  b.setAttribute('secondary', '');
  b.setAttribute('aria-label', aria);
  b.title = aria;
  b.textContent = label;
  b.addEventListener('click', fn);
  return b;
};
const metricSel = document.createElement('vscode-single-select') as ValueElement;
metricSel.id = 'metric';
for (const m of metrics) {
  const o = document.createElement('vscode-option');
  o.setAttribute('value', m);
  o.textContent = HEAT_METRICS[m].label;
  metricSel.append(o);
}
metricSel.addEventListener('change', () => {
  metric = (metricSel.value as HeatMetric) || 'reward';
  render();
});
bar.append(
  title,
  btn('◀', 'Previous record (k)', () => nav('prev')),
  btn('▶', 'Next record (j)', () => nav('next')),
  btn('◀ flagged', 'Previous flagged record (p)', () => nav('prevFlagged')),
  btn('flagged ▶', 'Next flagged record (n)', () => nav('nextFlagged')),
  metricSel,
  btn('Reveal line', 'Reveal the record in the editor', () => vscode.postMessage({ type: 'reveal' })),
);
const body = el('div', 'heat-body');
const card = el('div', 'card');
card.hidden = true;
card.setAttribute('role', 'tooltip');
app.append(bar, body, card);
const status = el('div', 'status', 'Score records, then open a record’s heatmap.');
body.append(status);

function nav(direction: 'next' | 'prev' | 'nextFlagged' | 'prevFlagged'): void {
  vscode.postMessage({ type: 'navigate', direction });
}

function onEvent(e: HeatmapEvent): void {
  if (e.type === 'record') {
    view = e.view;
    if (!view.scored.chosen?.tokens[0]?.reward && view.scored.chosen?.tokens[0]?.reward !== 0 && metric === 'reward') metric = 'logp';
    metricSel.value = metric;
    render();
  } else if (e.type === 'alternatives') {
    if (e.seq !== altSeq) return;
    const box = card.querySelector('.alts');
    if (!box) return;
    box.replaceChildren();
    if (e.error) box.append(el('div', 'muted', e.error));
    for (const a of e.items) box.append(altRow(a));
  }
}

function altRow(a: Alternative): HTMLElement {
  const row = el('div', 'alt');
  row.append(el('code', '', visibleWhitespace(a.text)), el('span', 'num', `${(a.prob * 100).toFixed(1)}%`), el('span', 'muted', `#${a.id}`));
  return row;
}

const fmt = (x: number | undefined, d = 4): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

function responses(v: HeatRecordView): ResponseOut[] {
  if (v.scored.chosen && v.scored.rejected) return [v.scored.chosen, v.scored.rejected];
  return v.scored.candidates ?? [];
}

function render(): void {
  if (!view) return;
  const v = view;
  const s = v.scored;
  const rs = responses(v);
  title.textContent = `${v.file} · line ${s.line} · ${v.position + 1} of ${v.total} scored`;
  const frag = document.createDocumentFragment();
  // Numbers of the pair.
  const nums = el('section', 'nums');
  const kv = (k: string, val: string, cls = ''): void => {
    const d = el('div', `kv ${cls}`);
    d.append(el('span', 'k', k), el('span', 'v', val));
    nums.append(d);
  };
  // The loss the policy was trained with (its run config names it) comes first.
  const trained = v.loss ? (s as unknown as Record<string, unknown>)[v.loss.field] : undefined;
  if (v.loss && typeof trained === 'number') kv(`${v.loss.type} loss (trained)`, fmt(trained), 'trained-loss');
  if (s.margin !== undefined && s.chosen && s.rejected) {
    kv('margin', fmt(s.margin), s.margin < 0 ? 'bad' : 'good');
    kv('DPO loss', fmt(s.dpo_loss));
    kv('implicit accuracy', s.implicit_accuracy ? 'yes' : 'no');
    kv('reward chosen', fmt(s.chosen.reward));
    kv('reward rejected', fmt(s.rejected.reward));
  }
  rs.forEach((r, i) => kv(`mean logp ${v.labels[i] ?? i}`, fmt(r.mean_logp)));
  if (v.convention) kv('tokenized as', v.convention, 'convention');
  frag.append(nums);
  if (s.flags.length) {
    const ul = el('ul', 'flags');
    for (const f of s.flags) {
      const li = el('li');
      const info = v.flagInfo[f];
      li.append(el('code', '', f), document.createTextNode(` ${info?.text ?? ''} `), el('span', 'muted', `(${info?.source ?? ''})`));
      ul.append(li);
    }
    frag.append(ul);
  }
  // What TRL warns about when it tokenizes this record (its text is PrefLens', shown as text all the same).
  if (s.warning) frag.append(el('p', 'tokenize-warning', `⚠ ${s.warning}`));
  // Legend.
  const m = HEAT_METRICS[metric];
  const scale = scaleFor(rs.map((r) => r.tokens), metric, m.diverging);
  const legend = el('div', 'legend');
  const grad = el('div', m.diverging ? 'grad div' : 'grad seq');
  const stops = m.diverging ? [-1, -0.5, 0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1];
  for (const p of stops) {
    const sw = el('span', 'swatch');
    sw.style.backgroundColor = background(scale, p);
    grad.append(sw);
  }
  legend.append(
    el('span', 'muted', m.diverging ? `−${fmt(scale.hi, 3)}` : fmt(scale.lo, 2)),
    grad,
    el('span', 'muted', m.diverging ? `+${fmt(scale.hi, 3)}` : fmt(scale.hi, 2)),
    el('span', 'metric-note', `${m.label}${m.diverging ? ', centred at 0, clipped at the 98th percentile of |value|' : ', 2nd–98th percentile'} — ${m.note}`),
  );
  frag.append(legend);
  // Prompt (muted) and the responses.
  const prompt = el('details', 'prompt');
  prompt.append(el('summary', '', `Prompt (${v.prompt.length.toLocaleString('en-US')} chars)`), el('pre', 'text', v.prompt));
  if (v.prompt.length < 1500) prompt.open = true;
  frag.append(prompt);
  const grid = el('section', rs.length === 2 && s.chosen ? 'cands pair' : 'cands stack');
  rs.forEach((r, i) => {
    const col = el('article', `cand ${i === 0 && s.chosen ? 'chosen' : i === 1 && s.chosen ? 'rejected' : ''}`);
    const h = el('header', 'cand-h');
    h.append(el('span', 'cand-role', v.labels[i] ?? `#${i + 1}`), el('span', 'cand-meta', `${r.tokens.length} tokens · logp ${fmt(r.logp, 2)}${r.reward !== undefined ? ` · reward ${fmt(r.reward)}` : ''}${r.truncated ? ' · truncated' : ''}`));
    const text = responseText(r);
    const pre = el('pre', 'text heat');
    pre.dataset.r = String(i);
    pre.append(renderTokens(text, r.tokens, metric, scale));
    col.append(h, pre);
    grid.append(col);
  });
  frag.append(grid);
  body.replaceChildren(frag);
}

/** The response text, rebuilt from token offsets (tokens carry their own substring). */
function responseText(r: ResponseOut): string {
  let out = '';
  for (const t of r.tokens) {
    if (t.end <= out.length) continue;
    if (t.start > out.length) out += ' '.repeat(t.start - out.length);
    out += t.text.slice(out.length - t.start);
  }
  return out;
}

function tokenAt(target: EventTarget | null): { r: number; i: number; t: TokenOut; el: HTMLElement } | null {
  const span = (target as HTMLElement | null)?.closest?.('.tok') as HTMLElement | null;
  const pre = span?.parentElement;
  if (!span || !pre || !view) return null;
  const r = Number(pre.dataset.r);
  const i = Array.prototype.indexOf.call(pre.children, span);
  const t = responses(view)[r]?.tokens[i];
  return t ? { r, i, t, el: span } : null;
}

body.addEventListener('mouseover', (ev) => {
  const hit = tokenAt(ev.target);
  if (!hit) return;
  if (hovered && hovered.r === hit.r && hovered.i === hit.i) return;
  hovered = { r: hit.r, i: hit.i };
  showCard(hit.t, hit.r, hit.i, hit.el);
});
body.addEventListener('mouseleave', () => {
  card.hidden = true;
  hovered = null;
});

function showCard(t: TokenOut, r: number, i: number, anchor: HTMLElement): void {
  card.replaceChildren();
  card.append(el('div', 'card-title', `“${visibleWhitespace(t.text)}”`));
  const grid = el('div', 'card-grid');
  const row = (k: string, val: string): void => {
    grid.append(el('span', 'k', k), el('span', 'v', val));
  };
  row('token id', String(t.id));
  row('position', `${i + 1} (chars ${t.start}–${t.end})`);
  row('logp (policy)', fmt(t.logp));
  row('logp (reference)', fmt(t.ref_logp));
  row('reward β·Δ', fmt(t.reward, 5));
  row('entropy', fmt(t.entropy));
  row('rank', String(t.rank));
  row('top-10 mass', fmt(t.topk_mass));
  row(HEAT_METRICS[metric].label, fmt(metricValue(t, metric), 5));
  card.append(grid, el('div', 'card-sub', 'Top-5 alternatives (policy)'));
  const alts = el('div', 'alts');
  alts.append(el('div', 'muted', 'loading…'));
  card.append(alts);
  const rect = anchor.getBoundingClientRect();
  card.hidden = false;
  const top = rect.bottom + 6 + card.offsetHeight > window.innerHeight ? rect.top - card.offsetHeight - 6 : rect.bottom + 6;
  card.style.top = `${Math.max(4, top)}px`;
  card.style.left = `${Math.max(4, Math.min(rect.left, window.innerWidth - card.offsetWidth - 8))}px`;
  altSeq++;
  vscode.postMessage({ type: 'alternatives', response: r, token: i, seq: altSeq });
}

window.addEventListener('keydown', (ev) => {
  if ((ev.target as HTMLElement).closest?.('vscode-single-select')) return;
  const k = ev.key;
  if (k === 'j' || k === 'ArrowRight') nav('next');
  else if (k === 'k' || k === 'ArrowLeft') nav('prev');
  else if (k === 'n') nav('nextFlagged');
  else if (k === 'p') nav('prevFlagged');
  else if (k === 'm') {
    metric = metrics[(metrics.indexOf(metric) + 1) % metrics.length];
    metricSel.value = metric;
    render();
  } else if (k === 'Escape') card.hidden = true;
  else return;
  ev.preventDefault();
});

vscode.postMessage({ type: 'ready' });
