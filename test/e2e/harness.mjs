// Real-VS-Code harness: code-server 4.100.3 + Debian's headless Chromium driven by playwright-core (how it runs
// here: docs/ARCHITECTURE.md, "Tests"). Used by run.mjs and bench/scale.mjs; every process it starts is stopped by PID.
//
// Waits follow progress, not the clock: `retry` keeps trying while the extension shows that it is working (its
// notifications, its status-bar item, its output log growing) and gives up only after `stallMs` without any change,
// so a machine that is busy with something else makes a test slower, not red.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const here = resolve(import.meta.dirname);
export const repo = resolve(here, '..', '..');
const codeServer = join(here, 'node_modules', '.bin', 'code-server');

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

export async function startVsCode({ workspace, vsix, runDir, settings = {} }) {
  if (!existsSync(codeServer)) throw new Error(`code-server is not installed: run bash test/e2e/install.sh`);
  rmSync(runDir, { recursive: true, force: true });
  const home = join(runDir, 'home');
  const user = join(runDir, 'user-data');
  const exts = join(runDir, 'extensions');
  const shots = join(runDir, 'screenshots');
  for (const d of [home, join(user, 'User'), exts, shots]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(user, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'editor.hover.delay': 200,
      'window.commandCenter': false,
      'chat.commandCenter.enabled': false,
      'workbench.colorTheme': 'Default Dark Modern',
      // The harness opens shared, real data: nothing typed in a test may ever reach those files.
      'files.readonlyInclude': { '**': true },
      'files.autoSave': 'off',
      'git.enabled': false,
      'git.openRepositoryInParentFolders': 'never',
      ...settings,
    }),
  );
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local/share') };
  execFileSync(codeServer, ['--user-data-dir', user, '--extensions-dir', exts, '--install-extension', vsix], { env, stdio: 'pipe', timeout: 120000 });
  const port = await freePort();
  const server = spawn(
    codeServer,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--ignore-last-opened', '--user-data-dir', user, '--extensions-dir', exts, workspace],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let serverLog = '';
  server.stdout.on('data', (b) => (serverLog += b));
  server.stderr.on('data', (b) => (serverLog += b));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  const browser = await chromium.launchPersistentContext(join(runDir, 'chromium'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  let n = 0;
  const shot = async (name) => {
    const p = join(shots, `${String(++n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: p });
    return p;
  };
  const stop = async () => {
    await browser.close().catch(() => {});
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (server.exitCode === null) server.kill('SIGKILL');
  };
  const progress = () => progressSignature(page, user);
  session.progress = progress;
  return { page, url, shot, stop, shots, progress, serverLog: () => serverLog };
}

/** The session whose progress `retry` follows by default (the one started last). */
const session = { progress: null };

/** The log files under a user-data folder whose names match `name` (paths and sizes; a file that vanished is left out). */
export function logFiles(dir, name) {
  const out = [];
  const walk = (d, depth) => {
    let names = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory() && depth < 6) walk(p, depth + 1);
      else if (name.test(n)) out.push({ path: p, name: n, size: st.size });
    }
  };
  walk(join(dir, 'logs'), 0);
  return out;
}

/** The text of the PrefLens output-channel logs under a user-data folder (what the extension said it did). */
export function prefLensLogs(dir) {
  return logFiles(dir, /PrefLens\.log$/)
    .map((f) => {
      try {
        return readFileSync(f.path, 'utf8');
      } catch {
        return '';
      }
    })
    .join('');
}

/** Sizes of the PrefLens output-channel logs under a user-data folder (they grow as jobs report progress). */
function logSizes(dir) {
  return logFiles(dir, /PrefLens\.log$/)
    .map((f) => `${f.name}:${f.size};`)
    .join('');
}

/** Everything that changes while the extension works: notifications, status-bar items, its output log. */
async function progressSignature(page, userDir) {
  const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts().catch(() => []);
  const status = await page.locator('.statusbar-item').allInnerTexts().catch(() => []);
  return `${toasts.join('|')}#${status.join('|')}#${logSizes(userDir)}`;
}

export async function runCommand(page, title) {
  // Pick the row whose label is exactly the command (the first row is not always it), with a few tries while the
  // workbench finishes starting.
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input.input');
    const row = page.locator('.quick-input-widget .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: title }) }).first();
    try {
      // the palette can close again at once when an editor opened by an earlier action takes the focus: try again
      await input.waitFor({ state: 'visible', timeout: 10000 });
      await input.fill(`>${title}`, { timeout: 5000 });
      await row.waitFor({ timeout: 8000 });
      await page.waitForTimeout(200);
      await row.click();
      return;
    } catch (e) {
      // (Escape only to a palette still open: in a text editor it would collapse the selection a step made)
      if (await page.locator('.quick-input-widget').isVisible().catch(() => false)) await page.keyboard.press('Escape');
      if (attempt >= 3) throw e;
      await page.waitForTimeout(1000);
    }
  }
}

/**
 * Moves the active text editor's cursor to line n through the go-to-line prompt: the line typed (and read back), then
 * Enter, then the status bar's position waited for (a key pressed before the prompt has taken the text is lost on a
 * loaded machine).
 */
export async function goToLine(page, n) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await retry(async () => {
    await input.fill(`:${n}`);
    return (await input.inputValue()) === `:${n}`;
  }, { tries: 20, what: `:${n} typed into the prompt` });
  await page.keyboard.press('Enter');
  await retry(async () => (await page.locator('.statusbar-item').allInnerTexts()).some((t) => new RegExp(`\\bLn ${n},`).test(t)), { tries: 40, what: `the cursor on line ${n}` });
}

export async function quickOpen(page, name) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);
  await page.keyboard.press('Enter');
}

/**
 * Calls fn until it returns a truthy value. With `tries`, at most that many times (short UI settling, where nothing
 * else can move); otherwise for as long as the session shows progress, failing after `stallMs` without any.
 */
export async function retry(fn, { tries, delay = 500, what = 'condition', progress = session.progress, stallMs = 90_000 } = {}) {
  let last;
  let sig;
  let changed = Date.now();
  for (let i = 0; tries !== undefined || !progress ? i < (tries ?? 20) : true; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (tries === undefined && progress) {
      const now = await progress().catch(() => sig);
      if (now !== sig) {
        sig = now;
        changed = Date.now();
      } else if (Date.now() - changed > stallMs) throw new Error(`no progress for ${stallMs / 1000} s while waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** The innermost webview frame that contains `selector` (webviews are two iframes deep). */
export function findFrame(page, selector, { tries, delay = 500 } = {}) {
  return retry(async () => {
    for (const f of page.frames()) if ((await f.locator(selector).count().catch(() => 0)) > 0) return f;
    return null;
  }, { tries, delay, what: `a webview with ${selector}` });
}

/** A test step runner: prints ok / not ok, counts into `counts`, screenshots a failure with `shot`. */
export function stepper(shot, counts) {
  return async (name, fn) => {
    const t = Date.now();
    try {
      await fn();
      counts.passed++;
      console.log(`ok - ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      counts.failed++;
      console.log(`not ok - ${name}: ${e.message}`);
      await shot(`FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {});
    }
  };
}

/** The innermost frame of the active webview. */
export function webviewFrame(page) {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
}
