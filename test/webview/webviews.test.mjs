// Webview tests in headless Chromium against the built bundles (dist/webview), with a fake host: the page has
// the same strict CSP as in VS Code, `acquireVsCodeApi` records what the app posts, and the test sends host
// events with window.postMessage. Hostile dataset text must show as text and run nothing; a 4,000-token pair
// must render in under 100 ms; the dashboard must stay interactive with 100,000 scored records.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
let server;
let base;
let browser;

const NONCE = 'testnonce123';
function page(app) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self' 'nonce-${NONCE}'; script-src 'nonce-${NONCE}'; img-src 'self' data:; font-src 'self'">
<link rel="stylesheet" nonce="${NONCE}" href="/media/preflens.css"></head>
<body data-app="${app}" data-init="{}"><div id="app"></div>
<script nonce="${NONCE}" src="/fakehost.js"></script>
<script type="module" nonce="${NONCE}" src="/dist/webview/elements.js"></script>
<script nonce="${NONCE}" src="/dist/webview/${app}.js"></script></body></html>`;
}
const FAKE_HOST = `window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => {} });`;

before(async () => {
  if (!existsSync(join(repo, 'dist', 'webview', 'heatmap.js'))) throw new Error('build first (npm run build)');
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/page/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page(url.pathname.slice(6)));
      return;
    }
    if (url.pathname === '/fakehost.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(FAKE_HOST);
      return;
    }
    const p = join(repo, url.pathname);
    if (!p.startsWith(repo) || !existsSync(p)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }[extname(p)] ?? 'application/octet-stream' });
    res.end(readFileSync(p));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const HOSTILE = [
  '<script>window.__pwned = "script"; document.title = "pwned"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '</span></pre><b id="inj">injected</b>',
  '<a href="javascript:window.__pwned=\'link\'">click</a>',
  '<style>body{display:none}</style>',
].join(' ');

function tokensOf(text, n0 = 0) {
  // one token per character (simple, like a byte tokenizer on ASCII)
  return [...text].map((ch, i) => ({ id: ch.charCodeAt(0), text: ch, start: i, end: i + 1, logp: -1 - (i % 7) / 3, ref_logp: -1.2, reward: 0.1 * (-(i % 7) / 3 + 0.2), entropy: 2, rank: 1 + (i % 5), topk_mass: 0.8, topk_entropy: 1.5 }));
}

function recordView(chosen, rejected, line = 1) {
  const resp = (t) => {
    const tokens = tokensOf(t);
    const logp = tokens.reduce((s, x) => s + x.logp, 0);
    return { tokens, logp, mean_logp: logp / tokens.length, ref_logp: -1.2 * tokens.length, reward: 0.1 * (logp + 1.2 * tokens.length) };
  };
  const c = resp(chosen);
  const r = resp(rejected);
  return {
    type: 'record',
    view: {
      file: 'x.jsonl',
      scored: { line, format: 'trl-standard', chosen: c, rejected: r, margin: c.reward - r.reward, dpo_loss: 0.5, implicit_accuracy: true, flags: ['wrong-way'] },
      prompt: HOSTILE,
      labels: ['chosen', 'rejected'],
      position: 0,
      total: 1,
      flagInfo: { 'wrong-way': { text: HOSTILE, source: 'DPO' } },
      policy: '/p',
      reference: '/r',
      convention: 'trl (TRL ≥ 0.29 by default)',
      loss: { type: 'sigmoid', field: 'dpo_loss' },
    },
  };
}

async function open(app) {
  const p = await browser.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await p.goto(`${base}/page/${app}`);
  await p.waitForFunction(() => window.__posted.some((m) => m.type === 'ready'));
  return { p, errors };
}

test('heatmap: hostile dataset text is shown as text and nothing runs', async () => {
  const { p, errors } = await open('heatmap');
  await p.evaluate((ev) => window.postMessage(ev, '*'), recordView(HOSTILE, 'plain <b>bold?</b> text'));
  await p.waitForSelector('.heat-body .tok');
  const state = await p.evaluate(() => ({
    pwned: window.__pwned,
    title: document.title,
    injected: document.querySelectorAll('#inj, .heat-body img, .heat-body script, .heat-body a, .heat-body style').length,
    chosen: [...document.querySelectorAll('.cand.chosen .tok')].map((s) => s.textContent).join(''),
    prompt: document.querySelector('details.prompt pre').textContent,
    flags: document.querySelector('ul.flags').textContent,
    bodyVisible: getComputedStyle(document.body).display !== 'none',
  }));
  assert.equal(state.pwned, undefined);
  assert.notEqual(state.title, 'pwned');
  assert.equal(state.injected, 0);
  assert.equal(state.chosen, HOSTILE);
  assert.equal(state.prompt, HOSTILE);
  assert.ok(state.flags.includes(HOSTILE));
  assert.ok(state.bodyVisible);
  // Hover card: escaped text, requests the alternatives of that position.
  await p.hover('.cand.chosen pre.heat > .tok:nth-child(4)');
  await p.waitForSelector('.card:not([hidden])');
  const posted = await p.evaluate(() => window.__posted.filter((m) => m.type === 'alternatives'));
  assert.deepEqual(posted.at(-1), { type: 'alternatives', response: 0, token: 3, seq: posted.at(-1).seq });
  await p.evaluate((seq) => window.postMessage({ type: 'alternatives', seq, response: 0, token: 3, items: [{ id: 1, text: '<img src=x onerror="window.__pwned=1">', prob: 0.5 }] }, '*'), posted.at(-1).seq);
  await p.waitForSelector('.card .alt');
  assert.equal(await p.evaluate(() => window.__pwned), undefined);
  assert.equal(await p.locator('.card img').count(), 0);
  assert.deepEqual(errors, []);
  await p.close();
});

test('heatmap: a 4,000-token pair renders in under 100 ms; keyboard navigation posts requests', async () => {
  const { p } = await open('heatmap');
  const long = 'The quick brown fox jumps over the lazy dog. '.repeat(45).slice(0, 2000);
  const ev = recordView(long, long.split('').reverse().join(''));
  // Warm up once (JIT), then measure a fresh render of a 4,000-token pair.
  await p.evaluate((e) => window.postMessage(e, '*'), ev);
  await p.waitForSelector('.heat-body .tok');
  // Time the app's handler (build the DOM) plus style and layout, dispatched synchronously (no message cloning).
  // The best of three renders: the render's own cost, not a scheduler's pause on a machine busy with other work.
  const ms = await p.evaluate(async (e) => {
    let best = Infinity;
    for (let line = 2; line <= 4; line++) {
      const data = { ...e, view: { ...e.view, scored: { ...e.view.scored, line } } };
      const t0 = performance.now();
      window.dispatchEvent(new MessageEvent('message', { data }));
      void document.body.offsetHeight;
      best = Math.min(best, performance.now() - t0);
      if (!document.querySelector('.toolbar .title')?.textContent?.includes(`line ${line}`)) throw new Error('not rendered');
    }
    return { ms: best, tokens: document.querySelectorAll('.heat-body .tok').length };
  }, ev);
  assert.equal(ms.tokens, 4000);
  assert.equal(await p.evaluate(() => document.querySelector('.nums .kv.convention')?.textContent), 'tokenized astrl (TRL ≥ 0.29 by default)', 'the header names the convention');
  assert.equal(await p.evaluate(() => document.querySelector('.nums .kv')?.textContent), 'sigmoid loss (trained)0.5000', 'the loss the run trained with comes first');
  console.log(`heatmap: 4,000-token pair rendered in ${ms.ms.toFixed(1)} ms`);
  assert.ok(ms.ms < 100, `${ms.ms} ms`);
  await p.keyboard.press('j');
  await p.keyboard.press('n');
  await p.keyboard.press('m');
  const nav = await p.evaluate(() => window.__posted.filter((m) => m.type === 'navigate').map((m) => m.direction));
  assert.deepEqual(nav, ['next', 'nextFlagged']);
  assert.equal(await p.evaluate(() => document.querySelector('#metric').value), 'logratio');
  await p.close();
});

test('dashboard: 100,000 scored records stay interactive (render, brush, sort, click)', async () => {
  const { p, errors } = await open('dashboard');
  const t = await p.evaluate(async () => {
    const n = 100000;
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const cols = { line: [], sub: [], margin: [], chosenReward: [], rejectedReward: [], chosenShift: [], rejectedShift: [], lengthDiff: [], loss: [], flags: [] };
    for (let i = 0; i < n; i++) {
      const m = (rnd() - 0.3) * 6;
      cols.line.push(i + 1);
      cols.sub.push(0);
      cols.margin.push(m);
      cols.chosenReward.push(m / 2);
      cols.rejectedReward.push(-m / 2);
      cols.chosenShift.push(rnd() - 0.5);
      cols.rejectedShift.push(-rnd());
      cols.lengthDiff.push(Math.round((rnd() - 0.5) * 200));
      cols.loss.push(Math.log1p(Math.exp(-m)));
      cols.flags.push(m < 0 ? ['wrong-way'] : []);
    }
    const hist = (a) => {
      const lo = Math.min(...a.slice(0, 1000)) - 5;
      const counts = new Array(40).fill(0);
      for (const v of a) counts[Math.max(0, Math.min(39, Math.floor((v - lo) / 0.5)))]++;
      return { lo, width: 0.5, counts };
    };
    const t0 = performance.now();
    window.postMessage({ type: 'data', file: 'big.jsonl', columns: cols, summary: { pairs: n, implicitAccuracy: 0.7, meanLoss: 0.5, meanMargin: 1, flagCounts: { 'wrong-way': 30000 } },
      histograms: { margin: hist(cols.margin), chosenReward: hist(cols.chosenReward), rejectedReward: hist(cols.rejectedReward), chosenShift: hist(cols.chosenShift), rejectedShift: hist(cols.rejectedShift) },
      flagInfo: { 'wrong-way': { text: 'margin < 0', source: 'DPO' } } }, '*');
    await new Promise((r) => {
      const check = () => (document.querySelector('table.worst tr.row') ? r() : setTimeout(check, 0));
      check();
    });
    return performance.now() - t0;
  });
  console.log(`dashboard: 100,000 records rendered in ${t.toFixed(0)} ms`);
  assert.ok(await p.locator('canvas.scatter-canvas').count(), 'canvas scatter above 3,000 points');
  assert.ok(t < 3000, `${t} ms`);
  // Sort by loss (descending) and check the order.
  const t1 = await p.evaluate(async () => {
    const t0 = performance.now();
    [...document.querySelectorAll('table.worst th')].find((th) => th.textContent.startsWith('DPO loss')).click();
    return performance.now() - t0;
  });
  const losses = await p.$$eval('table.worst tr.row td:nth-child(3)', (tds) => tds.map((td) => Number(td.textContent)));
  assert.ok(losses.every((v, i) => i === 0 || losses[i - 1] >= v), 'sorted by loss, descending');
  assert.ok(t1 < 500, `sort ${t1} ms`);
  // Brush a margin range: the table keeps only pairs inside it.
  const box = await p.locator('g.brush rect.overlay').first().boundingBox();
  await p.mouse.move(box.x + box.width * 0.3, box.y + 10);
  await p.mouse.down();
  await p.mouse.move(box.x + box.width * 0.5, box.y + 10, { steps: 4 });
  await p.mouse.up();
  await p.waitForFunction(() => document.querySelector('.table-box h3')?.textContent?.startsWith('Pairs with margin in'));
  const range = await p.evaluate(() => document.querySelector('.table-box h3').textContent.match(/\[(-?[\d.]+), (-?[\d.]+)\]/).slice(1).map(Number));
  const margins = await p.$$eval('table.worst tr.row td:nth-child(2)', (tds) => tds.map((td) => Number(td.textContent)));
  assert.ok(margins.length > 0 && margins.every((m) => m >= range[0] - 1e-3 && m <= range[1] + 1e-3), `${range} vs ${margins.slice(0, 5)}`);
  // Opening a row (keyboard: focus + Enter) asks the host to open that record.
  await p.locator('table.worst tr.row').first().focus();
  await p.keyboard.press('Enter');
  const opened = await p.evaluate(() => window.__posted.filter((m) => m.type === 'open'));
  assert.equal(opened.length, 1);
  assert.deepEqual(errors, []);
  await p.close();
});

test('inspector: hostile record text is shown as text', async () => {
  const { p, errors } = await open('inspector');
  const rec = {
    type: 'record',
    index: 0,
    position: 0,
    view: {
      record: { index: 0, line: 1, offset: 0, format: 'trl-standard', kind: 'pair', prompt: HOSTILE, candidates: [{ role: 'chosen', text: HOSTILE, field: 'chosen' }, { role: 'rejected', text: 'x' + HOSTILE, field: 'rejected' }] },
      flags: ['identical'],
      flagText: [HOSTILE],
      diff: { chosen: [{ start: 0, end: 8 }], rejected: [{ start: 0, end: 1 }] },
    },
  };
  await p.evaluate((ev) => window.postMessage(ev, '*'), rec);
  await p.waitForSelector('.cand.chosen pre.text');
  const st = await p.evaluate(() => ({ pwned: window.__pwned, inj: document.querySelectorAll('#inj, .detail img, .detail script, .detail a').length, text: document.querySelector('.cand.chosen pre.text').textContent }));
  assert.equal(st.pwned, undefined);
  assert.equal(st.inj, 0);
  assert.equal(st.text, HOSTILE);
  assert.deepEqual(errors, []);
  await p.close();
});

function runView(name, f, live = false) {
  const steps = Array.from({ length: 40 }, (_, i) => (i + 1) * 5);
  return {
    name,
    dir: `/runs/${name}`,
    format: 'trainer_state',
    trainer: 'dpo',
    steps: 200,
    series: { loss: steps.map((s) => [s, f(s)]), 'rewards/margins': steps.map((s) => [s, s / 100]) },
    eval: { loss: [[100, f(100) + 0.05]] },
    epochs: steps.map((s) => [s, s / 100]),
    checkpoints: [],
    checks: [{ id: 'lr-schedule', severity: 'info', message: `<img src=x onerror="window.__pwned='check'">`, steps: [50], source: 'PrefLens' }],
    referenceModel: null,
    settings: {},
    problems: [],
    live,
    rollouts: false,
  };
}

test('run view: two runs overlaid with a legend; the smoothing slider, the crosshair reading both runs, log scale, x by epoch', async () => {
  const { p, errors } = await open('run');
  // a noisy curve, so that smoothing visibly changes it
  const a = runView('beta-0.1', (s) => 0.7 - s / 400 + (s % 10 === 0 ? 0.05 : -0.05));
  const b = runView('beta-0.5', (s) => 0.6 - s / 800, true);
  await p.evaluate((runs) => window.postMessage({ type: 'runs', runs }, '*'), [a, b]);
  await p.waitForSelector('figure.chart[data-series="loss"] path.train-line');
  assert.deepEqual(await p.$$eval('.run-legend .legend-item', (xs) => xs.map((x) => x.textContent.trim())), ['beta-0.1 dpo · 200 steps', 'beta-0.5 dpo · 200 stepslive']);
  assert.deepEqual(await p.$$eval('.run-legend .live-badge', (xs) => xs.map((x) => x.closest('.legend-item').dataset.run)), ['/runs/beta-0.5']);
  assert.equal(await p.$$eval('figure.chart[data-series="loss"] path.train-line', (xs) => xs.length), 2, 'one curve per run');
  assert.equal(await p.$$eval('figure.chart[data-series="loss"] path.raw-line', (xs) => xs.length), 2, 'raw curves behind the smoothed ones');
  const smoothedPath = () => p.$eval(`figure.chart[data-series="loss"] g[data-run="/runs/beta-0.1"] path.train-line`, (x) => x.getAttribute('d'));
  const rawPath = await p.$eval(`figure.chart[data-series="loss"] g[data-run="/runs/beta-0.1"] path.raw-line`, (x) => x.getAttribute('d'));
  const at06 = await smoothedPath();
  assert.notEqual(at06, rawPath);
  // the slider to 0: the curve is the raw one, and the faint copy goes
  await p.$eval('#smoothing', (s) => {
    s.value = '0';
    s.dispatchEvent(new Event('input'));
  });
  assert.equal(await smoothedPath(), rawPath);
  assert.equal(await p.$$eval('path.raw-line', (xs) => xs.length), 0);
  await p.$eval('#smoothing', (s) => {
    s.value = '0.9';
    s.dispatchEvent(new Event('input'));
  });
  assert.notEqual(await smoothedPath(), at06, 'heavier smoothing, another curve');
  // the crosshair: hovering one chart reads every run at that step, on every chart
  const box = await p.$eval('figure.chart[data-series="loss"] rect.hover-area', (r) => {
    const b = r.getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  });
  await p.mouse.move(box.x, box.y);
  const reading = await p.$$eval('figure.chart[data-series="rewards/margins"] .readout .reading-item', (xs) => xs.map((x) => x.textContent));
  assert.equal(reading.length, 2);
  assert.match(reading[0], /beta-0\.1: [0-9.]+ \(raw [0-9.]+\)/);
  assert.match(reading[1], /beta-0\.5: /);
  assert.equal(await p.$$eval('line.crosshair[visibility="visible"]', (xs) => xs.length), 2, 'both charts show the crosshair');
  // log scale and x by epoch
  await p.$eval('#log-scale', (c) => {
    c.checked = true;
    c.dispatchEvent(new Event('change'));
  });
  assert.match(await p.textContent('.chart-note'), /Log scale/);
  const ticks = await p.$$eval('figure.chart[data-series="loss"] .axis text', (xs) => xs.map((x) => x.textContent));
  await p.$eval('#x-axis', (s) => {
    s.value = 'epoch';
    s.dispatchEvent(new Event('change'));
  });
  const ticksEpoch = await p.$$eval('figure.chart[data-series="loss"] .axis text', (xs) => xs.map((x) => x.textContent));
  assert.notDeepEqual(ticksEpoch, ticks);
  assert.ok(ticksEpoch.some((t) => t === '1.0' || t === '1' || t === '2.0' || t === '2'), ticksEpoch.join());
  // a live update: the runs sent again keep the controls as they were
  await p.evaluate((runs) => window.postMessage({ type: 'runs', runs }, '*'), [a, { ...b, series: { ...b.series, loss: [...b.series.loss, [205, 0.3]] } }]);
  assert.equal(await p.$eval('#smoothing', (s) => s.value), '0.9');
  // per-run checks; hostile text stays text
  assert.equal(await p.$$eval('.run-detail', (xs) => xs.length), 2);
  assert.equal(await p.$$eval('.run-detail img', (xs) => xs.length), 0);
  await p.click('.run-detail[data-run="/runs/beta-0.5"] vscode-button');
  assert.deepEqual((await p.evaluate(() => window.__posted)).at(-1), { type: 'spinal', dir: '/runs/beta-0.5' });
  assert.equal(await p.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await p.close();
});

test('rollouts view: steps, groups, completions side by side; hostile text stays text; a scored group colours its tokens', async () => {
  const { p, errors } = await open('rollouts');
  const group = (prompt, totals, texts) => ({
    prompt,
    size: totals.length,
    rewards: { accuracy: totals, format: totals.map(() => 1) },
    total: totals.map((t) => t + 1),
    advantage: totals.map((t) => t - 0.5),
    lengths: texts.map((t) => t.length),
    zeroVariance: new Set(totals).size === 1,
    completions: texts,
    extra: { solution: texts.map(() => HOSTILE) },
  });
  const rollouts = {
    dir: '/runs/grpo',
    source: 'trl',
    rewardNames: ['accuracy', 'format'],
    steps: [
      { step: 10, file: 'completions_00010.parquet', groups: [group(HOSTILE, [1, 0], ['a', 'bb']), group('Q2', [0, 0], ['c', 'd'])] },
      { step: 20, file: 'completions_00020.parquet', groups: [group(HOSTILE, [1, 1], [HOSTILE, 'ok']), group('Q3', [0, 1], ['e', 'ff'])] },
    ],
    checks: [{ id: 'rollouts-no-signal', severity: 'info', message: HOSTILE, steps: [10, 20] }],
    problems: [{ file: '/runs/grpo/completions/completions_00030.parquet', where: 'row group 1', message: HOSTILE }],
    clipped: [[10, 0.1], [20, 0.4]],
  };
  await p.evaluate((view) => window.postMessage({ type: 'rollouts', view }, '*'), { name: 'grpo', rollouts, scoreUnavailable: null });
  await p.waitForSelector('table.groups tr.row');
  assert.match(await p.textContent('.toolbar .title'), /2 steps · 4 groups · rewards: accuracy, format/);
  assert.deepEqual(await p.$$eval('table.groups tr.row td:nth-child(6)', (xs) => xs.map((x) => x.textContent)), ['zero variance', 'yes'], 'the last step is shown first');
  assert.equal(await p.$$eval('figure.chart[data-chart="reward"] circle.step-pt', (xs) => xs.length), 2);
  assert.deepEqual(await p.$$eval('figure.chart[data-chart="clipped"] circle title', (xs) => xs.map((x) => x.textContent)), ['step 10: 10% clipped', 'step 20: 40% clipped']);
  // a check's step link selects that step; the trend of a recurring prompt spans both steps
  await p.click('.check a.step-link');
  assert.match(await p.textContent('.groups-box h3'), /Step 10: 2 groups/);
  assert.match(await p.$eval('table.groups tr.row svg.spark title', (t) => t.textContent), /step 10: .*\nstep 20: /);
  await p.click('table.groups tr.row[data-group="0"]');
  assert.equal(await p.$$eval('.completions .completion', (xs) => xs.length), 2);
  assert.match(await p.textContent('.completion[data-completion="1"] .kv-list'), /total 1\.000.*accuracy 0\.000.*advantage -0\.500.*length 2/);
  await p.click('#score-group');
  assert.deepEqual((await p.evaluate(() => window.__posted)).at(-1), { type: 'score', step: 10, group: 0 });
  const tok = (text, start, logp, ref) => ({ id: 1, text, start, end: start + text.length, logp, ref_logp: ref, reward: 0.1 * (logp - ref), entropy: 1, rank: 1, topk_mass: 0.9, topk_entropy: 1 });
  const cand = (tokens, logp, ref) => ({ role: 'completion', tokens, logp, mean_logp: logp, ref_logp: ref });
  const scored = { line: 10, format: 'group', flags: [], candidates: [cand([tok('a', 0, -1, -2)], -1, -2), cand([tok('b', 0, -3, -1), tok('b', 1, -2, -2)], -5, -3)] };
  await p.evaluate((score) => window.postMessage({ type: 'scored', score }, '*'), { step: 10, group: 0, policy: '/runs/grpo/checkpoint-10', policyStep: 10, reference: '/models/sft', scored });
  await p.waitForSelector('.completion pre.text span.tok');
  assert.match(await p.$eval('.completion[data-completion="1"] pre.text span.tok', (s) => s.title), /logp -3\.000 {2}ref -1\.000 {2}logp − ref -2\.000/);
  assert.match(await p.$eval('.completion[data-completion="1"] pre.text span.tok', (s) => s.className), /hn/, 'a token the policy likes less than the reference is red');
  assert.match(await p.textContent('.score-note'), /checkpoint-10 \(step 10\) against \/models\/sft/);
  // hostile prompt, completion, extra, check and problem text: shown as text, nothing injected or run
  await p.$eval('#step', (s) => {
    s.value = '20';
    s.dispatchEvent(new Event('change'));
  });
  await p.click('table.groups tr.row[data-group="0"]');
  assert.equal(await p.$$eval('#app img, #app script:not([src]), #inj', (xs) => xs.length), 0);
  assert.ok((await p.textContent('.completion[data-completion="0"] pre.text')).includes('<script>'));
  assert.equal(await p.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await p.close();
});
