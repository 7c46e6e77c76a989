/**
 * The layering rules of docs/ARCHITECTURE.md, checked: command ids in one place and all registered, one table of
 * checks behind every list of them, no `vscode` in the engine, and no Node import in a webview bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command } from '../../src/host/commands.js';
import { CHECKS, CHECK_BITS, CHECK_INFO, CHECK_MASK, CHECK_NAMES, ERROR_BIT, flagsToChecks } from '../../src/core/checks/table.js';
import { parseInspectorRequest } from '../../src/protocol/inspector.js';
import { repoRoot } from '../helpers.js';
import { checkLayers, cycles, floorsOf, importsOf, moduleGraph, resolveImport } from '../layers.js';

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every command id is in host/commands.ts, contributed by package.json and registered by extension.ts', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
  assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), Object.values(Command).sort());
  const ext = readFileSync(join(repoRoot, 'src', 'extension.ts'), 'utf8');
  for (const key of Object.keys(Command)) assert.match(ext, new RegExp(`registerCommand\\(\\s*Command\\.${key}\\b`), `${key} is registered`);
  // No command id is spelled out anywhere else in the host.
  for (const f of files(join(repoRoot, 'src', 'host')).filter((p) => !p.endsWith('commands.ts'))) {
    const text = readFileSync(f, 'utf8');
    for (const id of Object.values(Command)) assert.ok(!text.includes(`'${id}'`) && !text.includes(`command:${id}`), `${relative(repoRoot, f)} spells out ${id}`);
  }
});

test('one table of checks: distinct bits and orders, every field known, flags read back', () => {
  assert.equal(new Set(CHECKS.map((c) => c.bit)).size, CHECKS.length);
  assert.deepEqual([...CHECKS.map((c) => c.order)].sort((a, b) => a - b), CHECKS.map((_, i) => i));
  assert.equal(CHECK_MASK & ERROR_BIT, 0, 'the error bit is not a check');
  for (const c of CHECK_NAMES) {
    assert.deepEqual(flagsToChecks(CHECK_BITS[c]), [c]);
    assert.ok(['first', 'second', 'empty', 'prompt'].includes(CHECK_INFO[c].field));
    assert.ok(parseInspectorRequest({ type: 'query', filter: c, search: '', seq: 1 }), `the inspector protocol accepts ${c}`);
  }
  assert.equal(parseInspectorRequest({ type: 'query', filter: 'notACheck', search: '', seq: 1 }), null);
});

test('the engine (src/core), the protocol and the CLI never import vscode', () => {
  for (const dir of ['core', 'protocol', 'cli'])
    for (const f of files(join(repoRoot, 'src', dir))) assert.doesNotMatch(readFileSync(f, 'utf8'), /from 'vscode'|require\('vscode'\)/, relative(repoRoot, f));
});

test('contract types and the protocol import nothing that runs but the check table and the validators', () => {
  for (const f of [join(repoRoot, 'src', 'core', 'contract.ts'), ...files(join(repoRoot, 'src', 'protocol'))]) {
    const imports = [...readFileSync(f, 'utf8').matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((m) => m[1]);
    for (const i of imports) assert.ok(['../core/checks/table.js', './validate.js'].includes(i), `${relative(repoRoot, f)} imports ${i} at run time`);
  }
});

test('a webview import that reaches Node or the engine fails the webview type-check', { timeout: 120_000 }, () => {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const dir = mkdtempSync(join(repoRoot, 'webview', '.guard-'));
  try {
    writeFileSync(join(dir, 'bad.ts'), "import { scoreFile } from '../../src/core/engine/score.js';\nexport const f = scoreFile;\n");
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['bad.ts'] }));
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', dir], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'the type-check must fail');
    assert.match(r.stdout, /Cannot find module 'node:|Cannot find name 'Buffer'|Cannot find namespace 'NodeJS'/);
  } finally {
    spawnSync('rm', ['-rf', dir]);
  }
});

test('every script the build writes to dist/ is packaged in the VSIX (.vscodeignore lets it through)', () => {
  const outs = readdirSync(join(repoRoot, 'dist')).filter((f) => f.endsWith('.js'));
  assert.ok(outs.length >= 6, outs.join());
  const ignore = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8').split('\n');
  for (const f of outs) assert.ok(ignore.includes(`!dist/${f}`), `dist/${f} is built but .vscodeignore leaves it out of the VSIX`);
});

test('floors: no import in src/ or webview/ runs up a floor of docs/ARCHITECTURE.md or closes a circle (type-only and dynamic imports included)', () => {
  const table = floorsOf(readFileSync(join(repoRoot, 'docs', 'ARCHITECTURE.md'), 'utf8'));
  const graph = moduleGraph(repoRoot, ['src', 'webview']);
  assert.ok(graph.size > 100, `${graph.size} modules`);
  const violations = checkLayers(graph, table);
  assert.deepEqual(violations.map((v) => v.message), []);
});

test('the floor check itself: an upward import and a circle are found and named, whatever the kind of import', () => {
  const table = floorsOf('```floors\n0 base src/core/errors.ts src/core/jsonl/\n1 text src/core/tokenize/\n4 engines src/core/engine/\n```');
  assert.deepEqual(
    importsOf(`import type { A } from './a.js';\nexport { B } from '../b.js';\nimport {\n  C,\n  type D,\n} from './c.js';\nconst e = await import('./e.js');\n// import { f } from './f.js';\nlet x: import('./g.js').G;\nimport * as h from 'node:fs';`),
    ['./a.js', '../b.js', './c.js', './e.js', './g.js'],
  );
  assert.equal(resolveImport('src/core/engine/score.ts', '../jsonl/reader.js'), 'src/core/jsonl/reader.ts');
  const graph = new Map<string, string[]>([
    ['src/core/errors.ts', []],
    ['src/core/jsonl/reader.ts', ['src/core/errors.ts']],
    ['src/core/tokenize/hf.ts', ['src/core/jsonl/reader.ts', 'src/core/engine/hub.ts']],
    ['src/core/engine/hub.ts', ['src/core/errors.ts']],
    ['src/core/engine/cache.ts', ['src/core/engine/scorer.ts']],
    ['src/core/engine/scorer.ts', ['src/core/engine/model.ts']],
    ['src/core/engine/model.ts', ['src/core/engine/cache.ts', 'src/core/tokenize/hf.ts']],
  ]);
  const v = checkLayers(graph, table).map((x) => x.message);
  assert.deepEqual(v, [
    'src/core/tokenize/hf.ts (floor 1, text) imports src/core/engine/hub.ts (floor 4, engines): an import that runs up',
    'import circle: src/core/engine/cache.ts → src/core/engine/scorer.ts → src/core/engine/model.ts → src/core/engine/cache.ts',
  ]);
  assert.deepEqual(cycles(new Map([['a', ['a']]])), [['a']], 'a module that imports itself');
  // the real tree with one upward import added: named by file and import
  const real = moduleGraph(repoRoot, ['src', 'webview']);
  const realTable = floorsOf(readFileSync(join(repoRoot, 'docs', 'ARCHITECTURE.md'), 'utf8'));
  real.set('src/core/errors.ts', [...(real.get('src/core/errors.ts') ?? []), 'src/core/engine/model.ts']);
  const found = checkLayers(real, realTable);
  assert.ok(found.some((x) => x.file === 'src/core/errors.ts' && x.import === 'src/core/engine/model.ts' && /runs up/.test(x.message)), JSON.stringify(found));
  assert.ok(found.some((x) => /import circle: .*src\/core\/errors\.ts/.test(x.message)), 'and the circle it closes');
});

test('the extension host never loads onnxruntime: dist/extension.js does not require it (only the worker bundles do)', () => {
  const ext = readFileSync(join(repoRoot, 'dist', 'extension.js'), 'utf8');
  assert.doesNotMatch(ext, /require\(["']onnxruntime-node["']\)/);
  const score = readFileSync(join(repoRoot, 'dist', 'scoreWorker.js'), 'utf8');
  assert.match(score, /require\(["']onnxruntime-node["']\)/, 'the check would see it');
});
