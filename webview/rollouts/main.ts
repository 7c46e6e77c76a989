/**
 * Rollouts view: a GRPO run's completions per step. Charts over the steps (mean total reward ± std, the share of
 * groups without reward variance, the clipped share the run logged) and, for the chosen step, reward against completion length; the step's groups
 * (size, mean and spread of the total, zero variance, length, the group's trend over the steps where its prompt
 * recurs); a group's completions side by side with every reward, the total, the advantage and the length; on request
 * the group scored under the policy and the reference, its tokens coloured by logp − ref logp (the per-token KL
 * contribution). Dataset text is always set as text.
 */
import { select, scaleLinear, line, area, axisBottom, axisLeft } from 'd3';
import type { RolloutsEvent, RolloutsRequest, RolloutsView, GroupScore } from '../../src/protocol/rollouts.js';
import type { RolloutGroup, RolloutStep, ScoredRecord, TokenOut } from '../../src/core/contract.js';
import { el, hostChannel } from '../shared/vscodeApi.js';
import { renderTokens, scaleFor, visibleWhitespace } from '../shared/heat.js';

const vscode = hostChannel<RolloutsRequest, RolloutsEvent>(onEvent);
const app = document.getElementById('app') as HTMLElement;
app.classList.add('dashboard');
const head = el('header', 'toolbar');
const title = el('div', 'title', 'PrefLens rollouts');
const stepSelect = document.createElement('vscode-single-select');
stepSelect.id = 'step';
stepSelect.setAttribute('aria-label', 'step');
stepSelect.addEventListener('change', () => selectStep(Number((stepSelect as unknown as { value: string }).value)));
head.append(title, el('span', 'count', 'Step'), stepSelect);
const checks = el('section', 'run-checks');
const charts = el('section', 'charts');
const groupsBox = el('section', 'table-box groups-box');
const detail = el('section', 'table-box group-detail');
app.append(head, checks, charts, groupsBox, detail);

let view: RolloutsView | null = null;
let stepIdx = 0;
let groupIdx = 0;
const scores = new Map<string, GroupScore>();
const key = (step: number, group: number): string => `${step}:${group}`;

function onEvent(e: RolloutsEvent): void {
  if (e.type === 'rollouts') {
    view = e.view;
    scores.clear();
    stepIdx = Math.max(0, view.rollouts.steps.length - 1);
    groupIdx = 0;
    render();
  } else if (e.type === 'scored') {
    scores.set(key(e.score.step, e.score.group), e.score);
    const s = view?.rollouts.steps[stepIdx];
    if (s && s.step === e.score.step && groupIdx === e.score.group) renderGroup();
  } else detail.append(el('div', 'check error', e.message));
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const std = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const finite = (xs: Array<number | null>): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));
const fmt = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(3));

function render(): void {
  if (!view) return;
  const r = view.rollouts;
  const groups = r.steps.reduce((a, s) => a + s.groups.length, 0);
  title.textContent = `${view.name} · ${r.label} · ${r.steps.length} steps · ${groups} groups · rewards: ${r.rewardNames.join(', ')}`;
  stepSelect.replaceChildren();
  r.steps.forEach((s, i) => {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', String(s.step));
    o.textContent = `step ${s.step}`;
    if (i === stepIdx) o.setAttribute('selected', '');
    stepSelect.append(o);
  });
  checks.replaceChildren();
  if (!r.checks.length) checks.append(el('p', 'muted', 'No rollout check fired.'));
  for (const c of r.checks) {
    const d = el('div', `check ${c.severity}`);
    d.dataset.check = c.id;
    d.append(el('code', '', c.id), document.createTextNode(` ${c.message} `));
    const steps = el('span', 'muted', '(steps ');
    c.steps.slice(0, 12).forEach((s, i) => {
      const a = el('a', 'step-link', String(s));
      a.tabIndex = 0;
      a.addEventListener('click', () => selectStep(s));
      steps.append(...(i ? [document.createTextNode(', ')] : []), a);
    });
    steps.append(document.createTextNode(c.steps.length > 12 ? ', …)' : ')'));
    d.append(steps);
    checks.append(d);
  }
  for (const p of r.problems) checks.append(el('div', 'check warning', `${p.file}: ${p.where}: ${p.message}`));
  renderStep();
}

function selectStep(step: number): void {
  const i = view?.rollouts.steps.findIndex((s) => s.step === step) ?? -1;
  if (i < 0) return;
  stepIdx = i;
  groupIdx = 0;
  (stepSelect as unknown as { value: string }).value = String(step);
  renderStep();
}

const W = 340;
const H = 170;
const M = { l: 44, r: 8, t: 8, b: 22 };

function figure(name: string, caption: string): HTMLElement {
  const fig = el('figure', 'chart');
  fig.dataset.chart = name;
  fig.append(el('figcaption', '', caption));
  charts.append(fig);
  return fig;
}

function renderStep(): void {
  if (!view) return;
  const steps = view.rollouts.steps;
  const cur = steps[stepIdx];
  charts.replaceChildren();
  if (!cur) {
    groupsBox.replaceChildren(el('p', 'muted', 'No step could be read (see the problems above).'));
    detail.replaceChildren();
    return;
  }
  // mean total reward per step with a ±1 std band (over every completion of the step)
  const per = steps.map((s) => {
    const t = finite(s.groups.flatMap((g) => g.total));
    return { step: s.step, m: mean(t), sd: std(t), zero: s.groups.length ? s.groups.filter((g) => g.zeroVariance).length / s.groups.length : 0 };
  });
  const x = scaleLinear().domain([Math.min(...per.map((p) => p.step)), Math.max(...per.map((p) => p.step)) || 1]).range([M.l, W - M.r]);
  if (per.length === 1) x.domain([per[0].step - 1, per[0].step + 1]);
  {
    const fig = figure('reward', 'Total reward per step (mean ± std)');
    const ys = per.flatMap((p) => [p.m - p.sd, p.m + p.sd]).filter(Number.isFinite);
    const y = scaleLinear().domain(ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]).nice().range([H - M.b, M.t]);
    const svg = select(fig).append('svg').attr('width', W).attr('height', H);
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(x).ticks(5));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${M.l},0)`).call(axisLeft(y).ticks(4, '~g'));
    const ok = per.filter((p) => Number.isFinite(p.m));
    svg.append('path').datum(ok).attr('class', 'band').attr('d', area<(typeof per)[number]>().x((p) => x(p.step)).y0((p) => y(p.m - p.sd)).y1((p) => y(p.m + p.sd)));
    svg.append('path').datum(ok).attr('class', 'train-line').attr('d', line<(typeof per)[number]>().x((p) => x(p.step)).y((p) => y(p.m)));
    svg.append('g').selectAll('circle').data(ok).join('circle').attr('class', (p) => (p.step === cur.step ? 'step-pt current' : 'step-pt')).attr('r', (p) => (p.step === cur.step ? 5 : 3)).attr('cx', (p) => x(p.step)).attr('cy', (p) => y(p.m))
      .on('click', (_e, p) => selectStep(p.step)).append('title').text((p) => `step ${p.step}: mean ${fmt(p.m)} ± ${fmt(p.sd)}`);
  }
  {
    const fig = figure('zero-variance', 'Groups with zero reward variance (share)');
    const y = scaleLinear().domain([0, 1]).range([H - M.b, M.t]);
    const svg = select(fig).append('svg').attr('width', W).attr('height', H);
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(x).ticks(5));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${M.l},0)`).call(axisLeft(y).ticks(4, '~%'));
    const bw = Math.max(2, Math.min(14, (W - M.l - M.r) / Math.max(1, per.length) - 2));
    svg.append('g').selectAll('rect').data(per).join('rect').attr('class', (p) => (p.step === cur.step ? 'bar current' : 'bar')).attr('x', (p) => x(p.step) - bw / 2).attr('width', bw).attr('y', (p) => y(p.zero)).attr('height', (p) => y(0) - y(p.zero))
      .on('click', (_e, p) => selectStep(p.step)).append('title').text((p) => `step ${p.step}: ${(p.zero * 100).toFixed(0)}% of groups without variance`);
  }
  const clipped = view.rollouts.clipped;
  if (clipped) {
    const fig = figure('clipped', 'Completions cut at max_completion_length (share; the run\'s completions/clipped_ratio)');
    const y = scaleLinear().domain([0, 1]).range([H - M.b, M.t]);
    const svg = select(fig).append('svg').attr('width', W).attr('height', H);
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(x).ticks(5));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${M.l},0)`).call(axisLeft(y).ticks(4, '~%'));
    svg.append('path').datum(clipped).attr('class', 'train-line').attr('d', line<[number, number]>().x((p) => x(p[0])).y((p) => y(p[1])));
    svg.append('g').selectAll('circle').data(clipped).join('circle').attr('class', (p) => (p[0] === cur.step ? 'step-pt current' : 'step-pt')).attr('r', 3).attr('cx', (p) => x(p[0])).attr('cy', (p) => y(p[1]))
      .on('click', (_e, p) => selectStep(p[0])).append('title').text((p) => `step ${p[0]}: ${(p[1] * 100).toFixed(0)}% clipped`);
  }
  {
    const fig = figure('length', `Reward against length, step ${cur.step} (characters)`);
    const pts = cur.groups.flatMap((g, gi) => g.lengths.map((l, i) => ({ l, t: g.total[i], gi }))).filter((p): p is { l: number; t: number; gi: number } => p.t !== null && Number.isFinite(p.t));
    const lx = scaleLinear().domain([0, Math.max(1, ...pts.map((p) => p.l))]).nice().range([M.l, W - M.r]);
    const ts = pts.map((p) => p.t);
    const ly = scaleLinear().domain(ts.length ? [Math.min(...ts), Math.max(...ts) === Math.min(...ts) ? Math.min(...ts) + 1 : Math.max(...ts)] : [0, 1]).nice().range([H - M.b, M.t]);
    const svg = select(fig).append('svg').attr('width', W).attr('height', H);
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${H - M.b})`).call(axisBottom(lx).ticks(5));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${M.l},0)`).call(axisLeft(ly).ticks(4, '~g'));
    svg.append('g').selectAll('circle').data(pts).join('circle').attr('class', (p) => `len-pt run-c${p.gi % 6}`).attr('r', 3).attr('cx', (p) => lx(p.l)).attr('cy', (p) => ly(p.t))
      .on('click', (_e, p) => selectGroup(p.gi)).append('title').text((p) => `group ${p.gi + 1}: ${p.l} characters, total ${fmt(p.t)}`);
  }
  renderGroups(cur);
}

/** A prompt's mean total over the steps where it recurs (its step-to-step trend). */
function trendOf(prompt: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of view?.rollouts.steps ?? []) {
    const g = s.groups.find((x) => x.prompt === prompt);
    const t = g ? finite(g.total) : [];
    if (t.length) out.push([s.step, mean(t)]);
  }
  return out;
}

function sparkline(points: Array<[number, number]>): SVGSVGElement | Text {
  if (points.length < 2) return document.createTextNode(points.length ? 'this step only' : '—');
  const w = 90;
  const h = 22;
  const sx = scaleLinear().domain([points[0][0], points[points.length - 1][0]]).range([2, w - 2]);
  const vs = points.map((p) => p[1]);
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const sy = scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).range([h - 2, 2]);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg')).attr('width', w).attr('height', h).attr('class', 'spark');
  svg.append('path').datum(points).attr('class', 'train-line').attr('d', line<[number, number]>().x((p) => sx(p[0])).y((p) => sy(p[1])));
  svg.append('title').text(points.map(([s, v]) => `step ${s}: ${fmt(v)}`).join('\n'));
  return svg.node() as SVGSVGElement;
}

function renderGroups(s: RolloutStep): void {
  groupsBox.replaceChildren(el('h3', '', `Step ${s.step}: ${s.groups.length} groups (${s.file})`));
  const t = el('table', 'worst groups');
  const hr = el('tr');
  for (const h of ['#', 'prompt', 'size', 'mean total', 'std', 'signal', 'mean length', 'trend over steps']) hr.append(el('th', '', h));
  t.append(hr);
  s.groups.forEach((g, i) => {
    const tot = finite(g.total);
    const tr = el('tr', `row${i === groupIdx ? ' selected' : ''}`);
    tr.tabIndex = 0;
    tr.dataset.group = String(i);
    const prompt = g.prompt.replace(/\s+/g, ' ');
    const pc = el('td', 'prompt-cell', prompt.length > 90 ? `${prompt.slice(0, 90)}…` : prompt);
    pc.title = g.prompt;
    const sig = el('td', g.zeroVariance ? 'neg' : '', g.zeroVariance ? 'zero variance' : 'yes');
    const trend = el('td');
    trend.append(sparkline(trendOf(g.prompt)));
    tr.append(el('td', '', String(i + 1)), pc, el('td', '', String(g.size)), el('td', '', fmt(mean(tot))), el('td', '', fmt(std(tot))), sig, el('td', '', fmt(mean(g.lengths))), trend);
    tr.addEventListener('click', () => selectGroup(i));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') selectGroup(i);
    });
    t.append(tr);
  });
  groupsBox.append(t);
  renderGroup();
}

function selectGroup(i: number): void {
  groupIdx = i;
  for (const tr of groupsBox.querySelectorAll('tr.row')) tr.classList.toggle('selected', (tr as HTMLElement).dataset.group === String(i));
  renderGroup();
}

function renderGroup(): void {
  detail.replaceChildren();
  const s = view?.rollouts.steps[stepIdx];
  const g: RolloutGroup | undefined = s?.groups[groupIdx];
  if (!view || !s || !g) return;
  const h = el('h3', '', `Group ${groupIdx + 1} of step ${s.step}: ${g.size} completions${g.zeroVariance ? ' · zero reward variance (no signal)' : ''}`);
  const actions = el('div', 'actions');
  const btn = document.createElement('vscode-button');
  btn.id = 'score-group';
  btn.textContent = 'Score under policy and reference';
  btn.setAttribute('secondary', '');
  if (view.scoreUnavailable) {
    btn.setAttribute('disabled', '');
    btn.title = view.scoreUnavailable;
  }
  btn.addEventListener('click', () => vscode.postMessage({ type: 'score', step: s.step, group: groupIdx }));
  actions.append(btn);
  if (view.scoreUnavailable) actions.append(el('span', 'muted', ` ${view.scoreUnavailable}`));
  detail.append(h, actions, el('h4', '', 'Prompt'), el('pre', 'text prompt', g.prompt));
  const sc = scores.get(key(s.step, groupIdx));
  const scored = sc && 'candidates' in sc.scored ? (sc.scored as ScoredRecord).candidates : undefined;
  const hasRef = scored?.some((c) => c.ref_logp !== undefined) ?? false;
  const metric = hasRef ? 'logratio' : 'logp';
  const scale = scored ? scaleFor(scored.map((c) => c.tokens), metric, hasRef) : null;
  if (sc) {
    detail.append(
      el(
        'p',
        'muted score-note',
        `Scored under ${sc.policy}${sc.policyStep !== null ? ` (step ${sc.policyStep})` : ''} against ${sc.reference}. Tokens coloured by ${hasRef ? 'logp − ref logp, the per-token contribution to the KL estimate (green: the policy likes the token more than the reference)' : 'policy logp'}; hover a token for its numbers.`,
      ),
    );
  }
  const grid = el('div', 'completions');
  g.completions.forEach((text, i) => {
    const card = el('div', `completion${g.total[i] !== null && g.total[i] === Math.max(...finite(g.total)) ? ' best' : ''}`);
    card.dataset.completion = String(i);
    const kv = el('div', 'kv-list');
    const item = (k: string, v: string): void => {
      const d = el('span', 'kv');
      d.append(el('span', 'muted', `${k} `), el('b', '', v));
      kv.append(d);
    };
    item('total', fmt(g.total[i]));
    for (const n of view?.rollouts.rewardNames ?? []) item(n, fmt(g.rewards[n]?.[i]));
    item('advantage', g.advantage ? fmt(g.advantage[i]) : '—');
    item('length', String(g.lengths[i]));
    for (const [k, vs] of Object.entries(g.extra)) item(k, typeof vs[i] === 'string' ? (vs[i] as string).slice(0, 60) : JSON.stringify(vs[i]));
    const c = scored?.[i];
    if (c) {
      item('logp', fmt(c.logp));
      if (c.ref_logp !== undefined) item('logp − ref logp', fmt(c.logp - c.ref_logp));
    }
    card.append(el('div', 'completion-head', `completion ${i + 1}`), kv);
    const pre = el('pre', 'text');
    if (c && scale) {
      // the scored text is the completion as tokenized (TokenOut offsets index into it)
      pre.append(renderTokens(text, c.tokens, metric, scale));
      [...pre.children].forEach((span, t) => {
        const tok: TokenOut | undefined = c.tokens[t];
        if (tok) (span as HTMLElement).title = `${visibleWhitespace(tok.text)}  logp ${fmt(tok.logp)}${tok.ref_logp !== undefined ? `  ref ${fmt(tok.ref_logp)}  logp − ref ${fmt(tok.logp - tok.ref_logp)}` : ''}`;
      });
    } else pre.textContent = text;
    card.append(pre);
    grid.append(card);
  });
  detail.append(grid);
}

vscode.postMessage({ type: 'ready' });
