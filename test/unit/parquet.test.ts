/** Parquet preference files (src/core/parquet, scan/parquet.ts): stats, score and export, issue #13 item 5. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { scanFile } from '../../src/core/scan/index.js';
import { openParquet } from '../../src/core/parquet/parquet.js';
import { markLzo, writeParquet } from '../parquet.js';
import { fixture, repoRoot } from '../helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'preflens-pq-'));
const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], { encoding: 'utf8' });

test('a Parquet copy of each JSON Lines fixture (Snappy or ZSTD, nested lists of messages) gives the same format, checks, lengths and numbering (rows for lines)', async () => {
  const dir = tmp();
  for (const [name, codec] of [['trl-standard.jsonl', 'snappy'], ['trl-conversational.jsonl', 'zstd'], ['hh.jsonl', 'zstd'], ['kto.jsonl', 'snappy'], ['group.jsonl', 'zstd'], ['prompt-completion.jsonl', 'snappy']] as const) {
    const pq = join(dir, name.replace('.jsonl', '.parquet'));
    await writeParquet(pq, `SELECT * FROM read_json(${`'${fixture(name)}'`})`, `COMPRESSION ${codec}`);
    const a = await scanFile(fixture(name), { index: false, workers: 1 });
    const b = await scanFile(pq, { index: false, workers: 1 });
    assert.equal(b.source, 'parquet');
    assert.equal(b.format, a.format, name);
    assert.equal(b.records, a.records, name);
    assert.deepEqual(b.checks, a.checks, name);
    assert.deepEqual(b.lengths, a.lengths, name);
    assert.deepEqual(b.related, a.related, name);
  }
});

/**
 * n rows of TRL standard pairs; row r (1-based) takes the text of row r − 3000 when r > 3000 and r % 1000 == 1 (a
 * duplicate of it when that row has its own text: rows 3001, 4001, 5001 repeat rows 1, 1001, 2001); rows r % 500 == 0
 * have identical chosen and rejected.
 */
async function bigFile(file: string, n: number, options: string): Promise<void> {
  const base = `SELECT i, 'Question ' || ((CASE WHEN i > 3000 AND i % 1000 = 1 THEN i - 3000 ELSE i END)) AS q FROM range(1, ${n + 1}) t(i)`;
  await writeParquet(file, `SELECT q AS prompt, ' answer ' || q AS chosen, CASE WHEN i % 500 = 0 THEN ' answer ' || q ELSE ' wrong ' || q END AS rejected FROM (${base}) ORDER BY i`, options);
}

test('several row groups: read one at a time (in two workers too), rows numbered across them, duplicates found across row groups', async () => {
  const file = join(tmp(), 'big.parquet');
  await bigFile(file, 7000, 'COMPRESSION zstd, ROW_GROUP_SIZE 2048');
  const pf = await openParquet(file);
  assert.ok(pf.rowGroups.length >= 3, `${pf.rowGroups.length} row groups`);
  const one = await scanFile(file, { index: false, workers: 1 });
  assert.equal(one.records, 7000);
  assert.deepEqual(one.checks.duplicate, [3001, 4001, 5001]);
  assert.deepEqual(one.related, { 3001: 1, 4001: 1001, 5001: 2001 });
  assert.deepEqual(one.checks.identical, Array.from({ length: 14 }, (_, k) => (k + 1) * 500));
  const two = await scanFile(join(file), { index: false, workers: 2, parallelThreshold: 0, workerScript: join(repoRoot, 'dist', 'scanWorker.js') });
  assert.deepEqual(two.checks, one.checks);
  assert.deepEqual(two.lengths, one.lengths);
  // a worker's range takes the footer this thread parsed (openParquet `known`) while the file has the size it had: a
  // footer altered to drop the last row group is taken as it is, and parsed again from the file once the size differs
  const { statSync } = await import('node:fs');
  const size = statSync(file).size;
  const last = pf.metadata.row_groups[pf.metadata.row_groups.length - 1];
  const fewer = { ...pf.metadata, row_groups: pf.metadata.row_groups.slice(0, -1), num_rows: BigInt(pf.metadata.num_rows) - BigInt(last.num_rows) };
  assert.equal((await openParquet(file, { metadata: fewer, size })).rowGroups.length, pf.rowGroups.length - 1);
  assert.equal((await openParquet(file, { metadata: fewer, size: size + 1 })).rowGroups.length, pf.rowGroups.length);
  // the CLI names rows, not lines
  const r = cli('stats', file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /checks \(1-based rows\)/);
});

test('bad Parquet input: a schema that is not preference-shaped, an unknown compression in one row group (the others still read), not Parquet at all', async () => {
  const dir = tmp();
  const notPref = join(dir, 'metrics.parquet');
  await writeParquet(notPref, `SELECT 1 AS step, 0.5 AS loss`);
  const a = cli('stats', notPref);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /metrics\.parquet: not a preference dataset: columns step, loss/);
  const lzo = join(dir, 'lzo.parquet');
  await bigFile(lzo, 5000, 'COMPRESSION uncompressed, ROW_GROUP_SIZE 2048');
  const pf = await openParquet(lzo);
  assert.equal(markLzo(lzo, pf.columns.length), pf.columns.length, 'the first row group\'s columns');
  const b = cli('stats', lzo, '--json');
  assert.equal(b.status, 0, b.stderr);
  const j = JSON.parse(b.stdout) as { records: number; errors: Array<{ line: number; message: string }> };
  assert.equal(j.records, 5000 - pf.rowGroups[0].rows, 'the other row groups are read');
  assert.equal(j.errors[0].line, 1);
  assert.match(j.errors[0].message, /lzo\.parquet: row group 1, column prompt: compression LZO is not supported/);
  const fake = join(dir, 'fake.parquet');
  require('node:fs').writeFileSync(fake, 'PAR1 not really');
  const c = cli('stats', fake);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /fake\.parquet: not a readable Parquet file/);
});

test('preflens score and export take Parquet: the rows scored and exported are the JSON Lines file\'s records', async () => {
  const pq = join(tmp(), 'ts.parquet');
  await writeParquet(pq, `SELECT * FROM read_json('${fixture('trl-standard.jsonl')}')`, 'COMPRESSION zstd');
  const args = ['--policy', fixture('tiny-gpt2'), '--ref', fixture('tiny-gpt2'), '--lines', '2-4', '--no-cache', '--max-length', '64'];
  const a = cli('score', fixture('trl-standard.jsonl'), ...args);
  const b = cli('score', pq, ...args);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout, a.stdout, 'rows 2–4 score as lines 2–4');
  const out = join(tmp(), 'kept.jsonl');
  const e = cli('export', pq, '--out', out, '--drop', 'duplicate,emptyResponse');
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stderr, /wrote 4 records .*2 rows left out/);
  const src = readFileSync(fixture('trl-standard.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown), [src[0], src[1], src[2], src[3]]);
  assert.equal(cli('export', pq, '--out', pq, '--drop', 'duplicate').status, 1, 'never the source');
});

test('preference datasets in the local Hugging Face cache: snapshot links into blobs/ followed; non-preference files left out', async () => {
  const { hubDatasets } = await import('../../src/core/hubDatasets.js');
  const { mkdirSync, symlinkSync, renameSync, writeFileSync } = await import('node:fs');
  const hub = tmp();
  const repo = join(hub, 'datasets--HuggingFaceH4--ultrafeedback_binarized');
  const snap = join(repo, 'snapshots', '3949bf5f8c17c394422ccfab0c31ea9c20bdeb85', 'data');
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(repo, 'blobs'));
  // a blob and the snapshot's link to it, as huggingface_hub lays them out
  const blob = join(repo, 'blobs', 'a'.repeat(64));
  await writeParquet(blob + '.tmp', `SELECT * FROM read_json('${fixture('trl-standard.jsonl')}')`, 'COMPRESSION zstd');
  renameSync(blob + '.tmp', blob);
  symlinkSync(`../../../blobs/${'a'.repeat(64)}`, join(snap, 'train_prefs-00000-of-00001.parquet'));
  // not preference-shaped, and a broken link (a file not downloaded)
  await writeParquet(join(snap, 'metrics.parquet'), 'SELECT 1 AS step');
  symlinkSync('../../../blobs/missing', join(snap, 'test_prefs-00000-of-00001.parquet'));
  writeFileSync(join(snap, 'extra.jsonl'), readFileSync(fixture('kto.jsonl')));
  const found = await hubDatasets({ HF_HUB_CACHE: hub, HOME: tmp() });
  const here = found.filter((d) => d.cache === hub);
  assert.deepEqual(here.map((d) => [d.id, d.name, d.format, d.rows]), [
    ['HuggingFaceH4/ultrafeedback_binarized', 'data/extra.jsonl', 'kto', null],
    ['HuggingFaceH4/ultrafeedback_binarized', 'data/train_prefs-00000-of-00001.parquet', 'trl-standard', 6],
  ]);
  const r = await scanFile(here[1].file, { index: false, workers: 1 });
  assert.equal(r.records, 6);
});

test('rows as JSON from their bytes, read by row (recordSource.ts, as the extension reads them): quotes, backslashes, control characters and emoji escaped as JSON; 64-bit integers; null cells left out; nested lists of structs', async () => {
  const { ParquetRows } = await import('../../src/core/parquet/rowAccess.js');
  const { openParquet } = await import('../../src/core/parquet/parquet.js');
  const dir = tmp();
  const pq = join(dir, 'odd.parquet');
  const text = 'say "hi" \\ then\nnew line\ttab \u0001 bell 😀 é';
  await writeParquet(
    pq,
    `SELECT ${"'" + text.replace(/'/g, "''") + "'"} AS chosen, NULL::VARCHAR AS rejected, 9007199254740993::BIGINT AS big, 42::BIGINT AS small, [{'role': 'user', 'content': 'a\"b'}, {'role': 'assistant', 'content': NULL}] AS messages`,
    'COMPRESSION zstd',
  );
  const rows = new ParquetRows(await openParquet(pq));
  const line = Buffer.from(await rows.line(1)).toString('utf8');
  rows.close();
  assert.ok(!line.includes('\n'), 'one line');
  assert.deepEqual(JSON.parse(line), { chosen: text, big: '9007199254740993', small: 42, messages: [{ role: 'user', content: 'a"b' }, { role: 'assistant' }] });
});

test('a few rows asked at a time (the inspector\'s pages, the record shown) decode their row group only as far as the last of them and a page beyond, and whole once a later row is asked; the rows equal those of whole row groups (recordSource.ts readFew)', async () => {
  const { ParquetRows } = await import('../../src/core/parquet/rowAccess.js');
  const { openRecordSource } = await import('../../src/core/recordSource.js');
  const dir = tmp();
  for (const codec of ['snappy', 'zstd']) {
    const pq = join(dir, `hub-${codec}.parquet`);
    // hub-shaped rows: a string prompt, conversations, the messages column, scores; row groups of 2,048 rows
    await writeParquet(
      pq,
      `SELECT 'question ' || i AS prompt, 'id' || i AS prompt_id,
        [{'content': 'question ' || i, 'role': 'user'}, {'content': repeat('good answer ' || i || ' ', 1 + i % 7), 'role': 'assistant'}] AS chosen,
        [{'content': 'question ' || i, 'role': 'user'}, {'content': CASE WHEN i % 9 = 0 THEN NULL ELSE 'bad answer ' || i END, 'role': 'assistant'}] AS rejected,
        [{'content': 'question ' || i, 'role': 'user'}] AS messages, (i % 10)::DOUBLE AS score_chosen, 1.5 AS score_rejected
       FROM range(1, 6145) t(i) ORDER BY i`,
      `COMPRESSION ${codec}, ROW_GROUP_SIZE 2048`,
    );
    const pf = await openParquet(pq);
    assert.deepEqual(pf.rowGroups.map((g) => g.rows), [2048, 2048, 2048], codec);
    const whole = new ParquetRows(pf, 3);
    const all: string[] = [];
    for (let row = 1; row <= pf.rows; row++) all.push(Buffer.from(await whole.line(row)).toString('utf8'));
    whole.close();
    assert.equal(JSON.parse(all[17]).chosen[1].content, 'good answer 18 '.repeat(5));
    const rows = new ParquetRows(pf);
    const text = async (row: number, upTo?: number): Promise<string> => Buffer.from(await rows.line(row, upTo)).toString('utf8');
    // the first page, rows 1-100: the first 200 rows of the first row group decoded
    for (let row = 1; row <= 100; row++) assert.equal(await text(row, 100), all[row - 1], `${codec} row ${row}`);
    assert.equal(rows.decodedRows, 200, codec);
    // the next page is held; the one after it decodes the row group whole
    for (let row = 101; row <= 200; row++) assert.equal(await text(row, 200), all[row - 1]);
    assert.equal(rows.decodedRows, 200);
    for (let row = 201; row <= 300; row++) assert.equal(await text(row, 300), all[row - 1]);
    assert.equal(rows.decodedRows, 200 + 2048);
    // a page at the third row group's end: whole (its last row is within a page of the end); one in the second's
    // middle: as far as its row 1,051 and 100 more (the first row group's reader given to it: two are kept)
    for (let row = 6100; row <= 6144; row++) assert.equal(await text(row, 6144), all[row - 1]);
    assert.equal(rows.decodedRows, 200 + 2 * 2048);
    for (let row = 3000; row <= 3099; row++) assert.equal(await text(row, 3099), all[row - 1]);
    assert.equal(rows.decodedRows, 200 + 2 * 2048 + 1151);
    // without upTo (search, export, scoring): whole row groups
    assert.equal(await text(1), all[0]);
    assert.equal(rows.decodedRows, 200 + 3 * 2048 + 1151);
    rows.close();
    // readFew: the records of a page, as read() reads them
    const src = await openRecordSource(pq);
    const refs = { line: Uint32Array.from([5, 6, 2047, 2048, 2049]), offset: new Float64Array(5), length: new Uint32Array(5), sub: new Uint32Array(5) };
    const few = await src.readFew(refs, null);
    for (let i = 0; i < 5; i++) assert.deepEqual(few[i], await src.read(refs, i, null));
    assert.equal(few[2].raw, all[2046]);
    src.close();
  }
  // a JSON Lines file's few records: as read() reads them, a record that cannot be read as its error
  const { scanFile: scan } = await import('../../src/core/scan/index.js');
  const r = await scan(fixture('hh.jsonl'), { workers: 1 });
  const src = await openRecordSource(fixture('hh.jsonl'));
  const refs = { line: r.index.line.slice(0, 3), offset: r.index.offset.slice(0, 3), length: r.index.length.slice(0, 3), sub: r.index.sub.slice(0, 3) };
  refs.offset[2] = 1e12; // past the file's end
  const few = await src.readFew(refs, r.format);
  assert.deepEqual(few.slice(0, 2), [await src.read(refs, 0, r.format), await src.read(refs, 1, r.format)]);
  assert.equal(few[2].record, null);
  assert.ok(few[2].error, 'an error, not a throw');
  src.close();
});

test('a Parquet range scanned inline (the extension\'s host worker) waits for `pause` after every row group, and gives the same result as without it; the host worker answers a request for records asked during a scan before the scan goes on', async () => {
  const { Worker } = await import('node:worker_threads');
  const { scanParquetRange } = await import('../../src/core/scan/parquetRange.js');
  const { RowGroupLines } = await import('../../src/core/parquet/rowLines.js');
  const { DEFAULT_CHECK_OPTIONS } = await import('../../src/core/checks/record.js');
  const file = join(tmp(), 'inline.parquet');
  await bigFile(file, 20000, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  const pf = await openParquet(file);
  const groups = pf.rowGroups.length;
  assert.ok(groups >= 6, `${groups} row groups`);
  const task = {
    path: file, kind: 'jsonl' as const, bomLength: 0, start: 0, end: 0, format: 'trl-standard' as const, strict: false,
    opts: DEFAULT_CHECK_OPTIONS, maxErrors: 10000, parquet: { from: 0, to: groups },
  };
  const plain = await scanParquetRange(task, null);
  // a pause that holds the range until released: while it is held, no row group is read
  let held: (() => void) | null = null;
  let pauses = 0;
  let progress = 0;
  const lines = new RowGroupLines(pf);
  let settled = false;
  const scanning = scanParquetRange(task, null, () => progress++, {
    pf,
    lines,
    pause: () => {
      pauses++;
      return new Promise<void>((resolve) => (held = resolve));
    },
  }).finally(() => (settled = true));
  for (let k = 1; k <= groups; k++) {
    while (!held) await new Promise((r) => setImmediate(r));
    assert.equal(pauses, k);
    assert.equal(progress, k, `row group ${k} read, and no further while the pause holds`);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.equal(progress, k);
    assert.equal(settled, false);
    const h: () => void = held;
    held = null;
    h();
  }
  const paused = await scanning;
  lines.close();
  assert.equal(pauses, groups);
  assert.equal(paused.count, plain.count);
  assert.deepEqual(Array.from(paused.flagged), Array.from(plain.flagged));
  assert.deepEqual(Array.from(paused.exact), Array.from(plain.exact));
  assert.deepEqual(paused.lengths, plain.lengths);
  assert.deepEqual(Array.from(paused.line), Array.from(plain.line));

  // what the host worker's range waits for (jobs.ts Answering): the next turn when no request is being answered;
  // else until every one is, each of its reads included
  const { Answering } = await import('../../src/core/jobs.js');
  const answering = new Answering();
  let quiet = false;
  await answering.quiet();
  const steps: string[] = [];
  const request = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1)); // a read: a turn of the event loop each
      steps.push(`read ${i}`);
    }
  };
  const answered = answering.track(request());
  const waited = answering.quiet().then(() => {
    quiet = true;
    steps.push('scan goes on');
  });
  await Promise.all([answered, waited]);
  assert.ok(quiet);
  assert.deepEqual(steps, ['read 0', 'read 1', 'read 2', 'read 3', 'read 4', 'scan goes on']);
  // a request that fails counts as answered too
  await answering.track(Promise.reject(new Error('x'))).catch(() => undefined);
  await answering.quiet();

  // the host worker: a scan and a request for records sent together; both answered, the scan equal to a scan on this
  // thread
  const whole = await scanFile(file, { workers: 1 });
  const w = new Worker(join(repoRoot, 'dist', 'hostWorker.js'));
  try {
    const order: string[] = [];
    const replies = new Map<number, { type: string; result?: { records: number; checks: unknown }; records?: Array<{ raw: string }> }>();
    const done = new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.on('message', (m: { id: number; type: string; result?: { records: number; checks: unknown } }) => {
        if (m.type === 'progress') return;
        order.push(m.type);
        replies.set(m.id, m);
        if (replies.size === 2) resolve();
      });
    });
    const refs = { line: Uint32Array.from([1, 2, 20000]), offset: new Float64Array(3), length: new Uint32Array(3), sub: new Uint32Array(3) };
    w.postMessage({ id: 1, op: 'scan', path: file, options: { parallelThreshold: 0, workers: 2 } });
    w.postMessage({ id: 2, op: 'records', path: file, refs, format: 'trl-standard' });
    await done;
    assert.deepEqual(order, ['records', 'scan'], 'the records first');
    assert.deepEqual(replies.get(2)?.records?.map((r) => JSON.parse(r.raw).prompt), ['Question 1', 'Question 2', 'Question 20000']);
    assert.equal(replies.get(1)?.result?.records, 20000);
    assert.deepEqual(replies.get(1)?.result?.checks, whole.checks);
  } finally {
    await w.terminate();
  }
});
