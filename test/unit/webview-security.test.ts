/** Static checks of every webview the host creates: local resources only from the extension's dist/webview and media. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

test('every webview limits localResourceRoots to the extension (dist/webview, media) and uses the CSP shell', () => {
  // All webviews get their options from webviewHtml.ts (webviewOptions / createPanel): check that one definition
  // and that every surface goes through it.
  const dir = join(repoRoot, 'src', 'host');
  let panels = 0;
  let definitions = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    const roots = [...src.matchAll(/localResourceRoots:\s*\[([^\]]*)\]/g)].map((m) => m[1]);
    if (f !== 'webviewHtml.ts') {
      assert.equal(roots.length, 0, `${f} sets its own localResourceRoots instead of webviewOptions()`);
      assert.doesNotMatch(src, /createWebviewPanel\(/, `${f} creates a panel without createPanel()`);
      panels += [...src.matchAll(/\bcreatePanel\(|\bwebviewOptions\(/g)].length;
    }
    for (const r of roots) {
      definitions++;
      const rest = r
        .replace(/vscode\.Uri\.joinPath\((this\.)?extensionUri, 'dist', 'webview'\)/g, '')
        .replace(/vscode\.Uri\.joinPath\((this\.)?extensionUri, 'media'\)/g, '')
        .replace(/\b(webviewRoot|mediaRoot|root)\b/g, '');
      assert.match(rest, /^[\s,]*$/, `${f}: unexpected localResourceRoots entry in [${r}]`);
    }
    if (/createWebviewPanel|resolveCustomEditor/.test(src)) assert.match(src, /webviewHtml\(/, `${f} builds its HTML with the CSP shell`);
  }
  assert.equal(definitions, 1, 'one definition of the resource roots');
  assert.ok(panels >= 5, `found ${panels} webviews`);
  const shell = readFileSync(join(dir, 'webviewHtml.ts'), 'utf8');
  assert.match(shell, /"default-src 'none'"/);
  assert.match(shell, /`script-src 'nonce-\$\{n\}'`/);
  assert.doesNotMatch(shell, /unsafe-(inline|eval)/);
  assert.match(shell, /data-init="\$\{esc\(JSON\.stringify\(init\)\)\}"/, 'initial data goes into an escaped attribute, never into script text');
});
