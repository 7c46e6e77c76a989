// bench/score-one: the time to score one record must not grow with the file. Scores line 5 of the 1 GB bench file
// (bench/scan's, generated when absent) and line 5 of ../shared/data/hh-harmless/dev.jsonl (1,800 records, 3 MB),
// in the same run:
// - CLI: `preflens score FILE --lines 5-5` (model load included, no score cache), median of --repeat runs each;
// - extension: in a real VS Code (code-server + Chromium), PrefLens: Score Records → Lines… → 5 (VS Code opens no
//   1 GB file in its text editor, so there is no cursor to score the record under), from
//   the command until the scored record is in (the extension's log says so), once right after the file opens (only
//   the head of the big file is indexed then) and once with the full index.
// Usage: npm run build && bash test/e2e/install.sh && node bench/score-one.mjs [--repeat 5] [--no-vscode]
// Last line: {"cli_big_s", "cli_dev_s", "cli_ratio", "ext_big_open_s", "ext_dev_open_s", "ext_big_indexed_s", "ext_dev_indexed_s", "ext_ratio"}
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './gen-hh.mjs';

const repo = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const repeat = Number(args.includes('--repeat') ? args[args.indexOf('--repeat') + 1] : '5');
const shared = resolve(repo, '..', 'shared');
const dev = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
const policy = join(shared, 'demo', 'runs', 'tiny-hh-dpo');
const reference = join(shared, 'demo', 'models', 'tiny-hh-sft');
if (!existsSync(dev)) {
  console.log(`bench/score-one: skipped: ${dev} is absent`);
  process.exit(0);
}
const dataDir = join(repo, 'bench', '.data');
mkdirSync(dataDir, { recursive: true });
const big = join(dataDir, 'hh-1000000000.jsonl');
if (!existsSync(big)) {
  process.stderr.write(`generating ${big} (1 GB)…\n`);
  await generate(big, 1e9);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- CLI ----
const cli = join(repo, 'dist', 'cli.js');
function cliOnce(file) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, 'score', file, '--policy', policy, '--ref', reference, '--lines', '5-5', '--max-prompt-length', '192', '--max-completion-length', '128', '--no-cache', '--device', 'cpu'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return (performance.now() - t) / 1000;
}
const cliBig = [];
const cliDev = [];
for (let i = 0; i < repeat; i++) {
  cliBig.push(cliOnce(big));
  cliDev.push(cliOnce(dev));
}
const result = { cli_big_s: median(cliBig), cli_dev_s: median(cliDev), cli_ratio: median(cliBig) / median(cliDev) };
console.log(`CLI        line 5 of ${(statSync(big).size / 1e9).toFixed(2)} GB: ${result.cli_big_s.toFixed(2)} s   of dev.jsonl: ${result.cli_dev_s.toFixed(2)} s   ratio ${result.cli_ratio.toFixed(2)} (median of ${repeat}; runs ${cliBig.map((x) => x.toFixed(2)).join(' ')} / ${cliDev.map((x) => x.toFixed(2)).join(' ')})`);

// ---- extension ----
if (!args.includes('--no-vscode')) {
  const { startVsCode, runCommand, quickOpen, retry } = await import('../test/e2e/harness.mjs');
  const vsix = join(repo, 'dist', 'preflens.vsix');
  execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', vsix], { cwd: repo, stdio: 'pipe' });
  const runDir = join(dataDir, 'score-one-run');
  // Both files in one workspace folder, opened the same way: VS Code shows no 1 GB file in its text editor, so the
  // user opens it in the PrefLens inspector (explorer context menu) and scores from there.
  const ws = join(dataDir, 'score-one-ws');
  mkdirSync(ws, { recursive: true });
  for (const [name, target] of [['big.jsonl', big], ['dev.jsonl', dev]]) {
    const link = join(ws, name);
    if (!existsSync(link)) symlinkSync(target, link);
  }
  const vs = await startVsCode({
    workspace: ws,
    vsix,
    runDir,
    settings: { 'preflens.policyModel': policy, 'preflens.referenceModel': reference, 'preflens.maxPromptLength': 192, 'preflens.maxCompletionLength': 128 },
  });
  const { page } = vs;
  /** The PrefLens output log's text (the extension logs every scoring it finishes). */
  const logText = () => {
    let out = '';
    const walk = (d) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/PrefLens\.log$/.test(n)) out += readFileSync(p, 'utf8');
      }
    };
    walk(join(runDir, 'user-data', 'logs'));
    return out;
  };
  const scoredCount = (file) => (logText().match(new RegExp(`scored 1 records of file://${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `, 'g')) ?? []).length;
  /** Score Records → Lines… → 5, until the log reports the scored record (VS Code shows no 1 GB file in a text editor). */
  async function scoreLine5(file) {
    const before = scoredCount(file);
    // Keys typed in a webview stay there: give the workbench the focus first.
    await page.locator('.explorer-folders-view').first().click({ position: { x: 120, y: 300 } });
    await runCommand(page, 'PrefLens: Score Records');
    const input = page.locator('.quick-input-widget input.input');
    await input.fill('Lines…');
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    await retry(async () => /score which lines/.test(await page.locator('.quick-input-widget').innerText()), { what: 'the line input' });
    await input.fill('5');
    await page.waitForTimeout(100);
    const t = performance.now();
    await page.keyboard.press('Enter');
    await retry(async () => scoredCount(file) > before, { delay: 20, what: `line 5 of ${file} to be scored` });
    return (performance.now() - t) / 1000;
  }
  const statusRecords = () => retry(async () => (await page.locator('.statusbar-item').allInnerTexts()).some((t) => /records/.test(t)), { delay: 50, what: 'the status bar' });
  const indexed = () => retry(async () => (await page.locator('.statusbar-item').allInnerTexts()).some((t) => /records ·/.test(t) && !/scanning|first records|indexing/i.test(t)), { delay: 100, what: 'the full index' });
  /** Opens a workspace file in the PrefLens inspector from the explorer's context menu. */
  async function openInInspector(name) {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await retry(async () => (await row.count()) > 0, { what: `${name} in the explorer` });
    await row.click({ button: 'right' });
    // The menu item, clicked where it is drawn (an earlier menu's items may linger, detached, in the DOM).
    await retry(async () => {
      const items = page.locator('.context-view .action-label', { hasText: /^Open Inspector$/ });
      for (let i = (await items.count()) - 1; i >= 0; i--) {
        const box = await items.nth(i).boundingBox();
        if (box && box.width > 0) {
          // Hovering focuses the item; Enter runs it (a click on this menu is sometimes swallowed).
          await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
          await page.keyboard.press('Enter');
          return true;
        }
      }
      return false;
    }, { what: 'the Open Inspector menu item' });
    await retry(async () => (await page.locator('.context-view-block').count()) === 0 || !(await page.locator('.context-view-block').first().isVisible()), { what: 'the menu to close' });
  }
  try {
    await page.waitForTimeout(1500); // the extension's menu contributions register after the workbench starts
    // The first scoring starts a worker and loads onnxruntime: warm up on dev.jsonl, not counted.
    await openInInspector('dev.jsonl');
    await statusRecords();
    await scoreLine5(join(ws, 'dev.jsonl'));
    for (const name of ['big', 'dev']) {
      const file = join(ws, `${name}.jsonl`);
      await openInInspector(`${name}.jsonl`);
      await statusRecords();
      result[`ext_${name}_open_s`] = await scoreLine5(file);
      await indexed();
      const runs = [];
      for (let i = 0; i < repeat; i++) runs.push(await scoreLine5(file));
      result[`ext_${name}_indexed_s`] = median(runs);
      console.log(`extension  ${name}: just opened ${result[`ext_${name}_open_s`].toFixed(2)} s; indexed ${runs.map((x) => x.toFixed(2)).join(' ')} s`);
    }
    await vs.shot('scored');
    result.ext_ratio = result.ext_big_indexed_s / result.ext_dev_indexed_s;
    console.log(`extension  line 5 just after opening: ${result.ext_big_open_s.toFixed(2)} s (1 GB) / ${result.ext_dev_open_s.toFixed(2)} s (dev.jsonl); indexed: ${result.ext_big_indexed_s.toFixed(2)} s / ${result.ext_dev_indexed_s.toFixed(2)} s (median of ${repeat})   ratio ${result.ext_ratio.toFixed(2)}`);
  } catch (e) {
    await vs.shot('score-one-failed').catch(() => {});
    console.log(`score-one: extension: ${e.message.split("\n").slice(0, 12).join(" | ")} (screenshots in ${vs.shots})`);
  } finally {
    await vs.stop();
  }
}
console.log(JSON.stringify(result));
