/**
 * Conversational Parquet files as the hub writes them (issue #20): list<struct<content, role>> columns decoded by the
 * Parquet kernel (parquetKernel.ts assemble) and read by the scan kernel where they lie (scan/conv.ts scanRowsConv),
 * the other columns (prompt_id, messages, metadata) left undecoded unless a row's JSON is needed. Rows written as JSON
 * equal the JavaScript writer's, byte for byte (nulls at every level, both field orders, each codec, dictionary pages,
 * data pages v2); the scan equals the JavaScript path's and the JSON Lines file's; bad input is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { scanFile, type ScanResult } from '../../src/core/scan/index.js';
import { openParquet } from '../../src/core/parquet/parquet.js';
import { RowGroupLines } from '../../src/core/parquet/rowLines.js';
import { markLzo, sameLines, sameSamples, sql, writeParquet } from '../parquet.js';
import { conversation, m, type Msg, response, text } from '../conv.js';
import type { ListMessage } from '../parquetWriter.js';
import { repoRoot, rng } from '../helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'preflens-convpq-'));
const workerScript = join(repoRoot, 'out', 'src', 'workers', 'scanWorker.js');

/** A DuckDB list of messages, as SQL (null content or role where given). */
function list(ms: Msg[] | null, order: 'content,role' | 'role,content' = 'content,role'): string {
  if (ms === null) return 'NULL';
  const v = (x: unknown): string => (x === null || x === undefined ? 'NULL' : sql(String(x)));
  return `[${ms.map((x) => (x === null ? 'NULL' : order === 'content,role' ? `{'content': ${v(x.content)}, 'role': ${v(x.role)}}` : `{'role': ${v(x.role)}, 'content': ${v(x.content)}}`)).join(', ')}]`;
}

test('list<struct<content, role>> rows written as JSON by the kernel equal the JavaScript writer\'s: null lists, empty lists, null messages and fields, both field orders, every codec, dictionary pages, data pages v2, several pages per chunk', async () => {
  const dir = tmp();
  const rows: string[] = [];
  const r = rng(5);
  for (let i = 0; i < 400; i++) {
    const conv = conversation(r);
    const v = r();
    const chosen: Msg[] | null = v < 0.05 ? null : v < 0.1 ? [] : [...conv, m('assistant', text(r, 5))];
    const rejected: Msg[] = [...conv, m('assistant', i % 7 === 0 ? 'same reply' : text(r, 5))];
    if (i % 13 === 0) (rejected as Array<Msg | null>).splice(1, 0, null);
    if (i % 17 === 0) rejected[0] = m('user', null);
    if (i % 19 === 0) rejected[0] = { role: null, content: 'x' };
    rows.push(`(${i}, ${sql(text(r, 3))}, ${list(chosen)}, ${list(rejected, 'role,content')})`);
  }
  // the field orders differ per column: DuckDB writes each struct's fields in the order given
  const query = `SELECT * FROM (VALUES ${rows.join(', ')}) t(id, prompt, chosen, rejected)`;
  for (const options of ['COMPRESSION snappy', 'COMPRESSION zstd', 'COMPRESSION gzip', 'COMPRESSION uncompressed', 'COMPRESSION snappy, ROW_GROUP_SIZE 100', 'COMPRESSION zstd, PARQUET_VERSION v2']) {
    const file = join(dir, `lists-${options.replace(/\W+/g, '-')}.parquet`);
    await writeParquet(file, query, options);
    const got = await sameLines(file);
    assert.ok(got.pages > 0, options);
    // (DuckDB's v2 pages hold DELTA_LENGTH_BYTE_ARRAY strings, which hyparquet decodes)
    if (!options.includes('v2')) assert.equal(got.fallbacks, 0, `${options}: every column chunk decoded by the kernel`);
  }
  // contents of several pages (long texts), and a column chunk of dictionary pages (few distinct contents)
  const long = `SELECT i AS id, [{'content': repeat('long text ' || i || ' ', 2000), 'role': 'user'}, {'content': CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END, 'role': 'assistant'}] AS chosen, [{'content': 'q', 'role': 'user'}, {'content': 'maybe', 'role': 'assistant'}] AS rejected FROM range(300) t(i)`;
  const file = join(dir, 'long.parquet');
  await writeParquet(file, long);
  assert.equal((await sameLines(file)).fallbacks, 0);
});

/** Conversational rows as JSON objects and as DuckDB rows: UltraFeedback-binarized (a string prompt) or TRL (a list). */
function generate(seed: number, n: number, shape: 'ultrafeedback' | 'trl'): { json: string[]; sqlRows: string[] } {
  const r = rng(seed);
  const json: string[] = [];
  const sqlRows: string[] = [];
  const seen: Array<{ j: Record<string, unknown>; s: string }> = [];
  for (let i = 0; i < n; i++) {
    const prompt = conversation(r);
    const c = text(r, Math.floor(r() * 25));
    const rej = response(r, c);
    let j: Record<string, unknown>;
    let s: string;
    if (shape === 'ultrafeedback') {
      const chosen = [...prompt, m('assistant', c)];
      let rejected = [...prompt, m('assistant', rej)];
      if (r() < 0.04) rejected = [m('user', 'another prompt'), m('assistant', rej)]; // own prompts differ
      if (r() < 0.04) rejected.push(m('assistant', `${rej}\n`)); // a response of two turns
      const first = (prompt.find((x) => x.role === 'user')?.content as string) ?? '';
      const sc = r() < 0.9 ? Math.floor(r() * 10) : null;
      const sr = r() < 0.2 ? sc : Math.floor(r() * 10) + (r() < 0.3 ? 0.5 : 0);
      j = { prompt: first, prompt_id: `${i}`, chosen, rejected, messages: chosen, score_chosen: sc, score_rejected: sr };
      s = `(${sql(first)}, ${sql(String(i))}, ${list(chosen)}, ${list(rejected)}, ${list(chosen)}, ${sc ?? 'NULL'}::DOUBLE, ${sr ?? 'NULL'}::DOUBLE)`;
    } else {
      const p = r() < 0.05 ? null : prompt;
      j = { ...(p ? { prompt: p } : {}), chosen: [m('assistant', c)], rejected: [m('assistant', rej)], source: 'gen' };
      if (!p) {
        j.chosen = [...prompt, m('assistant', c)];
        j.rejected = [...prompt, m('assistant', rej)];
      }
      s = `(${list(p)}, ${list(j.chosen as Msg[])}, ${list(j.rejected as Msg[])}, 'gen')`;
    }
    const d = r();
    if (d < 0.05 && seen.length) ({ j, s } = seen[seen.length - 1]); // a duplicate next to it
    else if (d < 0.08 && seen.length) ({ j, s } = seen[Math.floor(r() * seen.length)]); // and far from it
    seen.push({ j, s });
    json.push(JSON.stringify(j));
    sqlRows.push(s);
  }
  return { json, sqlRows };
}

/** What a Parquet scan finds: records, errors, checks, lengths, and each record's row and flags (a row has no bytes of
 * its own: the index's offset and length are not compared). */
function comparable(res: ScanResult): unknown {
  const { records, errors, errorCount, checks, related, lengths, format, formats } = res;
  return { records, errors, errorCount, checks, related, lengths, format, formats, line: Array.from(res.index.line), sub: Array.from(res.index.sub), flags: Array.from(res.index.flags) };
}

test('conversational Parquet (UltraFeedback-binarized and TRL shapes, several row groups): the scan kernel reads the rows where the Parquet kernel decoded them, and finds what the JavaScript path and the JSON Lines file find (1 and 3 workers)', async () => {
  const dir = tmp();
  for (const [shape, columns] of [
    ['ultrafeedback', 't(prompt, prompt_id, chosen, rejected, messages, score_chosen, score_rejected)'],
    ['trl', 't(prompt, chosen, rejected, source)'],
  ] as const) {
    const { json, sqlRows } = generate(shape === 'trl' ? 8 : 7, 5000, shape);
    const jsonl = join(dir, `${shape}.jsonl`);
    writeFileSync(jsonl, json.join('\n') + '\n');
    const pq = join(dir, `${shape}.parquet`);
    await writeParquet(pq, `SELECT * FROM (VALUES ${sqlRows.join(', ')}) ${columns}`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
    assert.equal((await openParquet(pq)).rowGroups.length, 3);
    const reference = comparable(await scanFile(pq, { exactOnly: true, workers: 1 }));
    assert.deepEqual(comparable(await scanFile(pq, { workers: 1 })), reference, `${shape}: kernel, one thread`);
    assert.deepEqual(comparable(await scanFile(pq, { workers: 3, parallelThreshold: 0, workerScript })), reference, `${shape}: kernel, 3 workers`);
    const j = await scanFile(jsonl, { workers: 1 });
    const p = await scanFile(pq, { workers: 1 });
    assert.equal(p.format, 'trl-conversational');
    assert.deepEqual(p.checks, j.checks, `${shape}: the JSON Lines file's findings`);
    assert.deepEqual(p.lengths, j.lengths, `${shape}: the JSON Lines file's lengths`);
    // the test finds what it is about: duplicates near and far, and for UltraFeedback prompt mismatches and score ties
    assert.ok(p.checks.duplicate.length > 20, `${shape}: ${p.checks.duplicate.length} duplicates`);
    if (shape === 'ultrafeedback') assert.ok(p.checks.promptMismatch.length > 10 && p.checks.scoreTie.length > 10, `${shape}: ${JSON.stringify({ ...p.checks, duplicate: [] }).slice(0, 300)}`);
  }
});

test('rows keyed again at a range\'s end (duplicates far apart) are read from the Snappy block before them, not from their page\'s start (RowGroupLines.seekPage, the seek points the scan recorded): the findings of the exact path; a file hyparquet-writer writes (v2 pages, each one Snappy block whose copies reach across 64 KiB: no seek points) is read from its pages\' starts, with the same findings', async () => {
  const { scanParquetRange } = await import('../../src/core/scan/parquetRange.js');
  const { DEFAULT_CHECK_OPTIONS } = await import('../../src/core/checks/record.js');
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const dir = tmp();
  const { json, sqlRows } = generate(31, 6144, 'ultrafeedback');
  const duck = join(dir, 'duckdb.parquet');
  await writeParquet(duck, `SELECT * FROM (VALUES ${sqlRows.join(', ')}) t(prompt, prompt_id, chosen, rejected, messages, score_chosen, score_rejected)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  // the same rows by hyparquet-writer (v2 pages, each compressed as one Snappy block), in row groups of 2,048 rows
  const one = join(dir, 'one-block.parquet');
  const string = (name: string): Record<string, unknown> => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
  const messages = (name: string): Array<Record<string, unknown>> => [
    { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    string('content'),
    string('role'),
  ];
  const schema = [{ name: 'root', num_children: 7 }, string('prompt'), string('prompt_id'), ...messages('chosen'), ...messages('rejected'), ...messages('messages'), { name: 'score_chosen', type: 'DOUBLE', repetition_type: 'OPTIONAL' }, { name: 'score_rejected', type: 'DOUBLE', repetition_type: 'OPTIONAL' }];
  const writer = new ParquetWriter({ writer: fileWriter(one), schema: schema as never });
  const rows = json.map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let g = 0; g < rows.length; g += 2048) {
    const part = rows.slice(g, g + 2048);
    const names = ['prompt', 'prompt_id', 'chosen', 'rejected', 'messages', 'score_chosen', 'score_rejected'];
    writer.write({ columnData: names.map((name) => ({ name, data: part.map((r) => r[name] ?? null) })), rowGroupSize: 2048 });
  }
  writer.finish();
  const results = [];
  for (const file of [duck, one]) {
    const pf = await openParquet(file);
    assert.equal(pf.rowGroups.length, 3, file);
    // the content pages are larger than two blocks: the scan records their seek points
    const largest = Math.max(...pf.metadata.row_groups.map((g) => Number(g.columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'chosen.list.element.content')?.meta_data?.total_uncompressed_size)));
    assert.ok(largest > 3 * 65536, `${file}: a content chunk of ${largest} bytes`);
    const lines = new RowGroupLines(pf);
    const task = { path: file, kind: 'jsonl' as const, bomLength: 0, start: 0, end: 0, format: 'trl-conversational' as const, strict: false, opts: DEFAULT_CHECK_OPTIONS, maxErrors: 10000, parquet: { from: 0, to: 3 } };
    const range = await scanParquetRange(task, null, undefined, { pf, lines });
    const reference = comparable(await scanFile(file, { exactOnly: true, workers: 1 }));
    assert.deepEqual(comparable(await scanFile(file, { workers: 1 })), reference, `${file}: the exact path's findings`);
    results.push({ file, seekPages: lines.seekPages, exact: range.exact.length / 4, reference });
    lines.close();
  }
  // DuckDB's pages (the reference compressor): rows keyed again from their blocks
  assert.ok(results[0].exact > 10 && results[0].seekPages > 0, JSON.stringify(results.map(({ file, seekPages, exact }) => ({ file, seekPages, exact }))));
  // the two files' findings are the same
  assert.deepEqual(results[1].reference, results[0].reference);
});

test('rows keyed again (loadRows) from pages of several 64 KiB blocks: one page or many per chunk, v1 pages that end inside a row, rows anywhere in them — each row wanted reads as the whole row group reads it, from the block before it', async () => {
  const { writeMiniListParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const r = rng(33);
  const rows: Array<Record<string, ListMessage[] | null>> = [];
  for (let i = 0; i < 400; i++) {
    const msgs = (k: number): ListMessage[] => Array.from({ length: k }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', content: `${i}.${j}: ${text(r, i % 5 === 0 ? 600 : 150)}` }));
    const chosen = i % 37 === 0 ? null : i % 41 === 0 ? [] : msgs(1 + (i % 4));
    const rejected = msgs(2);
    if (i % 11 === 0) rejected.splice(1, 0, null);
    if (i % 13 === 0) rejected[0] = { role: 'user', content: null };
    rows.push({ chosen, rejected });
  }
  const wanted = [[0], [5], [200], [399], [3, 150, 151, 398], [64, 65, 66, 67, 300]];
  for (const pageLevels of [100000, 180]) {
    const file = join(dir, `blocks-${pageLevels}.parquet`);
    writeMiniListParquet(file, ['chosen', 'rejected'], rows, { pageLevels, v2: false, snappy: true, blocks: true });
    const pf = await openParquet(file);
    const lines = new RowGroupLines(pf);
    try {
      // a scan's load records the seek points; the whole row group's rows are the reference
      await lines.load(0, undefined, true);
      await lines.complete();
      const all = Array.from({ length: 400 }, (_, i) => Buffer.from(lines.line(i)).toString('utf8'));
      assert.equal(JSON.parse(all[5]).rejected.length, 2);
      for (const only of wanted) {
        (lines as unknown as { loaded: number }).loaded = -1; // (the row group in memory: decoded again)
        const before = lines.seekPages;
        await lines.loadRows(0, only);
        await lines.complete();
        for (const i of only) assert.equal(Buffer.from(lines.line(i)).toString('utf8'), all[i], `pages of ${pageLevels} levels, row ${i} of ${only}`);
        assert.ok(lines.seekPages > before, `pages of ${pageLevels} levels, rows ${only}: read from seek points`);
      }
      assert.equal(lines.prefixRetries, 0, 'no chunk read again whole');
    } finally {
      lines.close();
    }
  }
});

test('score columns of every number type (DOUBLE, REAL, INTEGER, BIGINT, SMALLINT: decoded by the reader; DECIMAL and text: by hyparquet): each row\'s value and flag as hyparquet gives them (NaN, infinities, -0, integers beyond 2^53, nulls), and the scan\'s findings those of the JavaScript path; PLAIN and dictionary pages, each codec, v2 pages', async () => {
  const { readRowGroupColumns } = await import('../../src/core/parquet/parquet.js');
  const dir = tmp();
  const { sqlRows } = generate(12, 1500, 'ultrafeedback');
  // the generated rows written once, read by every file's query
  const basePq = join(dir, 'scores-base.parquet');
  await writeParquet(basePq, `SELECT * FROM (VALUES ${sqlRows.join(', ')}) t(prompt, prompt_id, chosen, rejected, messages, score_chosen, score_rejected)`);
  const base = `SELECT * FROM read_parquet(${sql(basePq)})`;
  const special = new Map<string, string[]>([
    ['DOUBLE', ["'nan'::DOUBLE", "'inf'::DOUBLE", "'-inf'::DOUBLE", '-0.0::DOUBLE', '0.1::DOUBLE + 0.2::DOUBLE', '1e300::DOUBLE']],
    ['REAL', ["'nan'::REAL", "'inf'::REAL", '0.1::REAL', '-0.0::REAL']],
    ['BIGINT', ['9007199254740993::BIGINT', '-9007199254740993::BIGINT', '9007199254740992::BIGINT', '-1::BIGINT']],
    ['INTEGER', ['2147483647::INTEGER', "'-2147483648'::INTEGER"]],
    ['SMALLINT', ['-7::SMALLINT']],
    ['DECIMAL(6,2)', ['1234.5::DECIMAL(6,2)']],
    ['VARCHAR', ["'7'", "'x'"]],
  ]);
  let decoded = 0;
  let k = 0;
  for (const [type, odd] of special)
    for (const options of ['COMPRESSION snappy, ROW_GROUP_SIZE 2048', k % 2 ? 'COMPRESSION zstd, PARQUET_VERSION v2' : 'COMPRESSION gzip']) {
      k++;
      // the generated scores (0-9, halves, nulls) as this type; a few rows with the odd values of the type, on both
      // sides and tied; random doubles on every tenth row so that some pages are PLAIN rather than dictionary
      const cast = (x: string): string => `CAST(${x} AS ${type})`;
      const rows = `SELECT prompt, prompt_id, chosen, rejected, messages, ${cast('CASE WHEN row_number() OVER () % 10 = 0 AND ' + (type === 'DOUBLE' ? 'true' : 'false') + ' THEN random() * 100 ELSE score_chosen END')} AS score_chosen, ${cast('score_rejected')} AS score_rejected FROM (${base})`;
      const extra = odd.flatMap((v, i) => [`SELECT prompt, prompt_id, chosen, rejected, messages, ${v} AS score_chosen, ${odd[(i + 1) % odd.length]} AS score_rejected FROM (${base}) LIMIT 3`, `SELECT prompt, prompt_id, chosen, rejected, messages, ${v}, ${v} FROM (${base}) LIMIT 2`]);
      const pq = join(dir, `scores-${k}.parquet`);
      await writeParquet(pq, [rows, ...extra].map((q) => `(${q})`).join(' UNION ALL '), options);
      const pf = await openParquet(pq);
      // value by value, against hyparquet's values as convTables turns them into flags
      const lines = new RowGroupLines(pf);
      const numbers = lines as unknown as { numberColumn(c: unknown, g: number, rows: number, want: number): { vals: number; flags: number } | null; columns: Array<{ name: string }>; k: { memory: WebAssembly.Memory } };
      try {
        for (let g = 0; g < pf.rowGroups.length; g++) {
          await lines.load(g, undefined, true);
          const n = pf.rowGroups[g].rows;
          for (const name of ['score_chosen', 'score_rejected']) {
            const got = numbers.numberColumn(numbers.columns.find((c) => c.name === name), g, n, n);
            if (!got) continue;
            decoded++;
            const objs = await readRowGroupColumns(pf, g, [name]);
            const v = new Float64Array(numbers.k.memory.buffer, got.vals, n);
            const f = new Uint8Array(numbers.k.memory.buffer, got.flags, n);
            for (let r = 0; r < n; r++) {
              const x = objs[r]?.[name];
              const num = typeof x === 'bigint' && Number.isSafeInteger(Number(x)) ? Number(x) : x;
              const flag = x === null || x === undefined ? 0 : typeof num === 'number' && Number.isFinite(num) ? 1 : 2;
              assert.equal(f[r], flag, `${type}, ${options}: row group ${g + 1}, row ${r}, ${name} ${String(x)}: flag`);
              if (flag === 1) assert.ok(Object.is(v[r], num), `${type}, ${options}: row group ${g + 1}, row ${r}, ${name}: ${v[r]} for ${String(x)}`);
            }
          }
        }
      } finally {
        lines.close();
      }
      const reference = comparable(await scanFile(pq, { exactOnly: true, workers: 1 }));
      assert.deepEqual(comparable(await scanFile(pq, { workers: 1 })), reference, `${type}, ${options}: the JavaScript path's findings`);
      // the rows as JSON (what the inspector, exports and the format's sample read), the scores written by the reader
      // or by hyparquet: byte for byte the JavaScript writer's, and a sample's first rows those of the whole row group
      await sameLines(pq);
      await sameSamples(pq, [1, 7, 64]);
    }
  // every number type was read by the reader in some file (DECIMAL and text never: hyparquet reads them)
  assert.ok(decoded >= 10, `${decoded} score column chunks decoded by the reader`);
  // a damaged score column chunk: its row group is an error naming the row group and the column, the others are read
  const bad = join(dir, 'scores-1.parquet');
  const pf = await openParquet(bad);
  assert.ok(pf.rowGroups.length >= 2);
  const meta = pf.metadata.row_groups[1].columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'score_chosen')?.meta_data;
  assert.ok(meta);
  const bytes = readFileSync(bad);
  bytes.fill(0xff, Number(meta.dictionary_page_offset ?? meta.data_page_offset), Number(meta.dictionary_page_offset ?? meta.data_page_offset) + 8);
  const damaged = join(dir, 'scores-damaged.parquet');
  writeFileSync(damaged, bytes);
  const res = await scanFile(damaged, { workers: 1 });
  assert.equal(res.errors.length, 1, JSON.stringify(res.errors));
  assert.match(res.errors[0].message, /row group 2, column score_chosen: cannot be read/);
  assert.equal(res.errors[0].line, pf.rowGroups[1].start + 1);
  assert.equal(res.records, pf.rows - pf.rowGroups[1].rows);
});

test('a scan of a conversational Parquet row group decodes only the columns it reads (chosen, rejected, the scores): messages and prompt_id wait for a row\'s JSON', async () => {
  const dir = tmp();
  const { sqlRows } = generate(9, 300, 'ultrafeedback');
  const pq = join(dir, 'uf.parquet');
  await writeParquet(pq, `SELECT * FROM (VALUES ${sqlRows.join(', ')}) t(prompt, prompt_id, chosen, rejected, messages, score_chosen, score_rejected)`);
  const pf = await openParquet(pq);
  const lines = new RowGroupLines(pf);
  try {
    await lines.load(0, undefined, true);
    const scanPages = lines.pages;
    assert.ok(lines.rawTables() && 'conv' in (lines.rawTables() ?? {}), 'conversational tables');
    assert.throws(() => lines.line(0), /complete\(\) first/);
    await lines.complete();
    assert.ok(lines.pages > scanPages, 'the other columns decoded when asked for');
    const row = JSON.parse(Buffer.from(lines.line(0)).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(row).sort(), ['chosen', 'messages', 'prompt', 'prompt_id', 'rejected', 'score_chosen', 'score_rejected'].filter((k) => row[k] !== undefined).sort());
  } finally {
    lines.close();
  }
});

test('a sample of a list column\'s first rows (load with `first`, as format detection reads them) equals the first lines of the whole row group: DuckDB\'s pages and the minimal writer\'s (v1 pages that end inside a row, v2 pages; long contents, so that a Snappy page is decompressed in growing prefixes)', async () => {
  const { writeMiniListParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const r = rng(21);
  const rows: Array<Record<string, Array<{ role: string | null; content: string | null } | null> | null>> = [];
  for (let i = 0; i < 300; i++) {
    const long = (n: number): string => `${i}: ${text(r, n)}`;
    const msgs = (k: number): Array<{ role: string | null; content: string | null } | null> => Array.from({ length: k }, (_, j) => ({ role: j % 2 ? 'assistant' : 'user', content: long(i % 3 === 0 ? 600 : 20) }));
    const chosen = i % 23 === 0 ? null : i % 29 === 0 ? [] : msgs(1 + (i % 4));
    const rejected = msgs(2);
    if (i % 11 === 0) rejected.splice(1, 0, null);
    if (i % 13 === 0) rejected[0] = { role: 'user', content: null };
    if (i % 17 === 0) rejected[0] = { role: null, content: 'x' };
    rows.push({ chosen, rejected });
  }
  const files: string[] = [];
  for (const v2 of [false, true])
    for (const snappy of [true, false])
      for (const pageLevels of [37, 100000]) {
        const file = join(dir, `list-${v2 ? 'v2' : 'v1'}-${snappy ? 'snappy' : 'plain'}-${pageLevels}.parquet`);
        writeMiniListParquet(file, ['chosen', 'rejected'], rows, { pageLevels, v2, snappy });
        files.push(file);
      }
  const duck = join(dir, 'duck.parquet');
  const sqlRow = (row: (typeof rows)[number]): string => `(${['chosen', 'rejected'].map((k) => list((row[k] ?? null) as Msg[] | null)).join(', ')})`;
  await writeParquet(duck, `SELECT * FROM (VALUES ${rows.map(sqlRow).join(', ')}) t(chosen, rejected)`);
  files.push(duck);
  for (const file of files) {
    // the whole row group as hyparquet reads it, then samples of it
    const whole = await sameLines(file);
    assert.equal(whole.fallbacks, 0, `${file}: decoded by the kernel`);
    const { all, fallbacks } = await sameSamples(file, [1, 5, 36, 37, 64, 299]);
    assert.equal(all.length, 300);
    assert.equal(fallbacks, 0);
  }
});

test('bad conversational Parquet: a struct without content, content as a list of parts, mixed shapes across row groups, a damaged row group — clear messages naming file and row (or row group and column), the rest read', async () => {
  const dir = tmp();
  // no content field: not messages (read as TRL standard pairs, whose chosen must be a string): each row an error
  // naming its field
  const noContent = join(dir, 'no-content.parquet');
  await writeParquet(noContent, `SELECT [{'role': 'user', 'text': 'q'}, {'role': 'assistant', 'text': 'a' || i}] AS chosen, [{'role': 'user', 'text': 'q'}, {'role': 'assistant', 'text': 'b'}] AS rejected FROM range(3) t(i)`);
  const a = await scanFile(noContent, { workers: 1 });
  assert.equal(a.records, 0);
  assert.deepEqual(a.errors.map((e) => [e.line, e.message]), [1, 2, 3].map((l) => [l, 'field "chosen": expected a string, got a list']));
  // content as a list of parts (a list<struct<type, text>> inside the message): the exact path reads it
  const parts = join(dir, 'parts.parquet');
  await writeParquet(parts, `SELECT [{'role': 'user', 'content': [{'type': 'text', 'text': 'q'}]}, {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a' || i}]}] AS chosen, [{'role': 'user', 'content': [{'type': 'text', 'text': 'q'}]}, {'role': 'assistant', 'content': [{'type': 'text', 'text': 'b'}]}] AS rejected FROM range(3) t(i)`);
  const b = await scanFile(parts, { workers: 1 });
  assert.equal(b.records, 3);
  assert.equal(b.errorCount, 0);
  assert.deepEqual(b.lengths.chosen.chars.max, 2);
  // shapes that change across row groups: nulls in some, roles the kernel does not read in others
  const mixed = join(dir, 'mixed.parquet');
  await writeParquet(mixed, `SELECT CASE WHEN i < 2048 THEN [{'content': 'q', 'role': 'user'}, {'content': 'a' || i, 'role': 'assistant'}] WHEN i < 4096 THEN [{'content': 'q', 'role': 'tool'}, {'content': 'a' || i, 'role': 'assistant'}] ELSE NULL END AS chosen, [{'content': 'q', 'role': 'user'}, {'content': 'b', 'role': 'assistant'}] AS rejected FROM range(6000) t(i)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  assert.equal((await openParquet(mixed)).rowGroups.length, 3);
  const c = await scanFile(mixed, { workers: 1 });
  const cRef = await scanFile(mixed, { workers: 1, exactOnly: true });
  assert.deepEqual(comparable(c), comparable(cRef));
  assert.equal(c.records, 4096);
  assert.equal(c.errorCount, 6000 - 4096);
  assert.match(c.errors[0].message, /field "chosen": missing/);
  // a damaged row group (a compression nobody decodes in its first column chunks): its rows counted, the rest read
  const { sqlRows } = generate(10, 5000, 'ultrafeedback');
  const damaged = join(dir, 'damaged.parquet');
  await writeParquet(damaged, `SELECT * FROM (VALUES ${sqlRows.join(', ')}) t(prompt, prompt_id, chosen, rejected, messages, score_chosen, score_rejected)`, 'COMPRESSION uncompressed, ROW_GROUP_SIZE 2048');
  assert.equal(markLzo(damaged, 5), 5);
  const d = await scanFile(damaged, { workers: 1 });
  assert.equal(d.records, 5000 - 2048);
  assert.deepEqual(d.errors.map((e) => [e.line, e.rows]), [[1, 2048]]);
  assert.match(d.errors[0].message, /damaged\.parquet: row group 1, column .*: compression LZO is not supported/);
});

test('a sample (format detection\'s first rows) reads a prefix of each large Snappy column chunk, and the whole chunks again when the prefix does not hold its rows: the same lines either way, v1 and v2 pages', async () => {
  const { writeMiniListParquet } = await import('../parquetWriter.js');
  const { loadedLines } = await import('../parquet.js');
  const dir = tmp();
  const r = rng(5);
  // (the minimal writer's Snappy pages are literals: a chunk's bytes are its texts')
  const rowsOf = (big: number): Array<Record<string, Array<{ role: string; content: string }>>> =>
    Array.from({ length: 2000 }, (_, i) => {
      const say = (role: string): { role: string; content: string } => ({ role, content: `${i} ${role}: ${text(r, i < big ? 8000 : 30)}` });
      return { chosen: [say('user'), say('assistant')], rejected: [say('user'), say('assistant')] };
    });
  for (const [big, retried] of [[0, 0], [10, 1]] as const)
    for (const v2 of [false, true]) {
      const file = join(dir, `prefix-${big}-${v2 ? 'v2' : 'v1'}.parquet`);
      writeMiniListParquet(file, ['chosen', 'rejected'], rowsOf(big), { pageLevels: 100000, v2, snappy: true });
      const pf = await openParquet(file);
      const chunkBytes = pf.metadata.row_groups[0].columns.reduce((s, c) => s + Number(c.meta_data?.total_compressed_size ?? 0), 0);
      const whole = new RowGroupLines(pf);
      await whole.load(0);
      const all = loadedLines(whole);
      whole.close();
      const part = new RowGroupLines(pf);
      try {
        await part.load(0, 64);
        const what = `${big} long rows first, ${v2 ? 'v2' : 'v1'} pages`;
        assert.deepEqual(loadedLines(part), all.slice(0, 64), `${what}: the sample's lines`);
        assert.equal(part.prefixRetries, retried, `${what}: read again from the whole chunks`);
        if (!retried) assert.ok(part.bytesRead < chunkBytes / 3, `${what}: ${part.bytesRead} of ${chunkBytes} bytes read`);
        else assert.ok(part.bytesRead > chunkBytes, `${what}: the whole chunks read after the prefixes`);
      } finally {
        part.close();
      }
    }
});
