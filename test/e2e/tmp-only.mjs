// End-to-end test in a real VS Code (code-server + headless Chromium): foundation features on real HH data.
// Prints `N passed, N failed` and exits non-zero on failure. Skips (with the reason) when ../shared is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { startVsCode, runCommand, quickOpen, retry, webviewFrame, findFrame, stepper, repo } from './harness.mjs';

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
    await step4('a Parquet preference file opens in the inspector (records numbered by row) and its findings are listed in the Datasets view', async () => {
      const cliStats = JSON.parse(execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'stats', join(ws, 'hh-dev.parquet'), '--json'], { encoding: 'utf8' }));
      await quickOpen(page4, 'hh-dev.parquet');
      const f = await findFrame(page4, '.list .row');
      await retry(async () => /200 records/.test(await f.locator('.toolbar .title').innerText()), { what: 'the Parquet file\'s 200 records in the inspector' });
      await f.locator('.list .row').nth(2).click();
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
    });
  } finally {
    await vs4.stop();
  }
}
console.log(`e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
