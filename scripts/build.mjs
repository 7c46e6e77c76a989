// Builds the extension host, the CLI, the scan worker and the webview apps (esbuild), and transpiles the
// sources and tests to out/ for `node --test`.
import * as esbuild from 'esbuild';
import { readdirSync, statSync, rmSync, mkdirSync, copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const prod = process.argv.includes('--production');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

rmSync('out', { recursive: true, force: true });
mkdirSync('dist/webview', { recursive: true });

const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, minify: prod, logLevel: 'warning', external: ['onnxruntime-node'] };
const builds = [
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'onnxruntime-node'] },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['src/core/scanWorker.ts'], outfile: 'dist/scanWorker.js' },
  { ...node, entryPoints: ['src/host/hostWorker.ts'], outfile: 'dist/hostWorker.js' },
  { ...node, entryPoints: ['src/core/engine/scoreWorker.ts'], outfile: 'dist/scoreWorker.js' },
  { ...node, entryPoints: ['src/core/runs/runWorker.ts'], outfile: 'dist/runWorker.js' },
  {
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true, minify: prod, logLevel: 'warning',
    entryPoints: { inspector: 'webview/inspector/main.ts', heatmap: 'webview/heatmap/main.ts', dashboard: 'webview/dashboard/main.ts', run: 'webview/run/main.ts', spinal: 'webview/spinal/main.ts' }, outdir: 'dist/webview',
  },
  // Transpile-only copy of sources and tests for node --test (keeps one module per file).
  {
    entryPoints: [...walk('src'), ...walk('test'), ...walk('bench')].filter((p) => !p.startsWith('src/extension') && !p.startsWith('src/host')),
    outdir: 'out', outbase: '.', platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'inline', logLevel: 'warning',
  },
];
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyFileSync('node_modules/@vscode-elements/elements/dist/bundled.js', 'dist/webview/elements.js');
  // onnxruntime-node is native: the bundles require it at run time. Ship its JS and this platform's binaries
  // inside dist/ so that the VSIX (packaged per platform) runs without node_modules.
  const plat = `bin/napi-v6/${process.platform}/${process.arch}`;
  rmSync('dist/node_modules', { recursive: true, force: true });
  for (const [pkg, parts] of [['onnxruntime-node', ['package.json', 'dist', plat]], ['onnxruntime-common', ['package.json', 'dist']]]) {
    for (const part of parts) cpSync(join('node_modules', pkg, part), join('dist', 'node_modules', pkg, part), { recursive: true });
  }
}
