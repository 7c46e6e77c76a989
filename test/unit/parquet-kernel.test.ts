/**
 * The Parquet kernel (src/wasm/parquetKernel.ts driven by src/core/parquet/rowLines.ts): every row group of files as
 * DuckDB writes them — each codec, PLAIN and dictionary pages, data pages v1 and v2, optional columns with nulls,
 * several pages per column chunk, texts that need escaping, bytes that are not UTF-8, non-text columns — gives the
 * same JSON Lines, byte for byte, as the JavaScript writer over hyparquet (parquet/jsonWriter.ts), an independent path.
 * A damaged page is an error naming its row group and column, and the scan reads the other row groups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { openParquet } from '../../src/core/parquet/parquet.js';
import { RowGroupLines } from '../../src/core/parquet/rowLines.js';
import { sameLines, sameSamples, writeParquet } from '../parquet.js';
import { repoRoot } from '../helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'preflens-pqk-'));

/** A seeded generator of integers in [0, n) (a linear congruential one): the same streams on every run. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

/** An unsigned varint (a Snappy stream's preamble: its decoded length). */
function varint(n: number): number[] {
  const b: number[] = [];
  for (; n >= 0x80; n >>>= 7) b.push((n & 0x7f) | 0x80);
  b.push(n);
  return b;
}

/** A Snappy literal of `len` bytes (its length in the tag, or in 1 to 3 bytes after it), each byte from `byte`. */
function pushLiteral(body: number[], len: number, byte: () => number): void {
  if (len <= 60) body.push((len - 1) << 2);
  else {
    const l = len - 1;
    const bytes = l < 256 ? 1 : l < 65536 ? 2 : 3;
    body.push((59 + bytes) << 2);
    for (let i = 0; i < bytes; i++) body.push((l >>> (8 * i)) & 0xff);
  }
  for (let i = 0; i < len; i++) body.push(byte());
}

// Texts that need escaping, nulls in every third row, a dictionary column of 300 values (9-bit indices), a 5-value
// one (3-bit), bytes that are not UTF-8 (a BLOB: BYTE_ARRAY without annotation), and non-text columns.
const MIXED = `SELECT
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'say "hi" \\ ' || i || chr(10) || 'line' || chr(9) || 'tab ' || chr(1) || ' 😀 é' END AS prompt,
  ' answer ' || (i % 300) AS chosen,
  CASE WHEN i % 7 = 0 THEN NULL ELSE ' wrong ' || (i % 5) END AS rejected,
  CASE WHEN i % 11 = 0 THEN NULL ELSE ('\\xFF\\x00a' || i)::BLOB END AS raw,
  i::BIGINT * 1000003 AS id, i / 7.0 AS score, i % 2 = 0 AS flag, DATE '2024-01-01' + (i % 30)::INTEGER AS day,
  CASE WHEN i % 5 = 0 THEN NULL ELSE [{'role': 'user', 'content': 'q' || i}, {'role': 'assistant', 'content': CASE WHEN i % 2 = 0 THEN NULL ELSE 'a"' || i END}] END AS messages
FROM range(5000) t(i)`;

test('the kernel writes every row as the JavaScript writer does: escapes, nulls, dictionaries, bytes that are not UTF-8, non-text columns, each codec', async () => {
  const dir = tmp();
  for (const codec of ['snappy', 'uncompressed', 'zstd', 'gzip', 'brotli', 'lz4', 'lz4_raw']) {
    const file = join(dir, `mixed-${codec}.parquet`);
    await writeParquet(file, MIXED, `COMPRESSION ${codec}, ROW_GROUP_SIZE 2048`);
    const pf = await openParquet(file);
    const encodings = new Set(pf.metadata.row_groups[0].columns.flatMap((c) => c.meta_data?.encodings ?? []));
    assert.ok(encodings.has('PLAIN') && (encodings.has('RLE_DICTIONARY') || encodings.has('PLAIN_DICTIONARY')), `${codec}: plain and dictionary pages (${[...encodings].join(', ')})`);
    const r = await sameLines(file);
    assert.ok(r.groups >= 3, `${codec}: ${r.groups} row groups`);
    assert.ok(r.pages >= r.groups * 4, `${codec}: the kernel read the text pages (${r.pages})`);
    assert.equal(r.fallbacks, 0, `${codec}: no text column left to hyparquet`);
  }
});

test('data pages v2 (dictionary pages through the kernel; DELTA_LENGTH_BYTE_ARRAY columns through hyparquet), column chunks of several pages, a row larger than the output area', async () => {
  const dir = tmp();
  const v2 = join(dir, 'v2.parquet');
  await writeParquet(v2, MIXED, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048, PARQUET_VERSION V2');
  const a = await sameLines(v2);
  assert.ok(a.pages > 0 && a.fallbacks > 0, `v2: ${a.pages} pages, ${a.fallbacks} column chunks through hyparquet`);
  // 3 kB texts: DuckDB splits a column chunk of 300 MB into several data pages
  const big = join(dir, 'pages.parquet');
  await writeParquet(big, `SELECT 'p' || i AS prompt, repeat('long answer ', 250) || i AS chosen, CASE WHEN i % 4 = 0 THEN NULL ELSE 'no ' || i END AS rejected FROM range(100000) t(i)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 100000');
  const b = await sameLines(big);
  assert.equal(b.groups, 1);
  assert.ok(b.pages > 3, `several pages in one column chunk (${b.pages} pages for 3 columns)`);
  // a row larger than the 1 MiB the kernel writes rows into at a time (escaped: 6 bytes per control character)
  const wide = join(dir, 'wide.parquet');
  await writeParquet(wide, `SELECT 'p' || i AS prompt, CASE WHEN i = 2 THEN repeat(chr(1), 400000) ELSE 'ok ' || i END AS chosen, 'no' AS rejected FROM range(5) t(i)`, 'COMPRESSION snappy');
  await sameLines(wide);
});

test('a damaged Snappy page: an error naming the row group and column, and the other row groups are still scanned', async () => {
  const dir = tmp();
  const file = join(dir, 'damaged.parquet');
  // row 5001 (in row group 3) has identical responses
  const chosen = `' a ' || i || repeat(' more words', i % 40)`;
  await writeParquet(file, `SELECT 'q' || i AS prompt, ${chosen} AS chosen, CASE WHEN i = 5000 THEN ${chosen} ELSE ' b ' || i END AS rejected FROM range(6000) t(i)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  const pf = await openParquet(file);
  const meta = pf.metadata.row_groups[1].columns[1].meta_data;
  assert.ok(meta);
  // the middle of row group 2's chosen chunk (past its page header) becomes copies from before the page's start
  const b = readFileSync(file);
  const mid = Number(meta.data_page_offset) + Math.floor(Number(meta.total_compressed_size) / 2);
  b.fill(0xff, mid, mid + 64);
  writeFileSync(file, b);
  const lines = new RowGroupLines(await openParquet(file));
  await assert.rejects(lines.load(1), /damaged\.parquet: row group 2, column chosen: cannot be read \(damaged Snappy page\)/);
  lines.close();
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'stats', file, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { records: number; checks: { identical: number[] }; errors: Array<{ line: number; message: string }> };
  assert.equal(j.records, 6000 - pf.rowGroups[1].rows);
  assert.deepEqual(j.checks.identical, [5001], 'rows after the damaged row group keep their numbers');
  assert.equal(j.errors.length, 1);
  assert.equal(j.errors[0].line, pf.rowGroups[1].start + 1);
  assert.match(j.errors[0].message, /row group 2, column chosen: cannot be read/);
});

test('the JavaScript path over a Parquet file\'s lines (a model tokenizer, or exactOnly), in two ranges, finds what the JSON Lines scan finds', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { fixture } = await import('../helpers.js');
  const dir = tmp();
  for (const name of ['hh.jsonl', 'trl-standard.jsonl', 'kto.jsonl']) {
    // the fixture 1500 times over (duplicates across row groups and ranges), as JSON Lines and as Parquet
    const jsonl = join(dir, name);
    const text = readFileSync(fixture(name), 'utf8').trimEnd() + '\n';
    writeFileSync(jsonl, text.repeat(1500));
    const pq = join(dir, name.replace('.jsonl', '.parquet'));
    await writeParquet(pq, `SELECT * FROM read_json('${jsonl}')`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
    assert.ok((await openParquet(pq)).rowGroups.length >= 2, name);
    const two = { workers: 2, parallelThreshold: 0, workerScript: join(repoRoot, 'dist', 'scanWorker.js'), index: false as const };
    for (const opts of [{ tokenizerDir: fixture('tiny-gpt2') }, { exactOnly: true }]) {
      const a = await scanFile(jsonl, { index: false, workers: 1, ...opts });
      const b = await scanFile(pq, { ...two, ...opts });
      assert.equal(b.records, a.records, name);
      assert.deepEqual(b.checks, a.checks, `${name} ${JSON.stringify(opts)}`);
      assert.deepEqual(b.related, a.related, name);
      assert.deepEqual(b.lengths, a.lengths, name);
    }
  }
});

test('layouts DuckDB does not write (a minimal writer from the specification): REQUIRED columns, many pages per chunk, dictionary pages then PLAIN ones, v2 PLAIN pages; each uncompressed and Snappy', async () => {
  const { writeMiniParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const rows = Array.from({ length: 700 }, (_, i) => ({
    prompt: `Q${i} "quoted" \\ tab\there\nnext line é 😀`,
    chosen: i % 9 === 0 ? null : i < 300 ? `frequent answer ${i % 7}` : `answer ${i} ${'long '.repeat(i % 40)}`,
    rejected: i % 4 === 1 ? null : `no ${i}\u0001`,
  }));
  const columns = [
    { name: 'prompt', required: true, pageRows: 37, dictionaryPages: 0 },
    { name: 'chosen', required: false, pageRows: 50, dictionaryPages: 6 },
    { name: 'rejected', required: false, pageRows: 64, dictionaryPages: 0 },
  ];
  const expected = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)));
  for (const v2 of [false, true])
    for (const snappy of [false, true]) {
      const file = join(dir, `mini-${v2 ? 'v2' : 'v1'}-${snappy ? 'snappy' : 'plain'}.parquet`);
      writeMiniParquet(file, columns, rows, { groupRows: 400, v2, snappy });
      const r = await sameLines(file);
      assert.equal(r.groups, 2);
      assert.equal(r.fallbacks, 0, 'every text chunk read by the kernel');
      assert.ok(r.pages > 20, `${r.pages} pages`);
      // and the rows are the values written
      const pf = await openParquet(file);
      const lines = new RowGroupLines(pf);
      const got: unknown[] = [];
      for (let g = 0; g < pf.rowGroups.length; g++) {
        await lines.load(g);
        for (let b = lines.next(); b; b = lines.next()) for (const l of Buffer.from(b).toString('utf8').split('\n')) if (l) got.push(JSON.parse(l));
      }
      lines.close();
      assert.deepEqual(got, expected, file);
    }
});

test('duplicates and contradictions within a row group, across row groups and across ranges are found as in the JSON Lines file (no line is kept: candidates are keyed from their row groups)', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const dir = tmp();
  const rows: Array<{ prompt: string; chosen: string; rejected: string }> = [];
  for (let i = 0; i < 9000; i++) rows.push({ prompt: `Question ${i}?`, chosen: ` Answer ${i}.`, rejected: ` Wrong ${i}.` });
  // next to each other (one row group), 3000 rows apart (another row group), 6000 apart (another range); swapped pairs
  // (contradictions) the same ways; one duplicate that differs only in case and spacing (equal once normalised)
  for (const [to, from] of [[101, 100], [3200, 200], [7300, 300]]) rows[to] = { ...rows[from] };
  for (const [to, from] of [[401, 400], [3500, 500], [8600, 600]]) rows[to] = { prompt: rows[from].prompt, chosen: rows[from].rejected, rejected: rows[from].chosen };
  rows[5000] = { prompt: 'QUESTION   700?', chosen: ' answer 700.', rejected: ' wrong  700.' };
  const jsonl = join(dir, 'pairs.jsonl');
  writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const pq = join(dir, 'pairs.parquet');
  await writeParquet(pq, `SELECT * FROM read_json('${jsonl}')`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  assert.ok((await openParquet(pq)).rowGroups.length >= 4);
  const a = await scanFile(jsonl, { index: false, workers: 1 });
  assert.deepEqual(a.checks.duplicate, [102, 3201, 5001, 7301], 'the JSON Lines scan, the reference');
  assert.equal(a.checks.contradiction.length, 6);
  for (const workers of [1, 2, 3]) {
    const b = await scanFile(pq, { index: false, workers, parallelThreshold: 0, workerScript: join(repoRoot, 'dist', 'scanWorker.js') });
    assert.deepEqual(b.checks, a.checks, `${workers} worker(s)`);
    assert.deepEqual(b.related, a.related, `${workers} worker(s)`);
  }
});

test('the scan kernel reads the texts of a Parquet row group where they lie (no JSON written): the same findings as the JSON Lines scan, for HH and TRL columns, nulls, quotes, backslashes, control characters, line breaks, non-ASCII text and transcripts of every shape', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { writeMiniParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const pieces = [
    'plain words here',
    'say "hi" to C:\\path\\ and \\"escaped\\"',
    'line one\nline two\ttabbed\r\nwindows\rcr',
    'ctrl \u0001 and \u001f and del \u007f',
    'é café 日本語のテキスト 😀 emoji \ud83d\ude00 twice',
    'replacement \ufffd and c1 \u0085 and nbsp\u00a0here and ls\u2028ps\u2029',
    '',
    ' ',
    'x'.repeat(15),
    'y'.repeat(16) + ' ' + 'z'.repeat(31),
    'A long answer that goes on for a while, with punctuation: commas, dots... and (parentheses) [brackets] {braces}. '.repeat(3),
  ];
  const hhRows: Array<Record<string, string | null>> = [];
  const trlRows: Array<Record<string, string | null>> = [];
  for (let i = 0; i < 1200; i++) {
    const a = pieces[i % pieces.length];
    const b = pieces[(i * 7 + 3) % pieces.length];
    const q = `Question ${i % 97}: ${pieces[(i * 3) % pieces.length]}`;
    const prompt = i % 13 === 0 ? `\n\nHuman: ${q}\n\nAssistant: earlier\n\nHuman: more?` : `\n\nHuman: ${q}`;
    let chosen: string | null = `${prompt}\n\nAssistant: ${a} ${i % 5}`;
    let rejected: string | null = `${prompt}\n\nAssistant: ${b} ${i % 3}`;
    if (i % 17 === 0) rejected = `\n\nHuman: another prompt ${i}\n\nAssistant: ${b}`; // prompts that differ
    if (i % 19 === 0) rejected = `${prompt}\n\nAssistant:`; // the prompt alone: an empty response
    if (i % 23 === 0) rejected = chosen; // identical responses
    if (i % 29 === 0) rejected = `${prompt}\n\nAssistant: ${a} ${(i % 5) + 1}`; // one token apart
    if (i % 31 === 0) chosen = `no transcript here ${i}`; // not HH: the exact path
    if (i % 37 === 0) rejected = `${prompt}\n\n\nAssistant: three newlines`;
    if (i % 41 === 0) chosen = null;
    if (i % 43 === 0) rejected = null;
    hhRows.push({ chosen, rejected });
    let p: string | null = q;
    let c: string | null = ` ${a} ${i % 4}`;
    let r: string | null = i % 23 === 0 ? c : i % 29 === 0 ? ` ${a} ${(i % 4) + 1}` : ` ${b}`;
    if (i % 41 === 0) p = null;
    if (i % 43 === 0) c = null;
    if (i % 47 === 0) r = '';
    trlRows.push({ prompt: p, chosen: c, rejected: r });
  }
  // duplicates and contradictions, near and far
  for (const rows of [hhRows, trlRows]) {
    rows[600] = { ...rows[5] };
    rows[900] = { ...rows[6], chosen: rows[6].rejected, rejected: rows[6].chosen };
  }
  const two = { workers: 2, parallelThreshold: 0, workerScript: join(repoRoot, 'dist', 'scanWorker.js'), index: false as const };
  for (const [name, rows, columns] of [
    ['hh', hhRows, ['chosen', 'rejected']],
    ['trl', trlRows, ['prompt', 'chosen', 'rejected']],
  ] as const) {
    const jsonl = join(dir, `${name}.jsonl`);
    writeFileSync(jsonl, rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)))).join('\n') + '\n');
    const a = await scanFile(jsonl, { index: false, workers: 1 });
    assert.ok(a.records > 1000 && a.checks.identical.length > 10 && a.checks.duplicate.length > 0, `${name}: the reference finds something`);
    const files: string[] = [];
    for (const snappy of [false, true]) {
      const file = join(dir, `${name}-${snappy ? 'snappy' : 'plain'}.parquet`);
      writeMiniParquet(file, columns.map((c, k) => ({ name: c, required: false, pageRows: 90 + 13 * k, dictionaryPages: k === 1 ? 2 : 0 })), rows, { groupRows: 500, v2: false, snappy });
      files.push(file);
    }
    const duck = join(dir, `${name}-duckdb.parquet`);
    await writeParquet(duck, `SELECT ${columns.join(', ')} FROM read_json('${jsonl}', columns={${columns.map((c) => `${c}: 'VARCHAR'`).join(', ')}})`, 'COMPRESSION snappy, ROW_GROUP_SIZE 512');
    files.push(duck);
    for (const file of files) {
      // the row groups are read as raw texts, not as JSON lines
      const pf = await openParquet(file);
      const lines = new RowGroupLines(pf);
      await lines.load(0);
      assert.ok(lines.rawTables(), `${file}: texts scanned where they lie`);
      lines.close();
      for (const opts of [{ workers: 1, index: false as const }, two]) {
        const b = await scanFile(file, opts);
        const what = `${file} with ${opts.workers} worker(s)`;
        assert.equal(b.records, a.records, what);
        assert.deepEqual(b.errors, a.errors, what);
        assert.deepEqual(b.checks, a.checks, what);
        assert.deepEqual(b.related, a.related, what);
        assert.deepEqual(b.lengths, a.lengths, what);
      }
    }
  }
});

test('Snappy in the kernel: a real page decodes as hyparquet decodes it, and damaged copies of it (random bytes changed) fail cleanly, with no read or write outside the page', async () => {
  const { kernelModule } = await import('../../src/core/kernels/module.js');
  const { snappyUncompress } = await import('hyparquet');
  const dir = tmp();
  const file = join(dir, 'snappy.parquet');
  await writeParquet(file, `SELECT 'Human: question ' || i || repeat(' words and more words', i % 9) || chr(10) || 'Assistant: ' || (i * 7919) % 1000 AS chosen FROM range(3000) t(i)`, 'COMPRESSION snappy');
  const pf = await openParquet(file);
  const meta = pf.metadata.row_groups[0].columns[0].meta_data;
  assert.ok(meta);
  const chunk = readFileSync(file).subarray(Number(meta.data_page_offset), Number(meta.data_page_offset) + Number(meta.total_compressed_size));
  const { parquetHeader } = await import('hyparquet/src/column.js');
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.length), offset: 0 };
  const h = parquetHeader(reader);
  const page = chunk.subarray(reader.offset, reader.offset + h.compressed_page_size);
  const usize = h.uncompressed_page_size;
  const want = new Uint8Array(usize);
  snappyUncompress(page, want);
  const k = new WebAssembly.Instance(kernelModule(), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    snappy(src: number, srcLen: number, dst: number, dstLen: number, walk: number, out: number, maxN: number): number;
  };
  const src = 1 << 16;
  const dst = src + page.length + (1 << 16);
  const canary = dst + usize + 16; // writes may reach 15 bytes past the output (the slack), never further
  k.memory.grow(Math.ceil((canary + 4096) / 65536));
  const mem = (): Uint8Array => new Uint8Array(k.memory.buffer);
  mem().set(page, src);
  assert.equal(k.snappy(src, page.length, dst, usize, 0, 0, 0), 1);
  assert.ok(Buffer.from(mem().subarray(dst, dst + usize)).equals(want), 'the same bytes as hyparquet');
  mem().fill(0, dst, dst + usize);
  assert.equal(k.snappy(src, page.length, dst, usize, 2, 4096, 3000), 1, 'and while it locates the values (an optional column: levels first)');
  assert.ok(Buffer.from(mem().subarray(dst, dst + usize)).equals(want));
  // a sample: stopped once the first k values are located and written (returns 2), their bytes those of the whole page
  const walkedOf = (): number => (k as unknown as { walked: WebAssembly.Global }).walked.value as number;
  for (const first of [1, 2, 17, 500]) {
    mem().fill(0, dst, dst + usize);
    assert.equal(k.snappy(src, page.length, dst, usize, 2 | 4, 4096, first), 2, `stopped after ${first} values`);
    assert.equal(walkedOf(), first);
    const pairs = new Uint32Array(k.memory.buffer, 4096, first * 2);
    for (let v = 0; v < first; v++) {
      const [at, n] = [pairs[2 * v], pairs[2 * v + 1]];
      assert.ok(Buffer.from(mem().subarray(at, at + n)).equals(want.subarray(at - dst, at - dst + n)), `value ${v} of ${first} written whole`);
    }
  }
  // a prefix (walk 8): stopped once at least that many bytes are written (returns 2, their length in `walked`), those
  // bytes the page's; the whole page (returns 1) when the prefix reaches the page's end
  for (const prefix of [1, 100, 4096, usize - 1, usize, usize + 5]) {
    mem().fill(0, dst, dst + usize);
    const r = k.snappy(src, page.length, dst, usize, 8, 0, prefix);
    const got = walkedOf();
    // (a prefix that its last element carries to the page's end is the whole page)
    assert.ok(prefix >= usize ? r === 1 : r === 2 || (prefix === usize - 1 && r === 1 && got === usize), `prefix ${prefix}: returned ${r}`);
    // stopped at the end of the element that crossed the prefix (Snappy compresses by 64 KiB blocks: no element is longer)
    assert.ok(got >= Math.min(prefix, usize) && got <= Math.min(prefix + 65536, usize), `prefix ${prefix}: ${got} bytes`);
    assert.ok(Buffer.from(mem().subarray(dst, dst + got)).equals(want.subarray(0, got)), `prefix ${prefix}: the page's bytes`);
  }
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  let failed = 0;
  for (let t = 0; t < 3000; t++) {
    const bad = Buffer.from(page);
    for (let j = 0, n = 1 + rand(4); j < n; j++) bad[rand(bad.length)] = rand(256);
    mem().set(bad, src);
    mem().fill(0xa5, canary, canary + 256);
    // every third trial also locates the PLAIN values while it decompresses (at 4096: room for 3000 pairs), every
    // third decompresses a prefix (walk 8) of a random length
    const mode = t % 3;
    const got = k.snappy(src, bad.length, dst, usize, [0, 1, 8][mode], 4096, [0, 3000, rand(usize)][mode]);
    assert.ok(got === 0 || got === 1 || (mode === 2 && got === 2));
    failed += got === 0 ? 1 : 0;
    assert.ok(mem().subarray(canary, canary + 256).every((b) => b === 0xa5), `trial ${t}: nothing written past the output's slack`);
  }
  assert.ok(failed > 800, `most damaged pages are refused (${failed} of 3000)`);
});

test('Snappy in the kernel: random valid streams of every element shape (literals of 1 to 70,000 bytes, copies of each kind with offsets from 1 to 65,535 and lengths of 1 to 64, near both ends), many literals or few (each fast loop), decode as hyparquet decodes them', async () => {
  const { kernelModule } = await import('../../src/core/kernels/module.js');
  const { snappyUncompress } = await import('hyparquet');
  const k = new WebAssembly.Instance(kernelModule(), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    snappy(src: number, srcLen: number, dst: number, dstLen: number, walk: number, out: number, maxN: number): number;
  };
  const rand = lcg(99);
  const mem = (): Uint8Array => new Uint8Array(k.memory.buffer);
  for (let trial = 0; trial < 400; trial++) {
    // elements: short ones mostly (as text compresses), long literals and far, overlapping or long copies among them;
    // a third of the elements literals (as in prose: the kernel's branchless loop) or a twentieth (repeated text: the
    // loop with a branch on the kind), streams long enough for the kernel to choose (it looks at elements 1,024 to 4,096)
    const body: number[] = [];
    let size = 0;
    const n = 1 + rand(trial % 10 === 0 ? 3 : trial % 3 === 0 ? 400 : 6000);
    const literals = trial % 2 ? 33 : 5;
    for (let e = 0; e < n; e++) {
      const r = rand(100);
      if (size === 0 || r < literals) {
        const len = rand(100) < 2 ? 61 + rand(trial % 7 === 0 ? 70000 : 300) : rand(100) < 6 ? 17 + rand(44) : 1 + rand(16);
        pushLiteral(body, len, () => (rand(4) === 0 ? rand(256) : 97 + rand(8)));
        size += len;
        continue;
      }
      const off = 1 + (r < 45 ? rand(Math.min(size, 15)) : r < 60 ? rand(Math.min(size, 48)) : rand(Math.min(size, 65535)));
      const kind = off < 2048 && r % 3 === 0 ? 1 : r % 7 === 0 ? 3 : 2;
      const len = kind === 1 ? 4 + rand(8) : 1 + rand(r % 5 === 0 ? 64 : 20);
      if (kind === 1) body.push(((off >>> 8) << 5) | ((len - 4) << 2) | 1, off & 0xff);
      else if (kind === 2) body.push(((len - 1) << 2) | 2, off & 0xff, off >>> 8);
      else body.push(((len - 1) << 2) | 3, off & 0xff, (off >>> 8) & 0xff, 0, 0);
      size += len;
    }
    const page = Uint8Array.from([...varint(size), ...body]);
    const want = new Uint8Array(size);
    snappyUncompress(page, want);
    const src = 1 << 16;
    const dst = src + page.length + 64;
    if (dst + size + 64 > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((dst + size + 64 - k.memory.buffer.byteLength) / 65536));
    mem().fill(0, dst, dst + size + 16);
    mem().set(page, src);
    assert.equal(k.snappy(src, page.length, dst, size, 0, 0, 0), 1, `trial ${trial}: decodes`);
    assert.ok(Buffer.from(mem().subarray(dst, dst + size)).equals(want), `trial ${trial}: ${n} elements, ${size} bytes: the bytes hyparquet decodes`);
    // one byte short of its end, or the decoded length one less: refused
    mem().set(page.subarray(0, page.length - 1), src);
    assert.equal(k.snappy(src, page.length - 1, dst, size, 0, 0, 0), 0, `trial ${trial}: a truncated stream is refused`);
  }
  // a literal whose 4-byte length runs far past the input, among the elements the kernel walks to choose its loop
  // (1,024 to 4,096): refused, no read outside the memory
  for (const at of [3, 1500, 5000]) {
    const body: number[] = [0, 97];
    for (let e = 1; e < 6000; e++) body.push(...(e === at ? [0xfc, 0xfe, 0xff, 0xff, 0x7f] : [((8 - 4) << 2) | 1, 1]));
    const page = Uint8Array.from([...varint(1 + 5999 * 8), ...body]);
    const src = 1 << 16;
    mem().set(page, src);
    assert.equal(k.snappy(src, page.length, src + page.length + 64, 1 + 5999 * 8, 0, 0, 0), 0, `a damaged literal length at element ${at}`);
  }
});

test('a sample of a row group\'s first rows (load with `first`): the same lines as the whole row group\'s first lines, for DuckDB\'s pages and the minimal writer\'s (v1 and v2, REQUIRED and OPTIONAL, dictionary and PLAIN, several pages)', async () => {
  const { writeMiniParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const files: string[] = [];
  const duck = join(dir, 'mixed-sample.parquet');
  await writeParquet(duck, MIXED, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  files.push(duck);
  const rows = Array.from({ length: 300 }, (_, i) => ({
    prompt: `Q${i} ${'words '.repeat(i % 13)}`,
    chosen: i % 9 === 0 ? null : i < 100 ? `frequent ${i % 7}` : `answer ${i}`,
    rejected: i % 4 === 1 ? null : `no ${i} "x"`,
  }));
  const columns = [
    { name: 'prompt', required: true, pageRows: 37, dictionaryPages: 0 },
    { name: 'chosen', required: false, pageRows: 50, dictionaryPages: 1 },
    { name: 'rejected', required: false, pageRows: 64, dictionaryPages: 0 },
  ];
  for (const v2 of [false, true])
    for (const snappy of [false, true]) {
      const file = join(dir, `sample-${v2 ? 'v2' : 'v1'}-${snappy ? 'snappy' : 'plain'}.parquet`);
      writeMiniParquet(file, columns, rows, { groupRows: 300, v2, snappy });
      files.push(file);
    }
  for (const file of files) await sameSamples(file, [1, 5, 36, 37, 38, 64, 299]);
});

test('two ranges that share row groups and meet in them (one reading from each end) give the JSON Lines scan\'s result wherever they meet: duplicates and contradictions near and far, rows for the exact path, errors by row', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { mergeParquetRanges } = await import('../../src/core/scan/scanFile.js');
  const { scanParquetRange } = await import('../../src/core/scan/parquetRange.js');
  const { DEFAULT_CHECK_OPTIONS } = await import('../../src/core/checks/record.js');
  const { writeMiniParquet } = await import('../parquetWriter.js');
  const dir = tmp();
  const rows: Array<Record<string, string | null>> = [];
  for (let i = 0; i < 2600; i++) rows.push({ prompt: `Question ${i}?`, chosen: ` Answer ${i}.`, rejected: ` Wrong ${i % 50 === 0 ? '\u0001' : ''}${i}.` });
  for (const [to, from] of [[101, 100], [900, 200], [2500, 300]]) rows[to] = { ...rows[from] };
  for (const [to, from] of [[401, 400], [1500, 500], [2550, 600]]) rows[to] = { prompt: rows[from].prompt, chosen: rows[from].rejected, rejected: rows[from].chosen };
  for (const i of [7, 1234, 2599]) rows[i] = { ...rows[i], chosen: null }; // no chosen: an error on its row
  const jsonl = join(dir, 'meet.jsonl');
  writeFileSync(jsonl, rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)))).join('\n') + '\n');
  const want = await scanFile(jsonl, { index: false, workers: 1, format: 'trl-standard' });
  assert.ok(want.checks.duplicate.length === 3 && want.checks.contradiction.length === 6 && want.errors.length === 3, 'the reference finds them');
  const file = join(dir, 'meet.parquet');
  const columns = ['prompt', 'chosen', 'rejected'].map((name) => ({ name, required: false, pageRows: 120, dictionaryPages: 0 }));
  writeMiniParquet(file, columns, rows, { groupRows: 250, v2: false, snappy: true });
  const pf = await openParquet(file);
  const n = pf.rowGroups.length;
  assert.equal(n, 11);
  const task = {
    path: file, kind: 'jsonl' as const, bomLength: 0, start: 0, end: 0, format: 'trl-standard' as const, strict: true,
    opts: DEFAULT_CHECK_OPTIONS, maxErrors: 10000,
  };
  for (const k of [0, 1, 5, 10, 11]) {
    // the forward range claims k row groups, the backward one the other n - k: the counter is set so that each,
    // run alone, stops where the other would have
    const claims = new SharedArrayBuffer(4);
    const counter = new Int32Array(claims);
    counter[0] = n - k;
    // both on one reader (as this thread's range reuses the format sample's): the second scan kernel takes over an
    // instance whose counts the first one filled
    const reader = { pf, lines: new RowGroupLines(pf) };
    const a = await scanParquetRange({ ...task, parquet: { from: 0, to: n, claims, slot: 0 } }, null, undefined, reader);
    counter[0] = k;
    const b = await scanParquetRange({ ...task, parquet: { from: 0, to: n, claims, slot: 0, backward: true } }, null, undefined, reader);
    reader.lines.close();
    assert.deepEqual([a.rowGroups, b.rowGroups], [{ from: 0, to: k }, { from: k, to: n }], `claimed at ${k}`);
    const lines = new RowGroupLines(pf);
    const got = await mergeParquetRanges(pf, lines, [a, b], 'trl-standard', 0, { index: false, format: 'trl-standard' });
    lines.close();
    assert.equal(got.records, want.records, `meeting at row group ${k}`);
    assert.deepEqual(got.errors.map((e) => e.line), want.errors.map((e) => e.line), `errors by row, meeting at ${k}`);
    assert.deepEqual(got.checks, want.checks, `meeting at ${k}`);
    assert.deepEqual(got.related, want.related, `meeting at ${k}`);
    assert.deepEqual(got.lengths, want.lengths, `meeting at ${k}`);
  }
});

test('the kernels grow their memory at least twofold (a few grows a scan, each external memory V8 may collect for), exactly where the maximum allows no more, and not at all when it holds enough', async () => {
  const { growMemory, PAGE } = await import('../../src/core/kernels/module.js');
  const m = new WebAssembly.Memory({ initial: 4, maximum: 20 });
  new Uint8Array(m.buffer)[5] = 7;
  growMemory(m, 5 * PAGE);
  assert.equal(m.buffer.byteLength, 8 * PAGE, 'doubled, though one more page was asked for');
  assert.equal(new Uint8Array(m.buffer)[5], 7, 'what was written is kept');
  growMemory(m, 8 * PAGE - 100);
  assert.equal(m.buffer.byteLength, 8 * PAGE, 'enough already: unchanged');
  growMemory(m, 9 * PAGE + 1);
  assert.equal(m.buffer.byteLength, 16 * PAGE, 'doubled again');
  growMemory(m, 17 * PAGE);
  assert.equal(m.buffer.byteLength, 17 * PAGE, 'the maximum (20 pages) forbids doubling: grown as asked');
  assert.throws(() => growMemory(m, 21 * PAGE), RangeError, 'past the maximum: the runtime refuses, as an exact grow would');
});

test('Snappy seek points: snappy() records where each 64 KiB block of the output begins in the input (an element that runs across a block\'s start: none), and snappyFrom() decodes from such a point the bytes a whole decoding gives there, refusing a copy that reaches back past the block it began in', async () => {
  const { kernelModule } = await import('../../src/core/kernels/module.js');
  const { snappyUncompress } = await import('hyparquet');
  const k = new WebAssembly.Instance(kernelModule(), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    snappy(src: number, srcLen: number, dst: number, dstLen: number, walk: number, out: number, maxN: number): number;
    seekStart(out: number, cap: number): void;
    seekCount: WebAssembly.Global;
    snappyFrom(src: number, srcLen: number, ipOff: number, dst: number, dstLen: number, opOff: number, floorOff: number, until: number): number;
    seekIp: WebAssembly.Global;
  };
  const BLOCK = 65536;
  const rand = lcg(7);
  const literal = (body: number[], len: number): void => pushLiteral(body, len, () => 97 + rand(20));
  const copy = (body: number[], off: number, len: number): void => {
    body.push(((len - 1) << 2) | 2, off & 0xff, off >>> 8);
  };
  /**
   * A stream of `blocks` blocks of 64 KiB (the last shorter): each block's elements begin at its start and copy only
   * from within it (as the reference compressor writes them), except `cross` (block → an element of it that copies from
   * the block before) and `span` (block → its first element made to run past its end, into the next block).
   */
  const stream = (blocks: number, cross = -1, span = -1): { page: Uint8Array; size: number; starts: number[] } => {
    const body: number[] = [];
    const starts: number[] = []; // input offset (within body) of each block's first element
    let size = 0;
    for (let b = 0; b < blocks; b++) {
      starts.push(body.length);
      const end = b === blocks - 1 ? b * BLOCK + 1000 + rand(30000) : (b + 1) * BLOCK;
      let e = 0;
      while (size < end) {
        const inBlock = size - b * BLOCK;
        const left = end - size;
        let len: number;
        if (b === span && e === 0) {
          literal(body, BLOCK + 100); // runs past the block's end
          size += BLOCK + 100;
          e++;
          break;
        }
        if (b === cross && e === 5) {
          // a copy from before the block's start
          len = Math.min(left, 4 + rand(40));
          copy(body, inBlock + 1 + rand(100), len);
        } else if (inBlock >= 8 && rand(3) > 0) {
          len = Math.min(left, 4 + rand(40));
          const off = 1 + rand(Math.min(inBlock, 20000));
          copy(body, off, len);
        } else {
          len = Math.min(left, 1 + rand(rand(10) === 0 ? 2000 : 40));
          literal(body, len);
        }
        size += len;
        e++;
      }
    }
    const head = varint(size);
    return { page: Uint8Array.from([...head, ...body]), size, starts: starts.map((s) => s + head.length) };
  };
  const mem = (): Uint8Array => new Uint8Array(k.memory.buffer);
  const place = (page: Uint8Array, size: number): { src: number; dst: number; points: number } => {
    const src = 1 << 16;
    const dst = src + page.length + 64;
    const points = (dst + size + 64 + 15) & ~15;
    if (points + 4096 > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((points + 4096 - k.memory.buffer.byteLength) / 65536));
    mem().set(page, src);
    return { src, dst, points };
  };
  for (let trial = 0; trial < 12; trial++) {
    const { page, size, starts } = stream(2 + (trial % 5));
    const want = new Uint8Array(size);
    snappyUncompress(page, want);
    const { src, dst, points } = place(page, size);
    k.seekStart(points, 64);
    assert.equal(k.snappy(src, page.length, dst, size, 0, 0, 0), 1, `trial ${trial}: decodes`);
    const n = k.seekCount.value as number;
    k.seekStart(0, 0);
    assert.equal(n, Math.ceil(size / BLOCK) - 1, `trial ${trial}: a point per block after the first`);
    const ips = Array.from(new Uint32Array(k.memory.buffer, points, n));
    assert.deepEqual(ips, starts.slice(1), `trial ${trial}: each block's first element`);
    assert.ok(Buffer.from(mem().subarray(dst, dst + size)).equals(want));
    for (let b = 1; b <= n; b++) {
      mem().fill(0, dst, dst + size);
      // from block b's point to the end, one call; then the same in steps of a few KiB, going on from where it stopped
      assert.equal(k.snappyFrom(src, page.length, ips[b - 1], dst, size, b * BLOCK, b * BLOCK, size), size, `trial ${trial}, block ${b}`);
      assert.ok(Buffer.from(mem().subarray(dst + b * BLOCK, dst + size)).equals(want.subarray(b * BLOCK)), `trial ${trial}, block ${b}: the bytes of a whole decoding`);
      mem().fill(0, dst, dst + size);
      let ip = ips[b - 1];
      let op = b * BLOCK;
      while (op < size) {
        const reached = k.snappyFrom(src, page.length, ip, dst, size, op, b * BLOCK, op + 5000);
        assert.ok(reached >= Math.min(size, op + 5000), `trial ${trial}, block ${b}: reached ${reached}`);
        ip = k.seekIp.value as number;
        op = reached;
      }
      assert.ok(Buffer.from(mem().subarray(dst + b * BLOCK, dst + size)).equals(want.subarray(b * BLOCK)), `trial ${trial}, block ${b}: in steps`);
    }
  }
  // a copy from the block before: a whole decoding reads it, a decoding from the block's point is refused
  const crossed = stream(3, 1);
  const c = place(crossed.page, crossed.size);
  const want = new Uint8Array(crossed.size);
  snappyUncompress(crossed.page, want);
  k.seekStart(c.points, 64);
  assert.equal(k.snappy(c.src, crossed.page.length, c.dst, crossed.size, 0, 0, 0), 1);
  const ips = Array.from(new Uint32Array(k.memory.buffer, c.points, k.seekCount.value as number));
  k.seekStart(0, 0);
  assert.ok(Buffer.from(mem().subarray(c.dst, c.dst + crossed.size)).equals(want));
  assert.equal(k.snappyFrom(c.src, crossed.page.length, ips[0], c.dst, crossed.size, BLOCK, BLOCK, crossed.size), -1, 'a copy past the floor');
  assert.equal(k.snappyFrom(c.src, crossed.page.length, ips[1], c.dst, crossed.size, 2 * BLOCK, 2 * BLOCK, crossed.size), crossed.size, 'the next block reads');
  // an element that runs across a block's start: no point for that block
  const spanned = stream(3, -1, 0);
  const s = place(spanned.page, spanned.size);
  k.seekStart(s.points, 64);
  assert.equal(k.snappy(s.src, spanned.page.length, s.dst, spanned.size, 0, 0, 0), 1);
  const sp = Array.from(new Uint32Array(k.memory.buffer, s.points, k.seekCount.value as number));
  k.seekStart(0, 0);
  assert.equal(sp[0], 0xffffffff, 'block 1 begins inside a literal');
});

test('numbers(): a flat number column\'s values and flags, each physical type, nulls by definition level, dictionary indices; values past the page or indices past the dictionary refused', async () => {
  const { kernelModule } = await import('../../src/core/kernels/module.js');
  const k = new WebAssembly.Instance(kernelModule(), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    heapBase(): number;
    numbers(src: number, srcLen: number, type: number, idx: number, dictN: number, dictFlags: number, defs: number, n: number, vals: number, flags: number): number;
  };
  const base = (k.heapBase() + 15) & ~15;
  k.memory.grow(1); // (room for the buffers below, 28 KiB from the heap base)
  const SRC = base;
  const DEFS = base + 4096;
  const IDX = base + 8192;
  const VALS = base + 12288;
  const FLAGS = base + 16384;
  const DICT = base + 20480;
  const DICT_FLAGS = base + 24576;
  const view = (): DataView => new DataView(k.memory.buffer);
  const read = (n: number): Array<[number, number]> => {
    const v = new Float64Array(k.memory.buffer, VALS, n);
    const f = new Uint8Array(k.memory.buffer, FLAGS, n);
    return Array.from({ length: n }, (_, i) => [v[i], f[i]]);
  };
  const setDefs = (defs: number[]): void => defs.forEach((d, i) => view().setUint32(DEFS + 4 * i, d, true));
  // DOUBLE (type 0): finite values (−0 kept), NaN and infinities flagged 2 with the value 0
  [1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -2.25e300].forEach((x, i) => view().setFloat64(SRC + 8 * i, x, true));
  assert.equal(k.numbers(SRC, 40, 0, 0, 0, 0, 0, 5, VALS, FLAGS), 1);
  const d = read(5);
  assert.deepEqual(d.map((p) => p[1]), [1, 1, 2, 2, 1]);
  assert.ok(Object.is(d[1][0], -0) && d[0][0] === 1.5 && d[2][0] === 0 && d[3][0] === 0 && d[4][0] === -2.25e300);
  // FLOAT (1) and INT32 (2), with nulls: a value is read only where the level is 1
  [0.1, -3].forEach((x, i) => view().setFloat32(SRC + 4 * i, x, true));
  setDefs([0, 1, 0, 1]);
  assert.equal(k.numbers(SRC, 8, 1, 0, 0, 0, DEFS, 4, VALS, FLAGS), 1);
  assert.deepEqual(read(4), [[0, 0], [Math.fround(0.1), 1], [0, 0], [-3, 1]]);
  [2147483647, -2147483648].forEach((x, i) => view().setInt32(SRC + 4 * i, x, true));
  assert.equal(k.numbers(SRC, 8, 2, 0, 0, 0, 0, 2, VALS, FLAGS), 1);
  assert.deepEqual(read(2), [[2147483647, 1], [-2147483648, 1]]);
  // INT64 (3): beyond ±(2^53 − 1) flagged 2 (the exact path reads it), the largest safe integers kept
  [2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 53n, -(2n ** 53n) - 1n, 42n].forEach((x, i) => view().setBigInt64(SRC + 8 * i, x, true));
  assert.equal(k.numbers(SRC, 40, 3, 0, 0, 0, 0, 5, VALS, FLAGS), 1);
  assert.deepEqual(read(5), [[2 ** 53 - 1, 1], [-(2 ** 53 - 1), 1], [0, 2], [0, 2], [42, 1]]);
  // PLAIN values that run past the page: refused (three present values in 16 bytes of DOUBLE)
  setDefs([1, 1, 0, 1]);
  assert.equal(k.numbers(SRC, 16, 0, 0, 0, 0, DEFS, 4, VALS, FLAGS), 0);
  assert.equal(k.numbers(SRC, 24, 0, 0, 0, 0, DEFS, 4, VALS, FLAGS), 1);
  // a negative page size (a damaged header): no value fits
  assert.equal(k.numbers(SRC, -8, 0, 0, 0, 0, DEFS, 4, VALS, FLAGS), 0);
  // a dictionary (decoded by numbers() itself), then indices into it for the present values; one past its end refused
  [7, Number.NaN, -1].forEach((x, i) => view().setFloat64(SRC + 8 * i, x, true));
  assert.equal(k.numbers(SRC, 24, 0, 0, 0, 0, 0, 3, DICT, DICT_FLAGS), 1);
  [2, 0, 1].forEach((x, i) => view().setUint32(IDX + 4 * i, x, true));
  setDefs([1, 0, 1, 1]);
  assert.equal(k.numbers(DICT, 24, 0, IDX, 3, DICT_FLAGS, DEFS, 4, VALS, FLAGS), 1);
  assert.deepEqual(read(4), [[-1, 1], [0, 0], [7, 1], [0, 2]]);
  view().setUint32(IDX + 4, 3, true);
  assert.equal(k.numbers(DICT, 24, 0, IDX, 3, DICT_FLAGS, DEFS, 4, VALS, FLAGS), 0);
});
