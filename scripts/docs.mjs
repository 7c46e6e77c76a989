// The README's tables that are derived from the code's own tables (run checks: src/core/runs/checks.ts). Run after
// the build (`node scripts/docs.mjs` rewrites README.md between the markers; `--check` exits 1 when it is stale).
// test/unit/architecture.test.ts holds the README equal to what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The run checks as a Markdown table (id, when it fires, source). */
export function runChecksTable(table) {
  const rows = table.map((c) => {
    const notes = [c.severity !== 'warning' ? c.severity : '', c.trainers ? `${c.trainers.map((t) => t.toUpperCase()).join('/')} runs` : ''].filter(Boolean);
    return `| \`${c.id}\`${notes.length ? ` (${notes.join('; ')})` : ''} | ${c.fires} | ${c.cite} |`;
  });
  return ['| check | fires when (thresholds marked *ours*) | source |', '|---|---|---|', ...rows].join('\n');
}

/** README.md with every generated section replaced: `<!-- NAME:start -->` … `<!-- NAME:end -->`. */
export function withTables(readme, tables) {
  let out = readme;
  for (const [name, text] of Object.entries(tables)) {
    const re = new RegExp(`(<!-- ${name}:start[^>]*-->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> section`);
    out = out.replace(re, (_m, a, b) => `${a}\n${text}\n${b}`);
  }
  return out;
}

export function generatedTables() {
  const { RUN_CHECKS } = require(join(root, 'out', 'src', 'core', 'runs', 'checks.js'));
  return { 'run-checks': runChecksTable(RUN_CHECKS) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = join(root, 'README.md');
  const before = readFileSync(path, 'utf8');
  const after = withTables(before, generatedTables());
  if (process.argv.includes('--check')) {
    if (after !== before) {
      console.error('README.md: a generated table is stale; run `npm run build && node scripts/docs.mjs`');
      process.exit(1);
    }
  } else if (after !== before) writeFileSync(path, after);
}
