// bench/scale: a 2 GB JSON Lines file with about 1,000,000 records in a real VS Code (code-server + Chromium); with
// --parquet, the 1 GB UltraFeedback-shaped JSON Lines file of bench/gen-hub.mjs as Snappy Parquet (about 480 MB), read
// where it lies. Measures: time until the status bar and the inspector's first records appear, time until the full
// index is ready (beside `preflens stats` on the same file, timed first), jumping to and showing the last record, the
// extension host's peak memory (VmHWM of its process), and (Parquet) that nothing new appears in the workspace or the
// extension's storage.
// Usage: npm run build && bash test/e2e/install.sh && node bench/scale.mjs [--size 2g | --parquet]
// Last line: {"bytes", "records", "first_records_s", "full_index_s", "cli_stats_s", "last_record_ok", "exthost_peak_mb", "written"}
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from './gen-hh.mjs';
import { hubFile } from './gen-hub.mjs';
import { startVsCode, retry, findFrame, repo, logFiles } from '../test/e2e/harness.mjs';

const args = process.argv.slice(2);
const parquet = args.includes('--parquet');
const sizeArg = args.includes('--size') ? args[args.indexOf('--size') + 1] : '2g';
const size = Math.round(Number(sizeArg.replace(/[gm]$/i, '')) * (/g$/i.test(sizeArg) ? 1e9 : 1e6));
const dir = join(repo, 'bench', '.data', parquet ? 'scale-parquet' : `scale-${size}`);
mkdirSync(dir, { recursive: true });
const name = parquet ? 'ultrafeedback.parquet' : 'big.jsonl';
const file = join(dir, name);
if (!existsSync(file)) {
  if (parquet) linkSync(await hubFile(join(repo, 'bench', '.data'), 'ultrafeedback', 1e9, 'parquet'), file);
  else {
    console.error(`generating ${file}…`);
    const g = await generate(file, size, 99, 1.8);
    console.error(`  ${g.records} records`);
  }
}
const bytes = statSync(file).size;
const cli = join(repo, 'dist', 'cli.js');
// the CLI's stats on the same file, for the full index's ratio (the second of two runs: the first warms the cache)
let cliStats = 0;
for (let i = 0; i < 2; i++) {
  const t = Date.now();
  execFileSync(process.execPath, [cli, 'stats', file, '--json'], { stdio: 'pipe', maxBuffer: 1 << 28 });
  cliStats = (Date.now() - t) / 1000;
}
const lastLine = parquet ? JSON.parse(execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(repo, 'out', 'src', 'core', 'parquet', 'parquet.js'))}).openParquet(${JSON.stringify(file)}).then((p) => console.log(p.rows))`]).toString()) : Number(execSync(`wc -l < "${file}"`).toString().trim());
const files = (d) => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).filter((f) => statSync(join(d, f)).isFile()) : []);
const vsix = join(repo, 'dist', 'preflens.vsix');
execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', vsix], { cwd: repo, stdio: 'pipe' });
const runDir = join(repo, 'bench', '.data', 'scale-run');
const vs = await startVsCode({ workspace: dir, vsix, runDir });
const { page, shot } = vs;
const storage = join(runDir, 'user-data', 'User', 'globalStorage', 'preflens.preflens');
const before = { ws: new Set(files(dir)), storage: new Set(files(storage)) };

function exthostPeakMb() {
  const out = execSync("ps -eo pid,args | grep -E 'extensionHost|bootstrap-fork.*--type=extensionHost' | grep -v grep || true").toString();
  let peak = 0;
  for (const line of out.split('\n')) {
    const pid = line.trim().split(/\s+/)[0];
    if (!pid) continue;
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {}
  }
  return peak;
}

let result = { bytes, records: 0, first_records_s: null, full_index_s: null, cli_stats_s: cliStats, last_record_ok: false, exthost_peak_mb: 0, written: [] };
try {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 30000 });
  await page.waitForTimeout(1500); // the extension's menu contributions register after the workbench starts
  // the extension activated (workspaceContains: the extension host's search of the workspace can take seconds) and
  // settled (its host worker started, the models checked): the time measured is opening a file, not starting VS Code
  const activated = () => logFiles(join(runDir, 'user-data'), /exthost\.log$/).some((f) => /_doActivateExtension preflens\.preflens/.test(readFileSync(f.path, 'utf8')));
  await retry(async () => activated(), { tries: 600, delay: 100, what: 'the extension to activate' });
  await page.waitForTimeout(1000);
  // The status bar's texts timed where they change, by an observer in the workbench, not polled through Playwright
  // (each poll a round trip through the browser on the two cores the scan runs on, up to 50 ms late): the first time
  // an item shows records, and the first time one shows the whole index (records, not scanning).
  await page.evaluate(() => {
    const times = { records: 0, full: 0 };
    window.__preflensTimes = times;
    const look = () => {
      for (const item of document.querySelectorAll('.statusbar-item')) {
        const t = item.textContent ?? '';
        if (!/records/.test(t)) continue;
        times.records ||= Date.now();
        if (/records ·/.test(t) && !/scanning/.test(t)) times.full ||= Date.now();
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const statusTimes = () => page.evaluate(() => window.__preflensTimes);
  let t0;
  if (parquet) {
    // a Parquet file opens in the inspector, its custom editor, from the explorer
    t0 = Date.now();
    await row.dblclick();
  } else {
    await row.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: /Open Inspector/ }).first();
    await item.waitFor({ timeout: 10000 });
    t0 = Date.now();
    await item.click();
    // a click that comes as the menu opens can be dropped (the menu stays open, its item highlighted)
    if (await item.isVisible().catch(() => false)) await page.keyboard.press('Enter');
  }
  // the inspector's first row, polled in every frame every 50 ms (Playwright's in-page wait, tried instead, came up to
  // 0.5 s late in a webview's frame)
  const frame = await findFrame(page, '.row[data-index="0"]', { tries: 600, delay: 50 });
  const rowsShown = Date.now();
  const shown = await retry(async () => ((await statusTimes()).records ? statusTimes() : null), { tries: 400, delay: 50, what: 'the status bar' });
  result.first_records_s = (Math.max(rowsShown, shown.records) - t0) / 1000;
  await shot('first-records');
  const done = await retry(async () => ((await statusTimes()).full ? statusTimes() : null), { tries: 1200, delay: 100, what: 'the full index' });
  result.full_index_s = (done.full - t0) / 1000;
  const statusText = (await page.locator('.statusbar-item').allInnerTexts()).find((t) => /records ·/.test(t) && !/scanning/.test(t));
  result.records = Number(/([\d,]+) records/.exec(statusText)[1].replace(/,/g, ''));
  // Jump to the last record and show it; scroll the list to its end.
  await retry(async () => (await frame.locator('.toolbar .count').innerText()).replace(/,/g, '').startsWith(String(result.records)), { tries: 100, what: 'the inspector to list every record' });
  const jump = frame.locator('#jump');
  await jump.click();
  await page.keyboard.type(String(lastLine));
  await page.keyboard.press('Enter');
  await retry(async () => new RegExp(`^(Line|Row) ${lastLine} `).test(await frame.locator('.rec-title').innerText()), { tries: 100, what: 'the last record' });
  await frame.locator('.list').focus();
  await page.keyboard.press('End');
  await retry(async () => (await frame.locator(`.row[data-index="${result.records - 1}"]`).count()) > 0, { tries: 100, what: 'the last row in the list' });
  result.last_record_ok = true;
  await shot('last-record');
  // what the extension wrote while it indexed and showed the file (a Parquet file: nothing about it)
  result.written = [...files(dir).filter((f) => !before.ws.has(f)), ...files(storage).filter((f) => !before.storage.has(f)).map((f) => `storage/${f}`)];
} catch (e) {
  console.log(`scale: ${e.message}`);
  await shot('failed').catch(() => undefined);
} finally {
  result.exthost_peak_mb = Math.round(exthostPeakMb());
  await vs.stop();
}
console.log(`file            ${file} (${(bytes / 1e9).toFixed(2)} GB, ${result.records.toLocaleString('en-US')} records)`);
console.log(`first records   ${result.first_records_s} s (status bar + inspector rows; target ≤ 2 s)`);
console.log(`full index      ${result.full_index_s} s (preflens stats on the same file: ${cliStats.toFixed(2)} s; ratio ${(result.full_index_s / cliStats).toFixed(2)}, target ≤ 2)`);
console.log(`written         ${result.written.length ? result.written.join(', ') : 'nothing'}`);
console.log(`last record     ${result.last_record_ok ? 'shown (jump to line and End in the list)' : 'NOT shown'}`);
console.log(`ext host peak   ${result.exthost_peak_mb} MB (VmHWM; target < 500 MB)`);
console.log(`screenshots     ${vs.shots}`);
const { writeFileSync } = await import('node:fs');
writeFileSync(join(repo, 'bench', '.data', 'scale-result.json'), JSON.stringify(result));
console.log(JSON.stringify(result));
