// End-to-end test in a real VS Code (code-server + headless Chromium): foundation features on real HH data.
// Prints `N passed, N failed` and exits non-zero on failure. Skips (with the reason) when ../shared is absent.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { startVsCode, runCommand, quickOpen, goToLine, retry, webviewFrame, findFrame, stepper, repo, prefLensLogs } from './harness.mjs';

const shared = resolve(repo, '..', 'shared');
const devFile = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
if (!existsSync(devFile)) {
  console.log(`e2e: skipped: ${devFile} is absent (../shared is not here)`);
  console.log('0 passed, 0 failed, 1 skipped');
  process.exit(0);
}
const runDir = join(repo, 'test', 'e2e', '.run');
const vsix = join(repo, 'dist', 'preflens.vsix');
execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', vsix], { cwd: repo, stdio: 'pipe' });

// Expected text comes from the file itself (HH: the response is the text after the last "\n\nAssistant:").
const lines = readFileSync(devFile, 'utf8').split('\n');
const rec3 = JSON.parse(lines[2]);
const cut = (t) => t.slice(t.lastIndexOf('\n\nAssistant:') + '\n\nAssistant:'.length);

/** Hovers line 1 of the first editor until its hover text satisfies `ok`; returns that text. */
async function hoverLine1(page, ok, what) {
  // The first line's number in the gutter tells where line 1 is drawn.
  const ln = page.locator('.editor-instance').first().locator('.line-numbers', { hasText: /^1$/ }).first();
  return retry(async () => {
    await page.mouse.move(5, 5);
    await page.waitForTimeout(200);
    const box = await ln.boundingBox();
    await page.mouse.move(box.x + box.width + 80, box.y + box.height / 2);
    const h = page.locator('.monaco-hover:not(.hidden) .hover-contents');
    await h.first().waitFor({ timeout: 2500 });
    const t = (await h.allInnerTexts()).join('\n');
    return ok(t) ? t : null;
  }, { what });
}

// Guard: the e2e test must never modify the shared data it opens.
const { createHash } = await import('node:crypto');
const { readdirSync, statSync } = await import('node:fs');
function dataDigest(dir) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}
const digestBefore = dataDigest(join(shared, 'data'));

const counts = { passed: 0, failed: 0 };
const t0 = Date.now();
const demo = join(shared, 'demo');
// The LoRA adapter's base is only in this hub cache (the last step of the first session opens it).
process.env.HF_HUB_CACHE = join(demo, 'hf', 'hf-cache', 'hub');
const vs = await startVsCode({
  workspace: join(shared, 'data'),
  vsix,
  runDir,
  settings: {
    'preflens.policyModel': join(demo, 'runs', 'tiny-hh-dpo'),
    'preflens.referenceModel': join(demo, 'models', 'tiny-hh-sft'),
    'preflens.maxPromptLength': 192,
    'preflens.maxCompletionLength': 128,
  },
});
// The same numbers from the CLI, for comparison with what the webviews show.
const cliScore = execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'score', devFile, '--policy', join(demo, 'runs', 'tiny-hh-dpo'), '--ref', join(demo, 'models', 'tiny-hh-sft'),
  '--lines', '1-20', '--max-prompt-length', '192', '--max-completion-length', '128', '--no-cache'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  .trim().split('\n').map((l) => JSON.parse(l));
const { page, shot } = vs;
const step = stepper(shot, counts);

try {
  await step('open dev.jsonl; status bar shows format, records and problems', async () => {
    await quickOpen(page, 'hh-harmless/dev.jsonl');
    await retry(async () => (await page.locator('.editor-instance .monaco-editor .view-lines').count()) > 0, { what: 'the text editor' });
    const text = await retry(
      async () => {
        const items = await page.locator('.statusbar-item').allInnerTexts();
        return items.find((t) => /records/.test(t));
      },
      { what: 'the PrefLens status-bar item' },
    );
    assert.match(text, /Anthropic HH pairs · 1,800 records · \d+ problems/);
    await shot('status-bar');
  });

  await step('hover on a record line shows its summary and flags', async () => {
    const target = page.locator('.editor-instance .view-line').first();
    const md = await retry(
      async () => {
        await page.mouse.move(5, 5);
        await page.waitForTimeout(200);
        await target.hover({ position: { x: 40, y: 8 } });
        const h = page.locator('.monaco-hover:not(.hidden) .hover-contents');
        await h.first().waitFor({ timeout: 2500 });
        const t = (await h.allInnerTexts()).join('\n');
        return /PrefLens/.test(t) ? t : null;
      },
      { what: 'the PrefLens hover' },
    );
    assert.match(md, /record 1 of 1,800/);
    assert.match(md, /hh/);
    assert.match(md, /chosen/);
    await shot('hover');
    await page.mouse.move(5, 5);
  });

  await step('Problems panel lists the prompt mismatch of line 1255', async () => {
    await runCommand(page, 'View: Focus Problems');
    const row = await retry(
      async () => {
        const rows = await page.locator('.markers-panel .monaco-list-row').allInnerTexts();
        return rows.find((t) => /different prompts/.test(t));
      },
      { what: 'a PrefLens problem' },
    );
    assert.match(row, /\[Ln 1255/);
    await shot('problems');
  });

  await step('inspector opens, lists records, selecting one shows chosen | rejected and reveals its line', async () => {
    await runCommand(page, 'PrefLens: Open Inspector');
    const frame = webviewFrame(page);
    await retry(async () => (await frame.locator('.row[data-index]').count()) > 0, { what: 'the inspector rows' });
    const title = await frame.locator('.toolbar .title').innerText();
    assert.match(title, /dev\.jsonl · Anthropic HH pairs · 1,800 records/);
    await frame.locator('.row[data-index="2"]').click();
    const chosen = frame.locator('.cand.chosen pre.text');
    await retry(async () => (await chosen.count()) > 0, { what: 'the selected record' });
    const chosenText = await chosen.evaluate((e) => e.textContent);
    const rejectedText = await frame.locator('.cand.rejected pre.text').evaluate((e) => e.textContent);
    assert.equal(chosenText, cut(rec3.chosen));
    assert.equal(rejectedText, cut(rec3.rejected));
    assert.ok((await frame.locator('mark.diff-c').count()) > 0, 'differing spans are marked');
    // The text editor follows: its cursor (active line number) is on line 3.
    await retry(async () => (await page.locator('.editor-instance .margin-view-overlays .active-line-number').first().innerText()).trim() === '3', { what: 'the editor to reveal line 3' });
    await shot('inspector');
  });

  await step('moving the cursor in the text editor selects that record in the inspector', async () => {
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click({ position: { x: 200, y: 5 } });
    await goToLine(page, 10);
    const frame = webviewFrame(page);
    await retry(async () => /^Line 10 /.test(await frame.locator('.rec-title').innerText()), { what: 'the inspector to show line 10' });
    const expected = cut(JSON.parse(lines[9]).chosen);
    assert.equal(await frame.locator('.cand.chosen pre.text').evaluate((e) => e.textContent), expected);
  });

  await step('inspector filters by check (promptMismatch) and shows both prompts', async () => {
    const frame = webviewFrame(page);
    await frame.locator('#filter').click();
    await frame.locator('vscode-option[value="promptMismatch"]').click({ timeout: 5000 }).catch(async () => {
      await frame.locator('#filter').evaluate((e) => {
        e.value = 'promptMismatch';
        e.dispatchEvent(new Event('change'));
      });
    });
    await retry(async () => (await frame.locator('.toolbar .count').innerText()) === '2 shown', { what: 'the filter to show 2 records' });
    await frame.locator('.row[data-index]').first().click();
    await retry(async () => (await frame.locator('h3.warn').count()) > 0, { what: 'the prompt-mismatch warning' });
    const t = await frame.locator('.rec-title').innerText();
    assert.match(t, /Line 1255/);
    await shot('inspector-filter');
  });
  await step('Datasets view in the PrefLens sidebar lists the file with its summary', async () => {
    await runCommand(page, 'View: Show PrefLens');
    const row = await retry(
      async () => {
        const rows = await page.locator('.pane-body .monaco-list-row').allInnerTexts();
        return rows.find((t) => /dev\.jsonl/.test(t) && /1,800 records/.test(t));
      },
      { what: 'the dataset in the Datasets view' },
    );
    assert.match(row, /problems/);
    const checks = await page.locator('.pane-body .monaco-list-row').allInnerTexts();
    assert.ok(checks.some((t) => /promptMismatch/.test(t) && /2 lines/.test(t)), checks.join(' | '));
    await shot('datasets-view');
  });
  /** The innermost frame of the webview that contains `selector`. */
  const frameWith = (selector) => findFrame(page, selector);

  await step('score lines 1–20 with the demo models from the command palette', async () => {
    /** Lines 1-20 selected in the editor, as the status bar's cursor item says ("Ln 20, Col 1 (… selected)"). */
    const selected = async () => (await page.locator('.statusbar-item').allInnerTexts()).some((t) => /Ln 20, Col 1 \(.*selected\)/.test(t));
    // The selection made, then the command's pick: its "Selected lines" clicked while the selection still stands (the
    // command reads it once picked). On a loaded machine a key can reach the editor before the go-to-line prompt has
    // closed, or the pick can come without that row: then all again.
    await retry(async () => {
      await retry(async () => {
        await runCommand(page, 'View: Focus First Editor Group');
        await goToLine(page, 1);
        await retry(async () => !(await page.locator('.quick-input-widget').isVisible()), { tries: 20, delay: 100, what: 'the go-to-line prompt to close' });
        for (let i = 0; i < 19; i++) await page.keyboard.press('Shift+ArrowDown');
        return selected();
      }, { tries: 10, delay: 200, what: 'lines 1-20 selected in the editor' });
      await runCommand(page, 'PrefLens: Score Records');
      const labels = await retry(async () => {
        const t = await page.locator('.quick-input-widget .monaco-list-row .label-name').allInnerTexts();
        return t.includes('Whole file') ? t : null;
      }, { what: 'the pick of the records to score' });
      if (!labels.includes('Selected lines') || !(await selected())) {
        await page.keyboard.press('Escape'); // (the pick is open: it takes the key)
        return false;
      }
      await page.locator('.quick-input-widget .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: /^Selected lines$/ }) }).first().click();
      return true;
    }, { tries: 5, delay: 500, what: 'lines 1-20 picked for scoring' });
    // the scoring's summary in the PrefLens log (no key pressed before it: on a loaded machine the extension host reads
    // the selection after the pick has closed, and an Escape in the editor collapses it), then its notification gone
    const scored = await retry(async () => /scored (\d+) records of file:\S+dev\.jsonl/.exec(prefLensLogs(join(runDir, 'user-data'))), { what: 'the scoring summary in the PrefLens log' });
    await retry(async () => (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).every((t) => !/PrefLens: scoring/.test(t)), { what: 'scoring to finish' });
    await page.keyboard.press('Escape');
    assert.equal(scored[1], '20', 'the 20 selected records were scored');
  });

  await step('the line hover shows the scored numbers', async () => {
    await runCommand(page, 'View: Focus First Editor Group');
    await goToLine(page, 1);
    const md = await hoverLine1(page, (t) => /margin/.test(t), 'a hover with scores');
    assert.ok(md.includes(cliScore[0].margin.toFixed(4)), `hover margin ${cliScore[0].margin.toFixed(4)} in: ${md}`);
    await page.mouse.move(5, 5);
  });

  await step('heatmap of line 1: token hover card numbers equal preflens score', async () => {
    await runCommand(page, 'PrefLens: Open Token Heatmap');
    const f = await frameWith('.heat-body .tok');
    await retry(async () => /line 1 ·/.test(await f.locator('.toolbar .title').innerText()), { what: 'the heatmap of line 1' });
    const tok = f.locator('pre.heat[data-r="0"] > .tok:nth-child(3)');
    await retry(async () => {
      await f.locator('.nums').hover({ force: true, timeout: 5000 });
      await tok.hover({ timeout: 5000 });
      await f.locator('.card:not([hidden]) .alt').first().waitFor({ timeout: 4000 });
      return true;
    }, { what: 'the hover card with alternatives' });
    const text = await f.locator('.card').innerText();
    const want = cliScore[0].chosen.tokens[2];
    assert.ok(text.includes(want.logp.toFixed(4)), `logp ${want.logp.toFixed(4)} in card: ${text}`);
    assert.ok(text.includes(want.ref_logp.toFixed(4)), 'reference logp');
    assert.ok(text.includes(want.reward.toFixed(5)), 'reward');
    assert.ok(text.includes(String(want.id)), 'token id');
    assert.equal(await f.locator('.card .alt').count(), 5, 'top-5 alternatives');
    const margin = await f.locator('.nums').innerText();
    assert.ok(margin.includes(cliScore[0].margin.toFixed(4)));
    // The settings give max prompt/completion lengths: the TRL ≤ 0.28 convention, as the CLI used with the same flags.
    assert.match(margin, /tokenized as\s*trl-legacy \(max prompt\/completion lengths are set/);
    // The demo run's dpo_config.json names loss_type sigmoid: the DPO loss comes first.
    assert.ok(margin.trim().startsWith(`sigmoid loss (trained)`) && margin.includes(cliScore[0].dpo_loss.toFixed(4)), margin);
    await shot('heatmap-hover');
    // Keyboard navigation inside the webview: j = next scored record.
    await f.locator('.nums').click();
    await page.keyboard.press('j');
    await retry(async () => /line 2 ·/.test(await f.locator('.toolbar .title').innerText()), { what: 'j to move to line 2' });
  });

  await step('margin dashboard: 20 pairs; clicking a point opens that record in the heatmap', async () => {
    await runCommand(page, 'PrefLens: Open Margin Dashboard');
    const f = await frameWith('#app.dashboard circle.pt');
    assert.equal(await f.locator('circle.pt').count(), 20);
    const acc = cliScore.filter((r) => r.margin > 0).length / 20;
    assert.ok((await f.locator('.cards').innerText()).includes(`${(acc * 100).toFixed(1)}%`), 'implicit accuracy');
    await shot('dashboard');
    const pt = f.locator('circle.pt').nth(7);
    const line = Number(await pt.getAttribute('data-line'));
    await pt.click({ force: true });
    const h = await frameWith('.heat-body .tok');
    await retry(async () => new RegExp(`line ${line} ·`).test(await h.locator('.toolbar .title').innerText()), { what: `the heatmap of line ${line}` });
    await shot('heatmap-from-dashboard');
  });
  await step('hostile dataset text: inspector, heatmap and dashboard show it as text, nothing runs, layout holds, CSP strict', async () => {
    const hostile = join(repo, 'test', 'fixtures', 'hostile.jsonl');
    const titleBefore = await page.title();
    // Quick open accepts an absolute path to a file outside the workspace.
    await quickOpen(page, hostile);
    await retry(async () => (await page.locator('.statusbar-item').allInnerTexts()).some((t) => /TRL standard pairs · 3 records/.test(t)), { what: 'the hostile file to be scanned' });
    await runCommand(page, 'PrefLens: Open Inspector');
    const f = await frameWith('.row[data-index="0"]');
    const checkFrame = async (fr, label) => {
      const st = await fr.evaluate(() => ({
        pwned: window.__pwned,
        title: document.title,
        injected: document.querySelectorAll('#inj, #app img, #app script, #app a[href], #app style, #app div[style*="position:fixed"]').length,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
        // Our scripts are files with the nonce; VS Code's own bridge script has no src. No script holds dataset text.
        scripts: [...document.scripts].map((s) => (s.getAttribute('src') === null || s.nonce !== '') && !s.textContent.includes('__pwned')),
      }));
      assert.equal(st.pwned, undefined, `${label}: a dataset script ran`);
      assert.notEqual(st.title, 'pwned', label);
      assert.equal(st.injected, 0, `${label}: markup from the dataset became elements`);
      assert.ok(st.overflow <= 1, `${label}: the layout overflows by ${st.overflow}px`);
      assert.match(st.csp, /default-src 'none'/, label);
      assert.match(st.csp, /script-src 'nonce-[A-Za-z0-9]+'(;|$)/, `${label}: scripts only by nonce`);
      assert.doesNotMatch(st.csp, /unsafe-(inline|eval)/, label);
      assert.ok(st.scripts.every(Boolean), `${label}: every script is a nonce'd file`);
    };
    for (let i = 0; i < 3; i++) {
      await f.locator(`.row[data-index="${i}"]`).click();
      await retry(async () => (await f.locator('.cand.chosen pre.text').count()) > 0, { what: `hostile record ${i + 1}` });
      await checkFrame(f, `inspector record ${i + 1}`);
      if (i === 0) assert.ok((await f.locator('.prompt').innerText()).includes('<script>document.title'), 'the script is shown as text');
    }
    await shot('hostile-inspector');
    await quickOpen(page, hostile); // focus its text editor
    await page.waitForTimeout(500);
    await runCommand(page, 'PrefLens: Score Records');
    await page.locator('.quick-input-widget input.input').fill('Whole file');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    await retry(async () => (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).every((t) => !/PrefLens: scoring/.test(t)), { what: 'scoring the hostile file' });
    // Scoring 3 records takes about a second (worker start): open the heatmap once they are in.
    const h = await retry(async () => {
      await page.keyboard.press('Escape');
      await runCommand(page, 'PrefLens: Open Token Heatmap');
      const fr = await frameWith('.heat-body .tok');
      return /hostile\.jsonl/.test(await fr.locator('.toolbar .title').innerText()) ? fr : null;
    }, { what: 'the heatmap of the hostile file' });
    for (let i = 0; i < 3; i++) {
      await checkFrame(h, `heatmap record ${i + 1}`);
      await h.locator('.nums').click();
      await page.keyboard.press('j');
      await page.waitForTimeout(300);
    }
    await h.locator('pre.heat[data-r="0"] > .tok').nth(3).hover();
    await checkFrame(h, 'heatmap hover card');
    await shot('hostile-heatmap');
    await runCommand(page, 'PrefLens: Open Margin Dashboard');
    const d = await frameWith('#app.dashboard table.worst');
    await checkFrame(d, 'dashboard');
    assert.doesNotMatch(await page.title(), /pwned/, 'the workbench title was not changed by dataset text');
    void titleBefore;
    await shot('hostile-dashboard');
  });

  await step("Compute Reference Log-Probs… writes the file preflens refs writes; the inspector's Export shown… orders its rows by ref_margin", async () => {
    const hostile = join(repo, 'test', 'fixtures', 'hostile.jsonl');
    const outDir = join(runDir, 'exports');
    mkdirSync(outDir, { recursive: true });
    const refsOut = join(outDir, 'hostile.refs.jsonl');
    /** Types a path into VS Code's save dialog (code-server's is the simple one: a quick input) and accepts it. */
    const saveAs = async (path) => {
      const input = page.locator('.quick-input-widget input.input');
      await retry(async () => /\.jsonl$/.test(await input.inputValue()), { what: 'the save dialog' });
      await input.fill(path);
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
    };
    await quickOpen(page, hostile);
    await page.waitForTimeout(500);
    await runCommand(page, 'PrefLens: Compute Reference Log-Probs…');
    await page.locator('.quick-input-widget input.input').fill('Reference: tiny-hh-sft');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    await saveAs(refsOut);
    await retry(async () => (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).some((t) => /wrote 3 rows to .*hostile\.refs\.jsonl/.test(t)), { what: 'the reference log-probabilities' });
    await shot('refs-written');
    const cliOut = join(outDir, 'hostile.cli.jsonl');
    execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'refs', hostile, '--ref', join(demo, 'models', 'tiny-hh-sft'), '--out', cliOut, '--max-prompt-length', '192', '--max-completion-length', '128'], { stdio: 'pipe' });
    assert.equal(readFileSync(refsOut, 'utf8'), readFileSync(cliOut, 'utf8'), 'the extension writes what the CLI writes');
    const margins = readFileSync(refsOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l).ref_margin);
    assert.ok(margins.every((m) => typeof m === 'number'));
    await page.keyboard.press('Escape');
    // the output, in the inspector: Export shown…, by ref_margin, smallest first
    await quickOpen(page, refsOut);
    await page.waitForTimeout(500);
    await runCommand(page, 'PrefLens: Open Inspector');
    // two inspectors are open (the fixture's, the output's): the output's frame is the one with its name
    const f = await retry(async () => {
      for (const fr of page.frames()) if (/hostile\.refs\.jsonl/.test(await fr.locator('.toolbar .title').innerText({ timeout: 200 }).catch(() => ''))) return fr;
      return null;
    }, { what: 'the inspector of the output' });
    await retry(async () => /3 shown/.test(await f.locator('.count').innerText()), { what: 'its 3 records' });
    await shot('refs-inspector');
    await f.locator('#export').click();
    for (const pick of ['By ref_margin', 'Smallest first']) {
      // each step: its choice listed, narrowed to, taken (the step it belongs to gone before the next is used)
      const input = page.locator('.quick-input-widget input.input');
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: pick }).first();
      await retry(async () => row.isVisible(), { what: `the choice ${pick}` });
      await input.fill(pick);
      await retry(async () => (await input.inputValue()) === pick && (await row.isVisible()), { what: `${pick} typed` });
      await page.keyboard.press('Enter');
      await retry(async () => !(await row.isVisible()), { what: `${pick} taken` });
    }
    const ordered = join(outDir, 'hostile.by-ref-margin.jsonl');
    await saveAs(ordered);
    await retry(async () => (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).some((t) => /wrote 3 records ordered by ref-margin/.test(t)), { what: 'the ordered export' });
    const got = readFileSync(ordered, 'utf8').trim().split('\n').map((l) => JSON.parse(l).ref_margin);
    assert.deepEqual(got, [...margins].sort((a, b) => a - b));
  });

  await step('the shared data files are unchanged', async () => {
    assert.equal(dataDigest(join(shared, 'data')), digestBefore);
  });
} finally {
  console.log(`e2e: screenshots in ${vs.shots}`);
  await vs.stop();
}
// Second session: the demo run as the workspace (Runs view, run curves and checks, SPINAL).
const demoDigest = dataDigest(demo);
const vs2 = await startVsCode({
  workspace: demo,
  vsix,
  runDir: join(runDir, 'runs'),
  settings: {
    'preflens.runRecords.file': devFile,
    'preflens.runRecords.lines': '1-32',
    'preflens.maxPromptLength': 192,
    'preflens.maxCompletionLength': 128,
  },
});
{
  const page2 = vs2.page;
  const shot2 = vs2.shot;
  const frameWith2 = (selector) => findFrame(page2, selector);
  const step2 = stepper(shot2, counts);
  try {
    await step2('Runs view lists the demo run with its trainer, steps and checks', async () => {
      await runCommand(page2, 'View: Show PrefLens');
      let tries = 0;
      const row = await retry(async () => {
        if (++tries % 10 === 0) await runCommand(page2, 'PrefLens: Refresh Runs');
        return (await page2.locator('.pane-body .monaco-list-row').allInnerTexts()).find((t) => /tiny-hh-dpo/.test(t) && /dpo · 339 steps/.test(t));
      }, { what: 'the run in the Runs view' });
      assert.match(row, /2 checks/);
      await page2.locator('.pane-body .monaco-list-row', { hasText: 'tiny-hh-dpo' }).first().click();
    });
    await step2('run view: curves with eval points and a check marker', async () => {
      const f = await frameWith2('figure.chart path.train-line');
      assert.ok((await f.locator('figure.chart').count()) >= 10, 'one chart per series');
      assert.ok((await f.locator('figure.chart[data-series="rewards/accuracies"] circle.eval-pt').count()) >= 4, 'eval points');
      const mark = f.locator('figure.chart[data-series="logps/chosen"] g.check-mark[data-check="likelihood-displacement"]');
      assert.ok((await mark.locator('line').count()) > 0, 'check marker on the chosen logp curve');
      assert.match(await mark.locator('title').textContent(), /chosen log-probability fell/);
      assert.match(await f.locator('.run-checks').innerText(), /over-optimisation/);
      await shot2('run-view');
    });
    await step2('SPINAL traces of the reference, the checkpoints and the final policy', async () => {
      const f = await frameWith2('figure.chart path.train-line');
      await f.locator('vscode-button', { hasText: 'SPINAL' }).click();
      const sp = await frameWith2('.reading');
      await retry(async () => (await sp.locator('.reading').innerText()).length > 20, { what: 'the SPINAL traces' });
      const titles = await sp.locator('circle title').allTextContents();
      const gold = JSON.parse(readFileSync(join(demo, 'golden', 'spinal-sft.json'), 'utf8'));
      assert.ok(titles.includes(`reference, layer 0: ${gold.layers[0].contraction.toFixed(4)}`), 'reference α at layer 0 equals the golden trace');
      const goldDpo = JSON.parse(readFileSync(join(demo, 'golden', 'spinal-dpo.json'), 'utf8'));
      assert.ok(titles.includes(`final (step 339), layer 1: ${goldDpo.layers[1].contraction.toFixed(4)}`), 'final policy α at layer 1 equals the golden trace');
      assert.match(await sp.locator('.reading').innerText(), /PrefLens’ reading/);
      await shot2('spinal');
    });
    await step2('the demo files are unchanged', async () => {
      assert.equal(dataDigest(demo), demoDigest);
    });
  } finally {
    await vs2.stop();
  }
}
// Third session: a LoRA adapter whose base is only in the hub cache, as the policy with no reference.
{
  const vs3 = await startVsCode({
    workspace: join(shared, 'data'),
    vsix,
    runDir: join(runDir, 'adapter'),
    settings: { 'preflens.policyModel': join(demo, 'hf', 'llama-lora'), 'preflens.maxPromptLength': 192, 'preflens.maxCompletionLength': 128 },
  });
  const { page: page3, shot: shot3 } = vs3;
  const step3 = stepper(shot3, counts);
  try {
    await step3('a LoRA adapter whose base is only in the hub cache, as policy with no reference: the Models view says what was opened, and line 1 scores to the golden margin', async () => {
      const gold = JSON.parse(readFileSync(join(demo, 'golden', 'hf', 'lora-dev-1-10.jsonl'), 'utf8').split('\n')[0]);
      await runCommand(page3, 'View: Show PrefLens');
      const rows = await retry(async () => {
        const t = await page3.locator('.pane-body .monaco-list-row').allInnerTexts();
        return t.some((x) => /Policy: llama-lora/.test(x) && /LoRA adapter/.test(x)) && t.some((x) => /Reference: the adapter's base/.test(x)) ? t : null;
      }, { what: 'the adapter and its base in the Models view' });
      assert.ok(rows.some((x) => /LlamaForCausalLM/.test(x)), rows.join(' | '));
      await shot3('models-view-adapter');
      await quickOpen(page3, 'dev.jsonl');
      // Lines… names the records itself: it does not depend on the editor having kept a selection under load.
      await runCommand(page3, 'PrefLens: Score Records');
      const input = page3.locator('.quick-input-widget input.input');
      await input.fill('Lines…');
      await page3.locator('.quick-input-widget .monaco-list-row', { hasText: 'Lines…' }).first().waitFor();
      await page3.keyboard.press('Enter');
      await retry(async () => (await page3.locator('.quick-input-widget').innerText()).includes('score which lines'), { what: 'the lines prompt' });
      // the prompt may still be settling (its value set after it shows): type until it holds what was typed, and
      // wait for it to close on Enter, so that scoring has surely been asked for
      await retry(async () => {
        await input.fill('1-2');
        return (await input.inputValue()) === '1-2';
      }, { tries: 20, what: 'the lines typed into the prompt' });
      await page3.keyboard.press('Enter');
      await retry(async () => !(await page3.locator('.quick-input-widget').isVisible()), { tries: 20, what: 'the lines prompt to close' });
      await retry(async () => (await page3.locator('.notifications-toasts .notification-toast').allInnerTexts()).every((t) => !/PrefLens: scoring/.test(t)), { what: 'scoring with the adapter to finish' });
      await page3.keyboard.press('Escape');
      const md = await hoverLine1(page3, (t) => t.includes(gold.margin.toFixed(4)), `a hover with the adapter's margin ${gold.margin.toFixed(4)}`);
      assert.ok(md.includes(gold.margin.toFixed(4)));
      await shot3('adapter-scored-hover');
      await page3.mouse.move(5, 5);
    });
  } finally {
    await vs3.stop();
  }
}
// Third session, second part: the real Qwen3 tokenizer and chat template (../shared/demo/real-tokenizers), a
// conversational record whose chosen response starts with a space. Qwen3's template renders the final assistant turn
// as content.lstrip('\n'): the space must survive, so the heatmap shows the token " Keep" (id 13655), as TRL trains on.
{
  const rt = join(demo, 'real-tokenizers');
  const rtDigest = dataDigest(rt);
  const vs3b = await startVsCode({
    workspace: join(rt, 'records'),
    vsix,
    runDir: join(runDir, 'qwen3'),
    settings: { 'preflens.policyModel': join(rt, 'models', 'qwen3'), 'preflens.convention': 'trl' },
  });
  const { page: page3b, shot: shot3b } = vs3b;
  const step3b = stepper(shot3b, counts);
  try {
    await step3b("a Qwen3 conversational record scored under trl: its heatmap shows the chosen response's leading-space token ' Keep', and its prompt ids are the chat template's", async () => {
      const cli = JSON.parse(
        execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'score', join(rt, 'records', 'conversational.jsonl'), '--policy', join(rt, 'models', 'qwen3'), '--convention', 'trl', '--lines', '6-6', '--no-cache'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      );
      const keep = cli.chosen.tokens.findIndex((t) => t.id === 13655);
      assert.ok(keep > 0 && cli.chosen.tokens[keep].text === ' Keep', 'the CLI scores the token " Keep"');
      await quickOpen(page3b, 'conversational.jsonl');
      await runCommand(page3b, 'PrefLens: Score Records');
      const input = page3b.locator('.quick-input-widget input.input');
      await input.fill('Lines…');
      await page3b.locator('.quick-input-widget .monaco-list-row', { hasText: 'Lines…' }).first().waitFor();
      await page3b.keyboard.press('Enter');
      await retry(async () => (await page3b.locator('.quick-input-widget').innerText()).includes('score which lines'), { what: 'the lines prompt' });
      await retry(async () => {
        await input.fill('6-6');
        return (await input.inputValue()) === '6-6';
      }, { tries: 20, what: 'the lines typed into the prompt' });
      await page3b.keyboard.press('Enter');
      await retry(async () => !(await page3b.locator('.quick-input-widget').isVisible()), { tries: 20, what: 'the lines prompt to close' });
      await retry(async () => (await page3b.locator('.notifications-toasts .notification-toast').allInnerTexts()).every((t) => !/PrefLens: scoring/.test(t)), { what: 'scoring with Qwen3 to finish' });
      await page3b.keyboard.press('Escape');
      await runCommand(page3b, 'View: Focus First Editor Group');
      await goToLine(page3b, 6);
      // the command again if its webview does not come (on a busy machine its palette row can be clicked while the
      // list still filters), as for the hostile file above
      const f = await retry(async () => {
        await runCommand(page3b, 'PrefLens: Open Token Heatmap');
        const fr = await findFrame(page3b, '.heat-body .tok', { tries: 40 }).catch(() => null);
        return fr && /line 6 ·/.test(await fr.locator('.toolbar .title').innerText()) ? fr : null;
      }, { tries: 4, what: 'the heatmap of line 6' });
      const tok = f.locator(`pre.heat[data-r="0"] > :nth-child(${keep + 1})`);
      assert.equal(await tok.textContent(), ' Keep', 'the token is " Keep", its leading space kept');
      await retry(async () => {
        await f.locator('.nums').hover({ force: true, timeout: 5000 });
        await tok.hover({ timeout: 5000 });
        return (await f.locator('.card:not([hidden])').innerText()).includes('13655');
      }, { what: 'the hover card of " Keep"' });
      const card = await f.locator('.card').innerText();
      assert.ok(card.includes('␣Keep'), `the card shows the space: ${card}`);
      assert.ok(card.includes(cli.chosen.tokens[keep].logp.toFixed(4)), 'and the logp the CLI computed');
      assert.match(await f.locator('.nums').innerText(), /tokenized as\s*trl/);
      await shot3b('qwen3-leading-space');
    });
    await step3b('the real-tokenizer files are unchanged', async () => {
      assert.equal(dataDigest(rt), rtDigest);
    });
  } finally {
    await vs3b.stop();
  }
}
// Fourth session: runs written here (a Trainer run, a LLaMA-Factory run being written, a TensorBoard-only run),
// compared overlaid, smoothed, and one of them appended to while the view is open.
{
  const { mkdtempSync, mkdirSync, writeFileSync, appendFileSync, utimesSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { eventBytes, frame } = await import('../../out/test/tfevents.js');
  const ws = mkdtempSync(join(tmpdir(), 'preflens-e2e-runs-'));
  const noisy = (s, k) => 0.7 - s / (400 * k) + (s % 10 === 0 ? 0.04 : -0.04);
  mkdirSync(join(ws, 'beta-0.1'));
  const hist = Array.from({ length: 40 }, (_, i) => (i + 1) * 5).map((s) => ({ step: s, epoch: s / 100, loss: noisy(s, 1), 'rewards/margins': s / 100, learning_rate: 5e-7 }));
  writeFileSync(join(ws, 'beta-0.1', 'trainer_state.json'), JSON.stringify({ global_step: 200, log_history: hist }));
  mkdirSync(join(ws, 'beta-0.5'));
  const lfRow = (s) => JSON.stringify({ current_steps: s, total_steps: 400, loss: noisy(s, 2), lr: 5e-7, epoch: s / 100 }) + '\n';
  const liveLog = join(ws, 'beta-0.5', 'trainer_log.jsonl');
  writeFileSync(liveLog, Array.from({ length: 30 }, (_, i) => lfRow((i + 1) * 5)).join(''));
  mkdirSync(join(ws, 'tb-only', 'runs', 'Nov29_host'), { recursive: true });
  const tbFile = join(ws, 'tb-only', 'runs', 'Nov29_host', 'events.out.tfevents.1764000000.host.1.0');
  writeFileSync(tbFile, Buffer.concat([frame(eventBytes(0, [])), ...Array.from({ length: 20 }, (_, i) => frame(eventBytes((i + 1) * 10, [{ tag: 'train/loss', simple: 0.69 - i * 0.01 }])))]));
  // a GRPO run with TRL completions (Parquet, written by DuckDB as test/parquet.ts does) and its reward metrics
  const { writeParquet, sql } = await import('../../out/test/parquet.js');
  mkdirSync(join(ws, 'grpo-run', 'completions'), { recursive: true });
  const rollRow = (step, prompt, completion, acc) => `(${step}, ${sql(prompt)}, ${sql(completion)}, ${acc}::DOUBLE, 1.0::DOUBLE, ${acc - 0.5}::DOUBLE)`;
  for (const step of [10, 20]) {
    const rows = [rollRow(step, 'Human: What is 2+2?\n\nAssistant:', ' It is 4.', 1), rollRow(step, 'Human: What is 2+2?\n\nAssistant:', ' Five, I think.', 0), rollRow(step, 'Human: Name a colour.\n\nAssistant:', ' Blue.', 1), rollRow(step, 'Human: Name a colour.\n\nAssistant:', ' Red.', 1)];
    await writeParquet(join(ws, 'grpo-run', 'completions', `completions_000${step}.parquet`), `SELECT * FROM (VALUES ${rows.join(', ')}) t(step, prompt, completion, accuracy_reward, format_reward, advantage)`);
  }
  writeFileSync(join(ws, 'grpo-run', 'trainer_state.json'), JSON.stringify({ global_step: 20, log_history: [10, 20].map((s) => ({ step: s, loss: 0.01, reward: 1.5, 'rewards/accuracy_reward/mean': 0.75, 'rewards/format_reward/mean': 1, frac_reward_zero_std: 0.5 })) }));
  // a Parquet preference file (the HH dev split's first 200 records, Snappy, 2 row groups of at least 2,048 rows:
  // so 200 rows in one) beside the runs
  await writeParquet(join(ws, 'hh-dev.parquet'), `SELECT * FROM read_json('${devFile}') LIMIT 200`, 'COMPRESSION snappy');
  const old = new Date(Date.now() - 3600_000);
  for (const f of [join(ws, 'beta-0.1', 'trainer_state.json'), join(ws, 'grpo-run', 'trainer_state.json'), tbFile]) utimesSync(f, old, old);
  const vs4 = await startVsCode({
    workspace: ws,
    vsix,
    runDir: join(runDir, 'compare'),
    settings: { 'preflens.policyModel': join(demo, 'runs', 'tiny-hh-dpo'), 'preflens.referenceModel': join(demo, 'models', 'tiny-hh-sft') },
  });
  const { page: page4, shot: shot4 } = vs4;
  const step4 = stepper(shot4, counts);
  const rowOf = (name) => page4.locator('.pane-body .monaco-list-row', { hasText: name }).first();
  try {
    await step4('Runs view finds the Trainer, LLaMA-Factory and TensorBoard-only runs, and marks the one being written live', async () => {
      await runCommand(page4, 'View: Show PrefLens');
      const rows = await retry(async () => {
        const t = await page4.locator('.pane-body .monaco-list-row').allInnerTexts();
        return ['beta-0.1', 'beta-0.5', 'tb-only', 'grpo-run'].every((n) => t.some((x) => x.includes(n))) ? t : null;
      }, { what: 'the three runs in the Runs view' });
      assert.match(rows.find((x) => x.includes('beta-0.5')), /live · /);
      assert.doesNotMatch(rows.find((x) => x.includes('beta-0.1')), /live/);
      assert.match(rows.find((x) => x.includes('tb-only')), /20 steps|200 steps/);
      await shot4('runs-view-live');
    });
    await step4('two runs selected in the Runs view and compared: overlaid with a legend; the smoothing slider redraws them', async () => {
      await rowOf('beta-0.1').click();
      // a click opens that run: wait for its panel, which takes the focus, before using the command palette
      const single = await findFrame(page4, '.run-legend .legend-item');
      await retry(async () => (await single.locator('.run-legend').innerText()).includes('beta-0.1'), { what: 'the clicked run in the run panel' });
      await rowOf('beta-0.5').click({ modifiers: ['Control'] });
      await runCommand(page4, 'PrefLens: Compare Runs');
      const f = await findFrame(page4, '.run-legend .legend-item');
      await retry(async () => (await f.locator('.run-legend .legend-item').count()) === 2, { what: 'two runs in the legend' });
      assert.equal(await f.locator('figure.chart[data-series="loss"] path.train-line').count(), 2);
      const curve = f.locator('figure.chart[data-series="loss"] path.train-line').first();
      const before = await curve.getAttribute('d');
      await f.locator('#smoothing').fill('0.95');
      await retry(async () => (await curve.getAttribute('d')) !== before, { tries: 20, what: 'the curve redrawn after moving the slider' });
      assert.equal(await f.locator('figure.chart[data-series="loss"] path.raw-line').count(), 2, 'the raw curves faint behind');
      // the crosshair: hovering the loss chart reads both runs there, on every chart
      const area = await f.locator('figure.chart[data-series="loss"] rect.hover-area').boundingBox();
      await page4.mouse.move(area.x + area.width * 0.6, area.y + area.height / 2);
      const reading = await retry(async () => {
        const t = await f.locator('figure.chart[data-series="rewards/margins"] .readout .reading-item').allInnerTexts();
        return t.length === 2 ? t : null;
      }, { tries: 20, what: 'the crosshair reading both runs' });
      assert.match(reading[0], /beta-0\.1: [0-9.]+ \(raw [0-9.]+\)/);
      await shot4('runs-overlaid');
    });
    await step4('a live trainer_log.jsonl appended while the view is open: the chart redraws within 2 s', async () => {
      const f = await findFrame(page4, '.run-legend .legend-item');
      const raw = f.locator('figure.chart[data-series="loss"] g[data-run$="beta-0.5"] path.raw-line');
      const points = async () => ((await raw.getAttribute('d')) ?? '').split('L').length;
      const n0 = await points();
      const t = Date.now();
      appendFileSync(liveLog, lfRow(155) + lfRow(160));
      let ms = 0;
      for (;;) {
        if ((await points()) >= n0 + 2) {
          ms = Date.now() - t;
          break;
        }
        if (Date.now() - t > 10_000) throw new Error('no redraw 10 s after the append');
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log(`  live redraw ${ms} ms after the append`);
      assert.ok(ms < 2000, `redrawn ${ms} ms after the write`);
      await shot4('run-live-appended');
    });
    await step4('a GRPO run\'s Rollouts panel: groups per step, completions side by side, a group scored under the policy and the reference', async () => {
      await rowOf('grpo-run').click();
      const f = await findFrame(page4, '.run-detail vscode-button');
      await retry(async () => (await f.locator('.run-legend .legend-item').allInnerTexts()).some((t) => t.includes('grpo-run')), { what: 'the GRPO run in the run panel' });
      await f.locator('.run-detail vscode-button', { hasText: 'Rollouts' }).click();
      const r = await findFrame(page4, 'table.groups tr.row');
      assert.match(await r.locator('.toolbar .title').innerText(), /TRL completions · 2 steps · 4 groups · rewards: accuracy_reward, format_reward/);
      assert.deepEqual(await r.locator('table.groups tr.row td:nth-child(6)').allInnerTexts(), ['yes', 'zero variance']);
      await r.locator('table.groups tr.row').first().click();
      assert.equal(await r.locator('.completions .completion').count(), 2);
      assert.match(await r.locator('.completion').nth(1).innerText(), /Five, I think\./);
      await shot4('rollouts');
      await r.locator('#score-group').click();
      await retry(async () => (await r.locator('.completion pre.text span.tok').count()) > 0, { what: 'the scored group\'s tokens' });
      assert.match(await r.locator('.completion pre.text span.tok').first().getAttribute('title'), /logp -?[0-9.]+ {2}ref -?[0-9.]+ {2}logp − ref/);
      assert.match(await r.locator('.score-note').innerText(), /tiny-hh-dpo against .*tiny-hh-sft/);
      await shot4('rollouts-scored');
    });
    await step4('a Parquet preference file opens in the inspector (records numbered by row, read where the file lies: nothing written) and its findings are listed in the Datasets view', async () => {
      const cliStats = JSON.parse(execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'stats', join(ws, 'hh-dev.parquet'), '--json'], { encoding: 'utf8' }));
      // every file under the workspace and the extension's storage before the Parquet file is opened
      const files = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()) : []);
      const storage = join(runDir, 'compare', 'user-data', 'User', 'globalStorage', 'preflens.preflens');
      const before = { ws: new Set(files(ws)), storage: new Set(files(storage)) };
      await quickOpen(page4, 'hh-dev.parquet');
      const f = await findFrame(page4, '.list .row');
      await retry(async () => /200 records/.test(await f.locator('.toolbar .title').innerText()), { what: 'the Parquet file\'s 200 records in the inspector' });
      // (the row once its record has come: a row still waiting for it is a placeholder, which a click does not select)
      await f.locator('.list .row[data-index="2"]').click();
      await retry(async () => /^Row 3 · record 3 of 200/.test(await f.locator('.rec-title').innerText()), { what: 'row 3 selected' });
      assert.ok((await f.locator('.detail .cands').innerText()).includes(cut(rec3.chosen).trim().slice(0, 30)), 'row 3 is the file\'s third record');
      await shot4('parquet-inspector');
      await runCommand(page4, 'View: Show PrefLens');
      const rows = await retry(async () => {
        const t = await page4.locator('.pane-body .monaco-list-row').allInnerTexts();
        return t.some((x) => /hh-dev\.parquet/.test(x) && /200 records/.test(x)) ? t : null;
      }, { what: 'the Parquet file in the Datasets view' });
      for (const [check, list] of Object.entries(cliStats.checks)) if (list.length) assert.ok(rows.some((x) => x.includes(check) && x.includes(`${list.length} row`)), `${check}: ${list.length} rows as the CLI says (${rows.join(' | ')})`);
      await shot4('parquet-datasets-view');
      // no copy of the file anywhere: nothing new in the workspace, nothing about it in the extension's storage
      const newWs = files(ws).filter((f) => !before.ws.has(f));
      assert.deepEqual(newWs.filter((f) => /parquet|hh-dev|\.jsonl$/.test(f)), [], `files written into the workspace: ${newWs.join(', ')}`);
      const newStorage = files(storage).filter((f) => !before.storage.has(f));
      assert.deepEqual(newStorage.filter((f) => /parquet|hh-dev|\.jsonl$/.test(f)), [], `the extension's storage gained ${newStorage.join(', ')}`);
    });
  } finally {
    await vs4.stop();
  }
}
console.log(`e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
