/** HTML shell of every webview: strict CSP with a per-load nonce, only the extension's own scripts and styles. */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

export function nonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function csp(webview: vscode.Webview, n: string): string {
  return [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'nonce-${n}'`,
    `script-src 'nonce-${n}'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
}

/** Options of every PrefLens webview: scripts on, local resources only from the extension's dist/webview and media. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')] };
}

/** A webview panel with those options (kept alive when hidden) showing `app` in the CSP shell. */
export function createPanel(
  extensionUri: vscode.Uri,
  viewType: string,
  title: string,
  column: vscode.ViewColumn | { viewColumn: vscode.ViewColumn; preserveFocus?: boolean },
  app: string,
): vscode.WebviewPanel {
  const p = vscode.window.createWebviewPanel(viewType, title, column, { ...webviewOptions(extensionUri), retainContextWhenHidden: true });
  p.webview.html = webviewHtml(p.webview, extensionUri, app, title, {});
  return p;
}

/** `init` is serialised as JSON into a data attribute (escaped), never into script text. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, app: string, title: string, init: unknown): string {
  const n = nonce();
  const asset = (...p: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp(webview, n)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(title)}</title>
<link rel="stylesheet" nonce="${n}" href="${asset('media', 'preflens.css')}">
</head>
<body data-app="${esc(app)}" data-init="${esc(JSON.stringify(init))}">
<div id="app"></div>
<script type="module" nonce="${n}" src="${asset('dist', 'webview', 'elements.js')}"></script>
<script nonce="${n}" src="${asset('dist', 'webview', `${app}.js`)}"></script>
</body>
</html>`;
}
