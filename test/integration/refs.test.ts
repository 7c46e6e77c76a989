/**
 * `preflens refs` (issue #23): the reference's log-probability sums in TRL's columns, against the independent goldens
 * of ../shared (every convention, the real Qwen3 and Llama 3 tokenizers); shards that concatenate to the unsharded
 * output (JSON Lines byte for byte, Parquet row for row); a job killed mid-part and run again; `--check`; Parquet read
 * back by hyparquet and by DuckDB with the same values and column types; bad input refused with nothing overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { openParquet, readRowGroup } from '../../src/core/parquet/parquet.js';
import { partName } from '../../src/core/refs.js';
import { writeParquet } from '../parquet.js';
import { fixture, repoRoot, shared, skipWithoutShared } from '../helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'preflens-refs-'));
const cli = join(repoRoot, 'dist', 'cli.js');
const run = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [cli, 'refs', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const jsonl = (file: string): Array<Record<string, unknown>> => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const tiny = fixture('tiny-gpt2');

/** The first n lines of the shared HH dev split, as a file. */
function devLines(dir: string, n: number, pick?: number[]): string {
  const lines = readFileSync(join(shared, 'data', 'hh-harmless', 'dev.jsonl'), 'utf8').split('\n');
  const f = join(dir, 'dev.jsonl');
  writeFileSync(f, (pick ? pick.map((l) => lines[l - 1]) : lines.slice(0, n)).join('\n') + '\n');
  return f;
}

test('the reference sums equal the goldens summed (≤ 1e-5): trl-legacy (lines 1–50, and the two lines whose transcripts carry different prompts) and trl (lines 1–20)', async (t) => {
  if (skipWithoutShared(t)) return;
  const dir = tmp();
  const sft = join(shared, 'demo', 'models', 'tiny-hh-sft');
  const cases: Array<{ gold: string; data: string; args: string[]; lines: number[] }> = [
    { gold: 'dev-1-50.jsonl', data: devLines(mkdtempSync(join(dir, 'a')), 50), args: ['--convention', 'trl-legacy', '--max-prompt-length', '192', '--max-completion-length', '128'], lines: Array.from({ length: 50 }, (_, i) => i + 1) },
    { gold: 'dev-prompt-mismatch.jsonl', data: devLines(mkdtempSync(join(dir, 'b')), 0, [1255, 1689]), args: ['--convention', 'trl-legacy', '--max-prompt-length', '192', '--max-completion-length', '128'], lines: [1255, 1689] },
    { gold: 'trl-dev-1-20.jsonl', data: devLines(mkdtempSync(join(dir, 'c')), 20), args: ['--convention', 'trl', '--max-length', '512'], lines: Array.from({ length: 20 }, (_, i) => i + 1) },
  ];
  for (const c of cases) {
    const out = join(dir, `${c.gold}.out.jsonl`);
    const r = run(c.data, '--ref', sft, '--out', out, ...c.args);
    assert.equal(r.code, 0, r.err);
    const rows = jsonl(out);
    const gold = readFileSync(join(shared, 'demo', 'golden', c.gold), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; chosen: { ref_logp: number[] }; rejected: { ref_logp: number[] } });
    let max = 0;
    for (const g of gold) {
      const row = rows[c.lines.indexOf(g.line)];
      const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
      max = Math.max(max, Math.abs((row.ref_chosen_logps as number) - sum(g.chosen.ref_logp)), Math.abs((row.ref_rejected_logps as number) - sum(g.rejected.ref_logp)));
      assert.equal(row.ref_margin, (row.ref_chosen_logps as number) - (row.ref_rejected_logps as number));
      assert.equal(row.preflens_skipped, null);
    }
    assert.ok(max <= 1e-5, `${c.gold}: max |Δ| ${max}`);
    // every original column kept, byte for byte: each output line starts with its input line's text
    const input = readFileSync(c.data, 'utf8').trim().split('\n');
    readFileSync(out, 'utf8').trim().split('\n').forEach((l, i) => assert.ok(l.startsWith(input[i].replace(/}\s*$/, '')), `row ${i + 1} keeps its bytes`));
    console.log(`refs golden ${c.gold}: max |Δ| sum ${max.toExponential(2)}`);
  }
});

test('the real tokenizers (Qwen3, Llama 3): refs sums equal the goldens\' logp sums (within 1e-5·√tokens) under trl and trl-legacy, for every record file and length setting; records TRL drops have a reason', async (t) => {
  if (skipWithoutShared(t)) return;
  const root = join(shared, 'demo', 'real-tokenizers');
  const dir = tmp();
  let compared = 0;
  for (const model of ['qwen3', 'llama3'])
    for (const conv of ['trl', 'trl-legacy']) {
      const gold = readFileSync(join(root, 'golden', `${model}.${conv}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; setting: string; args: string[]; line: number; chosen_logp?: number[]; rejected_logp?: number[]; dropped?: unknown });
      const settings = new Map<string, { file: string; args: string[] }>();
      for (const g of gold) settings.set(`${g.file} ${g.setting}`, { file: g.file, args: g.args });
      for (const [key, s] of settings) {
        const out = join(dir, `${model}-${conv}-${key.replace(/\W+/g, '-')}.jsonl`);
        const r = run(join(root, 'records', s.file), '--ref', join(root, 'models', model), '--out', out, ...s.args);
        assert.equal(r.code, 0, `${key}: ${r.err}`);
        const rows = jsonl(out);
        for (const g of gold.filter((x) => `${x.file} ${x.setting}` === key)) {
          const row = rows[g.line - 1];
          if (!g.chosen_logp || !g.rejected_logp) {
            assert.equal(row.ref_chosen_logps, null, `${key} line ${g.line}: no numbers for a record TRL drops`);
            assert.equal(typeof row.preflens_skipped, 'string');
            continue;
          }
          const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
          // each token's logp agrees within 1e-5 (golden-real-tokenizers.test.ts): a sum of n of them within 1e-5·√n
          const tol = (xs: number[]): number => 1e-5 * Math.max(1, Math.sqrt(xs.length));
          assert.ok(Math.abs((row.ref_chosen_logps as number) - sum(g.chosen_logp)) <= tol(g.chosen_logp), `${model} ${conv} ${key} line ${g.line}: chosen ${row.ref_chosen_logps} vs ${sum(g.chosen_logp)}`);
          assert.ok(Math.abs((row.ref_rejected_logps as number) - sum(g.rejected_logp)) <= tol(g.rejected_logp), `${model} ${conv} ${key} line ${g.line}: rejected`);
          compared++;
        }
      }
    }
  assert.ok(compared > 100, `${compared} records compared`);
});

/** A preference file of n rows for the fixture model, with a row that is not a pair and one that is not JSON. */
function fixtureData(dir: string, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 5) lines.push('{"prompt": "p", "completion": "c", "label": true}');
    else if (i === 9) lines.push('{"prompt": "broken", ');
    else lines.push(JSON.stringify({ id: i, prompt: `Question ${i}: what is ${i} + ${i}?`, chosen: ` It is ${2 * i}.`, rejected: ` Maybe ${i * 3}, or not.`, meta: { source: 'test', tags: [i % 3] } }));
  }
  const f = join(dir, 'data.jsonl');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

test('shards: contiguous rows as OUT/part-0000I-of-0000N, which concatenate to the unsharded output byte for byte (JSON Lines); a finished part is kept; --check finds the output complete, then a part missing', () => {
  const dir = tmp();
  const data = fixtureData(dir, 40);
  const whole = join(dir, 'whole.jsonl');
  assert.equal(run(data, '--ref', tiny, '--out', whole).code, 0);
  const rows = jsonl(whole);
  assert.equal(rows.length, 40);
  assert.equal(rows[5].ref_chosen_logps, null);
  assert.match(String(rows[5].preflens_skipped), /not a preference pair/);
  assert.match(String(rows[9].preflens_skipped), /not valid JSON/);
  assert.equal(typeof rows[0].ref_chosen_logps, 'number');
  assert.deepEqual(rows[0].meta, { source: 'test', tags: [0] }, 'original columns kept');
  const parts = join(dir, 'parts');
  for (let i = 0; i < 3; i++) {
    const r = run(data, '--ref', tiny, '--out', parts, '--shard', `${i}/3`);
    assert.equal(r.code, 0, r.err);
  }
  const names = readdirSync(parts).filter((f) => f.endsWith('.jsonl')).sort();
  assert.deepEqual(names, [0, 1, 2].map((i) => partName(i, 3, '.jsonl')));
  const cat = Buffer.concat(names.map((f) => readFileSync(join(parts, f))));
  assert.ok(cat.equals(readFileSync(whole)), 'the parts concatenate to the whole output');
  // run again: finished, kept
  const before = statSync(join(parts, names[1])).mtimeMs;
  const again = run(data, '--ref', tiny, '--out', parts, '--shard', '1/3');
  assert.equal(again.code, 0);
  assert.match(again.err, /finished already .*kept/);
  assert.equal(statSync(join(parts, names[1])).mtimeMs, before);
  // --check
  const ok = run(data, '--check', parts);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /complete: 3 parts, 40 rows/);
  rmSync(join(parts, names[2]));
  const missing = run(data, '--check', parts);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /2 of 3 parts: missing part-00002-of-00003\.jsonl/);
});

test('a job killed while it writes a part leaves no part (only its temporary file), and run again gives the same output', async () => {
  const dir = tmp();
  const data = fixtureData(dir, 4000);
  const whole = join(dir, 'whole.jsonl');
  assert.equal(run(data, '--ref', tiny, '--out', whole).code, 0);
  const parts = join(dir, 'parts');
  mkdirSync(parts);
  // part 1 of 2, killed once it reports progress
  const child = spawn(process.execPath, [cli, 'refs', data, '--ref', tiny, '--out', parts, '--shard', '1/2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (b: Buffer) => {
      if (/refs \d+\/2000 rows/.test(b.toString())) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  assert.ok(!existsSync(join(parts, partName(1, 2, '.jsonl'))), 'no part: it was not finished');
  assert.ok(readdirSync(parts).some((f) => f.endsWith('.tmp')), 'its temporary file');
  for (const i of [0, 1]) assert.equal(run(data, '--ref', tiny, '--out', parts, '--shard', `${i}/2`).code, 0);
  const cat = Buffer.concat([0, 1].map((i) => readFileSync(join(parts, partName(i, 2, '.jsonl')))));
  assert.ok(cat.equals(readFileSync(whole)));
  assert.deepEqual(readdirSync(parts).filter((f) => f.endsWith('.tmp')), [], 'the killed job\'s temporary file removed');
  assert.equal(run(data, '--check', parts).code, 0);
});

async function duck(query: string): Promise<{ rows: Array<Record<string, unknown>>; types: Record<string, string> }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(query);
    const types = Object.fromEntries(r.columnNames().map((n, i) => [n, r.columnType(i).toString()]));
    return { rows: r.getRowObjects() as Array<Record<string, unknown>>, types };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

test('Parquet in, Parquet out (hyparquet-writer): the input\'s columns and types kept, the four columns appended; read back by hyparquet and by DuckDB with the JSON Lines output\'s values; shards concatenate row for row', async () => {
  const dir = tmp();
  const pq = join(dir, 'data.parquet');
  await writeParquet(pq, `SELECT i AS id, 'Question ' || i || ': what is ' || i || ' + ' || i || '?' AS prompt, [{'role': 'assistant', 'content': 'It is ' || (2 * i) || '.'}] AS chosen, [{'role': 'assistant', 'content': 'Maybe ' || (3 * i)}] AS rejected, i * 0.5 AS weight FROM range(60) t(i)`);
  const out = join(dir, 'out.parquet');
  const r = run(pq, '--ref', tiny, '--out', out);
  assert.equal(r.code, 0, r.err);
  const asJsonl = join(dir, 'out.jsonl');
  assert.equal(run(pq, '--ref', tiny, '--out', asJsonl).code, 0);
  const expected = jsonl(asJsonl);
  const pf = await openParquet(out);
  assert.deepEqual(pf.columns, ['id', 'prompt', 'chosen', 'rejected', 'weight', 'ref_chosen_logps', 'ref_rejected_logps', 'ref_margin', 'preflens_skipped']);
  const back = await readRowGroup(pf, 0);
  assert.equal(back.length, 60);
  back.forEach((row, i) => {
    assert.equal(row.ref_chosen_logps, expected[i].ref_chosen_logps);
    assert.deepEqual(JSON.parse(JSON.stringify(row.chosen)), expected[i].chosen);
    assert.equal(row.id, i);
  });
  const d = await duck(`SELECT * FROM read_parquet('${out}') ORDER BY id`);
  assert.equal(d.types.ref_chosen_logps, 'DOUBLE');
  assert.equal(d.types.preflens_skipped, 'VARCHAR');
  assert.equal(d.types.id, 'BIGINT', 'the input\'s column types');
  assert.match(d.types.chosen, /^STRUCT\(.*"?content"? VARCHAR.*\)\[\]$/);
  d.rows.forEach((row, i) => {
    assert.equal(row.ref_chosen_logps, expected[i].ref_chosen_logps);
    assert.equal(row.ref_margin, expected[i].ref_margin);
  });
  // shards of a Parquet file: the parts' rows, in order, are the whole output's
  const parts = join(dir, 'parts');
  for (let i = 0; i < 4; i++) assert.equal(run(pq, '--ref', tiny, '--out', parts, '--shard', `${i}/4`).code, 0);
  const all = (await duck(`SELECT id, ref_chosen_logps FROM read_parquet('${parts}/part-*.parquet', filename = true) ORDER BY filename, id`)).rows;
  assert.deepEqual(all.map((x) => [Number(x.id), x.ref_chosen_logps]), expected.map((x) => [x.id, x.ref_chosen_logps]));
  assert.equal(run(pq, '--check', parts).code, 0);
  // JSON Lines in, Parquet out: the columns inferred (messages as lists of structs)
  const convJsonl = join(dir, 'conv.jsonl');
  writeFileSync(convJsonl, expected.map((x) => JSON.stringify({ prompt: x.prompt, chosen: x.chosen, rejected: x.rejected })).join('\n') + '\n');
  const convOut = join(dir, 'conv.parquet');
  assert.equal(run(convJsonl, '--ref', tiny, '--out', convOut).code, 0);
  const c = await duck(`SELECT * FROM read_parquet('${convOut}')`);
  assert.match(c.types.chosen, /STRUCT\(.*\)\[\]/);
  assert.equal(c.rows[3].ref_chosen_logps, expected[3].ref_chosen_logps);
});

test('bad input: a model whose vocabulary does not fit its tokenizer, an OUT that exists and holds other data, a part of another model — clear errors, nothing overwritten', () => {
  const dir = tmp();
  const data = fixtureData(dir, 12);
  // the fixture model with a tokenizer of 4,096 tokens (its logits are 257 wide)
  const bad = join(dir, 'bad-model');
  cpSync(tiny, bad, { recursive: true });
  const big = { model: { type: 'BPE', vocab: Object.fromEntries(Array.from({ length: 4096 }, (_, i) => [`t${i}`, i])), merges: [] } };
  writeFileSync(join(bad, 'tokenizer.json'), JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...big }));
  const r = run(data, '--ref', bad, '--out', join(dir, 'x.jsonl'));
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /tokenizer\.json has 4096 tokens but the model's logits are 257 wide/);
  // an OUT holding something else
  const other = join(dir, 'other.jsonl');
  writeFileSync(other, 'my notes\n');
  const o = run(data, '--ref', tiny, '--out', other);
  assert.equal(o.code, 1);
  assert.match(o.err, /other\.jsonl exists and is not a finished output of preflens refs .*does not overwrite it/);
  assert.equal(readFileSync(other, 'utf8'), 'my notes\n');
  // a part written by another model: refused, and --check says so
  const parts = join(dir, 'parts');
  assert.equal(run(data, '--ref', tiny, '--out', parts, '--shard', '0/2').code, 0);
  const second = join(dir, 'second-model');
  cpSync(tiny, second, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(second, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(second, 'config.json'), JSON.stringify({ ...cfg, layer_norm_epsilon: 1e-6 }));
  const p = run(data, '--ref', second, '--out', parts, '--shard', '0/2');
  assert.equal(p.code, 1);
  assert.match(p.err, /part-00000-of-00002\.jsonl exists and was computed with another model/);
  assert.equal(run(data, '--ref', second, '--out', parts, '--shard', '1/2').code, 0);
  const chk = run(data, '--check', parts);
  assert.equal(chk.code, 1);
  assert.match(chk.err, /parts of different models/);
  // JSON to Parquet: a row after the first 10,000 (the rows the schema is inferred from) with a column they lack is
  // refused by line, not dropped; nothing is written
  const late = join(dir, 'late.jsonl');
  const rows = Array.from({ length: 10_050 }, (_, i) => JSON.stringify({ prompt: `Q${i}`, chosen: ' y', rejected: ' n' }));
  rows.push(JSON.stringify({ prompt: 'Q', chosen: ' a', rejected: ' b', extra: 1 }));
  writeFileSync(late, rows.join('\n') + '\n');
  const lateOut = join(dir, 'late.parquet');
  const l = run(late, '--ref', tiny, '--out', lateOut);
  assert.equal(l.code, 1);
  assert.match(l.err, /late\.jsonl: line 10051: column "extra" is not one of the columns of the first rows .*write JSON Lines/);
  assert.ok(!existsSync(lateOut) && readdirSync(dir).every((f) => !f.startsWith('late.parquet')), 'nothing written');
});

test('a curriculum: export --order ref-margin (smallest first, --desc largest first, --stages K files easiest first), --order margin from a score output, for JSON Lines and Parquet; data without ref_margin refused', async () => {
  const dir = tmp();
  const data = fixtureData(dir, 40);
  const refsOut = join(dir, 'refs.jsonl');
  assert.equal(run(data, '--ref', tiny, '--out', refsOut).code, 0);
  const exp = (...args: string[]): { code: number | null; err: string } => {
    const r = spawnSync(process.execPath, [cli, 'export', ...args], { encoding: 'utf8' });
    return { code: r.status, err: r.stderr };
  };
  const margins = jsonl(refsOut).map((r) => r.ref_margin as number | null);
  const withMargin = margins.filter((m): m is number => m !== null);
  const asc = join(dir, 'asc.jsonl');
  const a = exp(refsOut, '--out', asc, '--order', 'ref-margin');
  assert.equal(a.code, 0, a.err);
  const got = jsonl(asc).map((r) => r.ref_margin);
  assert.deepEqual(got.slice(0, withMargin.length), [...withMargin].sort((x, y) => x - y));
  // the row that was not a pair keeps its place at the end; the line that was not JSON has only the four columns,
  // which is no record: not exported
  assert.deepEqual(got.slice(withMargin.length), [null], 'rows without a margin last');
  assert.match(a.err, /1 without one, last.*1 unreadable lines not exported/);
  const desc = join(dir, 'desc.jsonl');
  assert.equal(exp(refsOut, '--out', desc, '--order', 'ref-margin', '--desc').code, 0);
  assert.deepEqual(jsonl(desc).map((r) => r.ref_margin).slice(0, withMargin.length), [...withMargin].sort((x, y) => y - x));
  // the rows themselves, byte for byte
  const input = new Set(readFileSync(refsOut, 'utf8').trim().split('\n'));
  for (const l of readFileSync(desc, 'utf8').trim().split('\n')) assert.ok(input.has(l));
  // stages: 3 files of equal size, the largest margins first
  const st = exp(refsOut, '--out', join(dir, 'cur.jsonl'), '--order', 'ref-margin', '--stages', '3');
  assert.equal(st.code, 0, st.err);
  const stages = [1, 2, 3].map((i) => jsonl(join(dir, `cur.stage-${i}-of-3.jsonl`)));
  assert.deepEqual(stages.map((s) => s.length), [13, 13, 13]);
  assert.deepEqual(stages.flat().map((r) => r.ref_margin), jsonl(desc).map((r) => r.ref_margin));
  // Parquet: an output of refs in Parquet, ordered
  const pqOut = join(dir, 'refs.parquet');
  const pqIn = join(dir, 'in.parquet');
  await writeParquet(pqIn, `SELECT 'Question ' || i || '?' AS prompt, ' It is ' || (2 * i) || '.' AS chosen, ' Maybe ' || (3 * i) || ', or ' || i || '.' AS rejected FROM range(30) t(i)`);
  assert.equal(run(pqIn, '--ref', tiny, '--out', pqOut).code, 0);
  const pqAsc = join(dir, 'pq-asc.jsonl');
  const pa = exp(pqOut, '--out', pqAsc, '--order', 'ref-margin');
  assert.equal(pa.code, 0, pa.err);
  const pm = jsonl(pqAsc).map((r) => r.ref_margin as number);
  assert.deepEqual(pm, [...pm].sort((x, y) => x - y));
  assert.equal(pm.length, 30);
  // --order margin: the DPO margin of a score output, written into each row
  const scores = join(dir, 'scores.jsonl');
  const sc = spawnSync(process.execPath, [cli, 'score', data, '--policy', tiny, '--ref', tiny, '--out', scores, '--no-cache'], { encoding: 'utf8' });
  assert.equal(sc.status, 0, sc.stderr);
  const byMargin = join(dir, 'by-margin.jsonl');
  assert.equal(exp(data, '--out', byMargin, '--order', 'margin', '--scores', scores).code, 0);
  const bm = jsonl(byMargin);
  assert.equal(bm.length, 39, 'the line that is not JSON is not exported');
  assert.ok(bm.every((r) => 'preflens_margin' in r));
  const sm = bm.map((r) => r.preflens_margin).filter((m): m is number => typeof m === 'number');
  assert.equal(sm.length, 38);
  assert.deepEqual(sm, [...sm].sort((x, y) => x - y));
  assert.equal(bm[38].preflens_margin, null, 'the row that was not a pair: no margin, last');
  // no ref_margin: refused
  const none = exp(data, '--out', join(dir, 'no.jsonl'), '--order', 'ref-margin');
  assert.equal(none.code, 1);
  assert.match(none.err, /no row has a ref_margin: ordering by ref_margin needs an output of preflens refs/);
});
