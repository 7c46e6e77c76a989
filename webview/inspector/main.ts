/**
 * Inspector webview: a virtualised record list (filter by check, search, jump to line) and one record view
 * (prompt, candidates side by side with the differing spans marked). All dataset text is set as text nodes.
 */
import { select, scaleBand, scaleLinear } from 'd3';
import type { InspectorEvent, InspectorRequest, DatasetSummary, RowInfo, RecordView } from '../../src/protocol/inspector.js';
import type { Candidate, CheckName, Message, Span } from '../../src/core/contract.js';
import { el, hostChannel, initData } from '../shared/vscodeApi.js';

const ROW_H = 24;
const CHUNK = 100;

interface Init {
  filter: CheckName | null;
  index: number | null;
}

interface ValueElement extends HTMLElement {
  value: string;
}

const init = initData<Init>();
let summary: DatasetSummary | null = null;
let bits: Record<CheckName, number> | null = null;
let total = 0;
let seq = 0;
let selectedIndex = init.index ?? -1;
let selectedPos = -1;
const rows = new Map<number, RowInfo>();
const requested = new Set<number>();

const vscode = hostChannel<InspectorRequest, InspectorEvent>(onEvent);

// ---------- layout ----------
const app = document.getElementById('app') as HTMLElement;
const bar = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens Inspector');
const filterSel = document.createElement('vscode-single-select') as ValueElement;
filterSel.id = 'filter';
filterSel.setAttribute('aria-label', 'Filter by check');
const search = document.createElement('vscode-textfield') as ValueElement;
search.id = 'search';
search.setAttribute('placeholder', 'Search text…');
search.setAttribute('aria-label', 'Search records');
const jump = document.createElement('vscode-textfield') as ValueElement;
jump.id = 'jump';
jump.setAttribute('placeholder', 'Line');
jump.setAttribute('aria-label', 'Jump to line');
jump.className = 'jump';
const count = el('span', 'count', '');
// the records shown (filter and search) to a new file, in file order or ordered by a margin: the host asks how
const exportBtn = document.createElement('vscode-button');
exportBtn.id = 'export';
exportBtn.setAttribute('secondary', '');
exportBtn.setAttribute('title', 'Export the records shown to a new JSON Lines file, in file order or ordered by a margin (a curriculum)');
exportBtn.textContent = 'Export shown…';
exportBtn.addEventListener('click', () => vscode.postMessage({ type: 'exportShown' }));
bar.append(title, filterSel, search, jump, count, exportBtn);

const main = el('div', 'split');
const list = el('div', 'list');
list.tabIndex = 0;
list.setAttribute('role', 'listbox');
list.setAttribute('aria-label', 'Records');
const spacer = el('div', 'spacer');
list.append(spacer);
const detail = el('section', 'detail');
detail.setAttribute('aria-live', 'polite');
main.append(list, detail);
const status = el('div', 'status', 'Waiting for the scan…');
app.append(bar, status, main);

// ---------- host events ----------
function onEvent(e: InspectorEvent): void {
  switch (e.type) {
    case 'scanning':
      status.textContent = e.message;
      status.hidden = false;
      return;
    case 'error':
      status.textContent = e.message;
      status.hidden = false;
      status.classList.add('error');
      return;
    case 'summary':
      status.hidden = true;
      status.classList.remove('error');
      summary = e.summary;
      bits = e.bits;
      jump.setAttribute('placeholder', summary.unit === 'row' ? 'Row' : 'Line');
      renderSummary();
      runQuery();
      return;
    case 'queryResult':
      if (e.seq !== seq) return;
      total = e.total;
      rows.clear();
      requested.clear();
      spacer.style.height = `${total * ROW_H}px`;
      count.textContent = e.searching ? 'searching…' : `${total.toLocaleString('en-US')} shown`;
      renderRows();
      if (selectedIndex >= 0 && !e.searching) vscode.postMessage({ type: 'select', index: selectedIndex, reveal: false });
      else if (!e.searching && total === 0) showOverview();
      return;
    case 'rows':
      if (e.seq !== seq) return;
      e.rows.forEach((r, k) => rows.set(e.start + k, r));
      renderRows();
      return;
    case 'record':
      selectedIndex = e.index;
      if (e.position >= 0) selectedPos = e.position;
      renderRecord(e.view, e.error);
      renderRows();
      return;
    case 'selectIndex':
      if (e.index >= 0) {
        selectedIndex = e.index;
        if (e.position >= 0) {
          selectedPos = e.position;
          scrollToPos(e.position);
        }
      }
      renderRows();
      return;
  }
}

function renderSummary(): void {
  if (!summary || !bits) return;
  title.textContent = `${summary.file} · ${summary.formatLabel} · ${summary.records.toLocaleString('en-US')} records`;
  const prev = filterSel.value || init.filter || 'all';
  filterSel.replaceChildren();
  const opt = (value: string, label: string): void => {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', value);
    o.textContent = label;
    filterSel.append(o);
  };
  const flagged = Object.values(summary.counts).reduce((s, x) => s + x, 0);
  opt('all', `All records (${summary.records.toLocaleString('en-US')})`);
  opt('flagged', `Flagged (${flagged.toLocaleString('en-US')} flags)`);
  for (const [c, n] of Object.entries(summary.counts)) if (n > 0) opt(c, `${c} (${n})`);
  filterSel.value = prev;
  init.filter = null;
}

function runQuery(): void {
  seq++;
  const f = (filterSel.value || 'all') as CheckName | 'all' | 'flagged';
  vscode.postMessage({ type: 'query', filter: f, search: search.value ?? '', seq });
}

// ---------- virtual list ----------
function scrollToPos(p: number): void {
  const top = p * ROW_H;
  if (top < list.scrollTop || top + ROW_H > list.scrollTop + list.clientHeight) list.scrollTop = Math.max(0, top - list.clientHeight / 2);
}

let raf = 0;
list.addEventListener('scroll', () => {
  if (!raf) raf = requestAnimationFrame(() => {
    raf = 0;
    renderRows();
  });
});

function renderRows(): void {
  const first = Math.max(0, Math.floor(list.scrollTop / ROW_H) - 5);
  const last = Math.min(total, Math.ceil((list.scrollTop + list.clientHeight) / ROW_H) + 5);
  for (let c = Math.floor(first / CHUNK) * CHUNK; c < last; c += CHUNK) {
    if (!rows.has(c) && !requested.has(c)) {
      requested.add(c);
      vscode.postMessage({ type: 'rows', start: c, count: CHUNK, seq });
    }
  }
  const frag = document.createDocumentFragment();
  for (let p = first; p < last; p++) {
    const r = rows.get(p);
    const row = el('div', 'row');
    row.style.top = `${p * ROW_H}px`;
    row.dataset.pos = String(p);
    row.setAttribute('role', 'option');
    if (r) {
      row.dataset.index = String(r.index);
      if (r.index === selectedIndex) {
        row.classList.add('selected');
        row.setAttribute('aria-selected', 'true');
      }
      row.append(el('span', 'ln', String(r.line)));
      const dots = el('span', 'dots');
      if (bits) for (const [c, b] of Object.entries(bits)) if (r.flags & b) {
        const dot = el('span', `dot ${c}`);
        dot.title = c;
        dots.append(dot);
      }
      row.append(dots, el('span', r.error ? 'pv err' : 'pv', r.preview));
    } else row.append(el('span', 'ln', '…'));
    frag.append(row);
  }
  list.replaceChildren(spacer, frag);
}

list.addEventListener('click', (ev) => {
  const row = (ev.target as HTMLElement).closest('.row') as HTMLElement | null;
  if (!row?.dataset.index) return;
  selectPos(Number(row.dataset.pos), Number(row.dataset.index));
});

function selectPos(p: number, index: number): void {
  selectedPos = p;
  selectedIndex = index;
  renderRows();
  vscode.postMessage({ type: 'select', index, reveal: true });
}

list.addEventListener('keydown', (ev) => {
  const step: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 20, PageUp: -20, j: 1, k: -1 };
  let p = selectedPos;
  if (ev.key in step) p = Math.max(0, Math.min(total - 1, (p < 0 ? 0 : p) + step[ev.key]));
  else if (ev.key === 'Home') p = 0;
  else if (ev.key === 'End') p = total - 1;
  else return;
  ev.preventDefault();
  scrollToPos(p);
  const r = rows.get(p);
  if (r) selectPos(p, r.index);
  else {
    // the row is not loaded yet: load it, then select
    selectedPos = p;
    renderRows();
    const wait = setInterval(() => {
      const rr = rows.get(p);
      if (rr) {
        clearInterval(wait);
        selectPos(p, rr.index);
      }
    }, 30);
    setTimeout(() => clearInterval(wait), 3000);
  }
});

filterSel.addEventListener('change', () => runQuery());
let searchTimer = 0;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(runQuery, 250);
});
jump.addEventListener('keydown', (ev) => {
  if ((ev as KeyboardEvent).key !== 'Enter') return;
  const n = Number((jump.value ?? '').trim());
  if (Number.isInteger(n) && n >= 1) vscode.postMessage({ type: 'jumpToLine', line: n });
});

// ---------- record view ----------
function withSpans(text: string, spans: Span[] | undefined, cls: string): DocumentFragment {
  const f = document.createDocumentFragment();
  let at = 0;
  for (const s of spans ?? []) {
    if (s.start > at) f.append(document.createTextNode(text.slice(at, s.start)));
    f.append(el('mark', cls, text.slice(s.start, s.end)));
    at = s.end;
  }
  if (at < text.length) f.append(document.createTextNode(text.slice(at)));
  return f;
}

function messagesBlock(ms: Message[]): HTMLElement {
  const box = el('div', 'messages');
  for (const m of ms) {
    const b = el('div', `msg role-${m.role.replace(/[^a-z_]/gi, '')}`);
    b.append(el('div', 'role', m.role), el('pre', 'text', m.content));
    box.append(b);
  }
  return box;
}

function candidateCard(c: Candidate, spans: Span[] | undefined, heading: string): HTMLElement {
  const card = el('article', `cand ${c.role}`);
  const h = el('header', 'cand-h');
  h.append(el('span', 'cand-role', heading));
  const meta: string[] = [];
  if (c.rank !== undefined) meta.push(`rank ${c.rank}`);
  if (c.score !== undefined) meta.push(`score ${c.score}`);
  if (c.rewards) for (const [k, v] of Object.entries(c.rewards)) meta.push(`${k} ${v}`);
  meta.push(`${c.text.length.toLocaleString('en-US')} chars`);
  h.append(el('span', 'cand-meta', meta.join(' · ')));
  card.append(h);
  const pre = el('pre', 'text');
  pre.append(withSpans(c.text, spans, c.role === 'chosen' ? 'diff-c' : 'diff-r'));
  if (c.text === '') pre.append(el('span', 'empty', '(empty response)'));
  card.append(pre);
  return card;
}

function renderRecord(view: RecordView | null, error?: string): void {
  detail.replaceChildren();
  if (!view) {
    detail.append(el('div', 'status error', error ?? 'Cannot show this record.'));
    return;
  }
  const r = view.record;
  const head = el('header', 'rec-h');
  head.append(el('span', 'rec-title', `${summary?.unit === 'row' ? 'Row' : 'Line'} ${r.line} · record ${(r.index + 1).toLocaleString('en-US')} of ${(summary?.records ?? 0).toLocaleString('en-US')} · ${r.format} · ${r.kind}`));
  if (r.label !== undefined) head.append(el('span', `chip ${r.label ? 'good' : 'bad'}`, r.label ? 'desirable' : 'undesirable'));
  detail.append(head);
  if (view.flags.length) {
    const ul = el('ul', 'flags');
    view.flags.forEach((f, i) => {
      const li = el('li');
      li.append(el('span', `dot ${f}`), el('code', '', f), document.createTextNode(` ${view.flagText[i]}${view.related && (f === 'duplicate' || f === 'contradiction') ? ` (${summary?.unit ?? 'line'} ${view.related})` : ''}`));
      ul.append(li);
    });
    detail.append(ul);
  }
  const prompt = el('section', 'prompt');
  prompt.append(el('h3', '', 'Prompt'));
  if (r.rejectedPrompt !== undefined) {
    // Prompt mismatch: show both prompts with the differing spans marked.
    const a = el('pre', 'text');
    a.append(withSpans(r.prompt, view.promptDiff?.chosen, 'diff-c'));
    prompt.append(a, el('h3', 'warn', 'Prompt of the rejected response (differs)'));
    const b = el('pre', 'text');
    b.append(withSpans(r.rejectedPrompt, view.promptDiff?.rejected, 'diff-r'));
    prompt.append(b);
  } else if (r.promptMessages && r.promptMessages.length) prompt.append(messagesBlock(r.promptMessages));
  else prompt.append(el('pre', 'text', r.prompt));
  detail.append(prompt);
  const grid = el('section', r.kind === 'pair' ? 'cands pair' : 'cands stack');
  r.candidates.forEach((c, i) => {
    const heading =
      r.kind === 'pair'
        ? c.role
        : r.kind === 'unpaired' || r.kind === 'completion'
          ? 'completion'
          : r.kind === 'stepwise'
            ? `step ${i + 1} · ${c.label ? 'correct' : 'incorrect'}`
            : `#${i + 1}`;
    const spans = view.diff ? (i === 0 ? view.diff.chosen : view.diff.rejected) : undefined;
    grid.append(candidateCard(c, spans, heading));
  });
  detail.append(grid);
}

function showOverview(): void {
  if (!summary) return;
  detail.replaceChildren(el('h3', '', 'Checks'));
  const data = Object.entries(summary.counts).map(([k, v]) => ({ k, v }));
  const w = 420;
  const h = data.length * 20 + 10;
  const x = scaleLinear().domain([0, Math.max(1, ...data.map((d) => d.v))]).range([0, w - 180]);
  const y = scaleBand().domain(data.map((d) => d.k)).range([0, h]).padding(0.2);
  const svg = select(detail).append('svg').attr('width', w).attr('height', h).attr('class', 'chart');
  const g = svg.selectAll('g').data(data).join('g').attr('transform', (d) => `translate(0,${y(d.k) ?? 0})`);
  g.append('text').attr('x', 0).attr('y', y.bandwidth() - 3).text((d) => d.k);
  g.append('rect').attr('x', 130).attr('height', y.bandwidth()).attr('width', (d) => x(d.v)).attr('class', (d) => `bar ${d.k}`);
  g.append('text').attr('x', (d) => 134 + x(d.v)).attr('y', y.bandwidth() - 3).text((d) => String(d.v));
  detail.append(el('p', 'hint', 'Select a record on the left, or filter by a check.'));
}

vscode.postMessage({ type: 'ready' });
