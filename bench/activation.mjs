// The extension's activation on the extension host's thread: loading dist/extension.js and running activate(),
// against a peer bundle in the same run (`--peer DIR`, a dist/ folder built from another commit: the README's
// "before" is main before issue #22, whose bundle required onnxruntime-node on activation). VS Code's API is a
// stub that records nothing and answers every call (activation creates views, commands and watchers; no file is
// open), so what is timed is PrefLens' own code: module loading and the work activate() does before it returns.
// Each measurement is a fresh Node process (a module is loaded once per process); `--runs N` (default 15) of each,
// interleaved; medians and their ratio printed. `--policy DIR [--ref DIR]`: those model folders in the settings.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { opt } from './args.mjs';

const here = resolve(join(import.meta.dirname, '..'));
const runs = Number(opt('runs', '15'));
const peer = opt('peer', null);
// model folders in the settings (the old extension checked them, tokenizers included, on the host thread)
const policy = opt('policy', '');
const ref = opt('ref', '');

/** One fresh process: require the bundle with a stub `vscode`, activate, print the two times (ms). */
const child = `
const Module = require('node:module');
const t0 = performance.now();
const any = new Proxy(function () {}, {
  get: (_t, p) => (p === 'then' ? undefined : p === Symbol.hasInstance ? () => false : p === Symbol.iterator ? function* () {} : p === Symbol.toPrimitive ? () => 0 : p === 'length' ? 0 : any),
  set: () => true,
  apply: () => any,
  construct: () => any,
});
// every namespace and class the bundles use, as own properties (esbuild's __toESM copies own properties)
const vscode = {};
for (const k of ['CancellationTokenSource', 'CodeLens', 'ConfigurationTarget', 'Diagnostic', 'DiagnosticRelatedInformation', 'DiagnosticSeverity', 'EventEmitter', 'Hover', 'Location', 'MarkdownString', 'OverviewRulerLane', 'Position', 'ProgressLocation', 'Range', 'Selection', 'StatusBarAlignment', 'TabInputCustom', 'TabInputText', 'TextEditorRevealType', 'ThemeColor', 'ThemeIcon', 'TreeItem', 'TreeItemCollapsibleState', 'Uri', 'ViewColumn', 'commands', 'languages', 'env', 'extensions'])
  vscode[k] = any;
// settings: the defaults, but for preflens.policyModel / referenceModel when given (--policy, --ref)
const set = { policyModel: process.argv[3] || '', referenceModel: process.argv[4] || '' };
const config = { get: (k, d) => (k in set ? set[k] : d), inspect: (k) => (k in set && set[k] ? { globalValue: set[k] } : {}), update: async () => {}, has: () => false };
vscode.workspace = new Proxy({}, { get: (_u, q) => (q === 'workspaceFolders' || q === 'textDocuments' ? [] : q === 'isTrusted' ? true : q === 'getConfiguration' ? () => config : any) });
vscode.window = new Proxy({}, { get: (_u, q) => (q === 'visibleTextEditors' ? [] : q === 'tabGroups' ? { all: [], activeTabGroup: { activeTab: undefined }, onDidChangeTabs: any, onDidChangeTabGroups: any } : any) });
const load = Module._load;
Module._load = function (req, ...rest) { return req === 'vscode' ? vscode : load.call(this, req, ...rest); };
const ext = require(process.argv[1]);
const t1 = performance.now();
const ctx = { subscriptions: [], extensionUri: { fsPath: process.argv[2] }, globalStorageUri: { fsPath: require('node:os').tmpdir() }, workspaceState: { get: () => undefined, update: async () => {} } };
ext.activate(ctx);
const t2 = performance.now();
console.log(JSON.stringify({ load: t1 - t0, activate: t2 - t1, ort: Object.keys(require.cache).some((k) => k.includes('onnxruntime')) }));
process.exit(0);
`;

function once(dist) {
  const r = spawnSync(process.execPath, ['-e', child, join(dist, 'extension.js'), resolve(dist, '..'), policy, ref], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${dist}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const subjects = [['this build', join(here, 'dist')], ...(peer ? [['peer', resolve(peer)]] : [])];
for (const [, d] of subjects) if (!existsSync(join(d, 'extension.js'))) throw new Error(`${d}/extension.js: build first`);
const got = new Map(subjects.map(([n]) => [n, []]));
for (let i = 0; i < runs; i++) for (const [n, d] of subjects) got.get(n).push(once(d));
const rows = [];
for (const [n, d] of subjects) {
  const xs = got.get(n);
  const total = median(xs.map((x) => x.load + x.activate));
  rows.push({ n, total });
  console.log(`${n.padEnd(10)} ${d}: load ${median(xs.map((x) => x.load)).toFixed(1)} ms + activate ${median(xs.map((x) => x.activate)).toFixed(1)} ms = ${total.toFixed(1)} ms (median of ${runs}); onnxruntime-node loaded: ${xs[0].ort}`);
}
if (rows.length === 2) console.log(`this build / peer: ${(rows[0].total / rows[1].total).toFixed(2)}×`);
