import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { detectFormat, scanFile, type ScanResult } from '../../src/core/scan/index.js';
import { writeParquet } from '../parquet.js';
import { CancelledError, InputError } from '../../src/core/errors.js';
import { readRecord, recordAtLine } from '../../src/core/records.js';
import type { CheckName } from '../../src/core/checks/table.js';
import { comparableScan, fixture, tempFile, repoRoot } from '../helpers.js';

const workerScript = join(repoRoot, 'out', 'src', 'workers', 'scanWorker.js');

function nonEmpty(r: ScanResult): Partial<Record<CheckName, number[]>> {
  return Object.fromEntries(Object.entries(r.checks).filter(([, v]) => v.length > 0));
}

test('trl-standard fixture: every pair check finds its line', async () => {
  const r = await scanFile(fixture('trl-standard.jsonl'));
  assert.equal(r.format, 'trl-standard');
  assert.equal(r.records, 6);
  assert.deepEqual(nonEmpty(r), {
    identical: [2],
    emptyResponse: [6],
    duplicate: [5], // line 1 with a double space in the prompt
    contradiction: [1, 4, 5], // line 4 swaps the responses of lines 1 and 5
    lowSeparation: [1, 3, 4, 5],
    scoreTie: [2],
    scoreInversion: [3],
  });
  assert.equal(r.related[5], 1);
  assert.equal(r.related[4], 1);
});

test('hh fixture: prompt mismatch and empty response; curly quotes and emoji are not encoding problems', async () => {
  const r = await scanFile(fixture('hh.jsonl'));
  assert.equal(r.format, 'hh');
  assert.deepEqual(nonEmpty(r), { promptMismatch: [2], emptyResponse: [3] });
});

test('groups, ranked lists, KTO, pairwise and sharegpt fixtures', async () => {
  const g = await scanFile(fixture('group.jsonl'));
  assert.deepEqual([g.format, g.records, nonEmpty(g)], ['group', 3, { zeroVarianceGroup: [2] }]);
  const rk = await scanFile(fixture('ranked.jsonl'));
  assert.deepEqual([rk.format, nonEmpty(rk)], ['ranked', { scoreTie: [2] }]);
  const k = await scanFile(fixture('kto.jsonl'));
  assert.deepEqual([k.format, k.records, k.labels], ['kto', 3, { desirable: 2, undesirable: 1 }]);
  const p = await scanFile(fixture('pairwise.json'));
  assert.equal(p.format, 'pairwise-index');
  assert.deepEqual(p.checks.identical, [3]);
  assert.deepEqual(p.checks.scoreTie, [3]);
  const s = await scanFile(fixture('sharegpt.json'));
  assert.equal(s.format, 'sharegpt');
  assert.deepEqual(s.checks.duplicate, [12]);
  assert.deepEqual(Array.from(s.index.line), [2, 7, 12]);
});

test('bad lines are reported with line, column and field; good lines are still read', async () => {
  const r = await scanFile(fixture('bad.jsonl'));
  assert.equal(r.records, 2);
  assert.deepEqual(Array.from(r.index.line), [1, 7]);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.field ?? null]),
    [[2, null], [3, 'chosen'], [4, 'rejected'], [6, null]],
  );
  assert.match(r.errors[0].message, /invalid JSON/);
  assert.equal(r.errors[0].column, 39);
  assert.match(r.errors[1].message, /field "chosen": expected a string, got a number/);
  assert.match(r.errors[2].message, /field "rejected": missing/);
});

test('BOM, CRLF, blank lines and invalid UTF-8', async () => {
  const r = await scanFile(fixture('bom-crlf.jsonl'));
  assert.equal(r.records, 3);
  assert.deepEqual(Array.from(r.index.line), [1, 2, 4]);
  const bytes = readFileSync(fixture('bom-crlf.jsonl'));
  assert.deepEqual(Array.from(r.index.offset), [3, bytes.indexOf('{"prompt": "crlf"'), bytes.indexOf('{"prompt": "bad')]);
  assert.deepEqual(r.checks.encoding, [2, 4]);
  const rec = readRecord(fixture('bom-crlf.jsonl'), r.index, 0, r.format);
  assert.equal(rec.record?.prompt, 'bom');
});

test('truncated JSON array: the complete element is read, the cut one reported', async () => {
  const r = await scanFile(fixture('truncated-array.json'));
  assert.equal(r.records, 1);
  assert.deepEqual(r.errors.map((e) => e.line), [3]);
});

test('empty and blank-only files are input errors', async () => {
  await assert.rejects(scanFile(fixture('empty.jsonl')), (e: unknown) => e instanceof InputError && /empty/.test(e.message));
  await assert.rejects(scanFile(fixture('blank.jsonl')), (e: unknown) => e instanceof InputError && /no records/.test(e.message));
  await assert.rejects(scanFile(fixture('does-not-exist.jsonl')), InputError);
});

test('a 20 MB line is one record', async () => {
  const long = 'w '.repeat(10 * 1024 * 1024);
  const p = tempFile('long.jsonl', `{"prompt":"p","chosen":"${long}","rejected":"short"}\n{"prompt":"q","chosen":"a","rejected":"b c d e f"}\n`);
  const r = await scanFile(p);
  assert.equal(r.records, 2);
  assert.equal(r.lengths.chosen.chars.max, long.length);
  assert.deepEqual(r.checks.truncationRisk, [1]);
});

test('parallel scan (3 workers) gives the same result as one thread, across range boundaries', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 97 === 5) lines.push('{"broken": ');
    else if (i % 50 === 7) lines.push('');
    else lines.push(JSON.stringify({ prompt: `question ${i % 400}`, chosen: `answer ${i % 400} is good`, rejected: i % 13 === 0 ? `answer ${i % 400} is good` : `bad ${i % 400}` }));
  }
  const p = tempFile('par.jsonl', lines.join('\n') + '\n');
  const one = await scanFile(p, { workers: 1 });
  const par = await scanFile(p, { workers: 3, parallelThreshold: 0, workerScript });
  assert.equal(par.records, one.records);
  assert.deepEqual(par.checks, one.checks);
  assert.deepEqual(par.errors, one.errors);
  assert.deepEqual(Array.from(par.index.line), Array.from(one.index.line));
  assert.deepEqual(Array.from(par.index.offset), Array.from(one.index.offset));
  assert.ok(one.checks.duplicate.length > 0 && one.checks.identical.length > 0);
});

test('random access: recordAtLine and readRecord', async () => {
  const r = await scanFile(fixture('sharegpt.json'));
  assert.equal(recordAtLine(r.index, 1), -1);
  assert.equal(recordAtLine(r.index, 8), 1);
  const rec = readRecord(fixture('sharegpt.json'), r.index, 1, r.format);
  assert.equal(rec.record?.candidates[0].text, 'Rome.');
});

test('--format override is strict: records that do not fit are errors', async () => {
  const p = tempFile('o.jsonl', '{"prompt":"p","chosen":"c","rejected":"r"}\n');
  const r = await scanFile(p, { format: 'kto' });
  assert.equal(r.formatSource, 'override');
  assert.equal(r.records, 0);
  assert.match(r.errors[0].message, /field "label": missing/);
  writeFileSync(p, '{"prompt":"p","completion":"c","label":true}\n{"prompt":"p","chosen":"c","rejected":"r"}\n');
  const mixed = await scanFile(p);
  assert.deepEqual(mixed.formats, { kto: 1, 'trl-standard': 1 });
});

test('head scan: the first whole lines of a big file, marked partial', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) lines.push(JSON.stringify({ prompt: `q${i}`, chosen: `a${i} `.repeat(20), rejected: `b${i}` }));
  const p = tempFile('head.jsonl', lines.join('\n') + '\n');
  const full = await scanFile(p, { workers: 1 });
  const head = await scanFile(p, { headBytes: 64 * 1024 });
  assert.equal(head.partial, true);
  assert.ok(head.records > 100 && head.records < full.records, `${head.records}`);
  assert.deepEqual(Array.from(head.index.offset), Array.from(full.index.offset).slice(0, head.records), 'same offsets as the full scan');
  assert.ok((head.scannedBytes ?? 0) >= 64 * 1024);
  assert.equal(full.partial, undefined);
});

test('a format detected beforehand (ScanOptions.detected: the host worker detects once for a head and a full scan) gives the same result, and is not detected again', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(JSON.stringify({ prompt: `q${i % 700}`, chosen: `a${i} `.repeat(5), rejected: i % 9 ? `b${i}` : `a${i} `.repeat(5) }));
  const jsonl = tempFile('detected.jsonl', lines.join('\n') + '\n');
  const pq = tempFile('detected.parquet', '');
  await writeParquet(pq, `SELECT 'q' || (i % 700) AS prompt, repeat('a' || i || ' ', 5) AS chosen, CASE WHEN i % 9 = 0 THEN repeat('a' || i || ' ', 5) ELSE 'b' || i END AS rejected FROM range(3000) t(i)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 500');
  for (const p of [jsonl, pq]) {
    const guess = await detectFormat(p);
    assert.equal(guess.format, 'trl-standard');
    for (const headBytes of [undefined, 16 * 1024]) {
      const opts = { workers: 2, parallelThreshold: 0, ...(headBytes ? { headBytes } : {}) };
      assert.deepEqual(comparableScan(await scanFile(p, { ...opts, detected: guess })), comparableScan(await scanFile(p, opts)), `${p} head ${headBytes}`);
    }
    // the guess given is the one used: a file read as another format than its rows' (not strict: no errors)
    const other = await scanFile(p, { workers: 1, detected: { ...guess, format: 'prompt-only' } });
    assert.equal(other.format, 'prompt-only');
  }
});

test('onHead: a huge file\'s first records first (as a head scan gives them), then the whole file (as a full scan gives it): JSON Lines by two scans, Parquet in one pass whose head is one of its ranges, with duplicates and contradictions between the head and the rest', async () => {
  // rows 1,500 to 1,799 repeat rows 0 to 299; rows 1,800 to 1,899 swap the responses of rows 300 to 399
  const row = (i: number): { prompt: string; chosen: string; rejected: string } => {
    const k = i % 1500;
    const a = `answer ${k} `.repeat(4);
    const b = `other ${k}`;
    if (k < 300) return { prompt: `q${k}`, chosen: a, rejected: b };
    if (k < 400) return i < 1500 ? { prompt: `q${k}`, chosen: a, rejected: b } : { prompt: `q${k}`, chosen: b, rejected: a };
    return { prompt: `q${i}`, chosen: `${a}${i}`, rejected: `${b} ${i}` };
  };
  const rows = Array.from({ length: 3000 }, (_, i) => row(i));
  const jsonl = tempFile('onhead.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const pq = tempFile('onhead.parquet', '');
  await writeParquet(pq, `SELECT prompt, chosen, rejected FROM read_json('${jsonl}')`, 'COMPRESSION snappy, ROW_GROUP_SIZE 500');
  for (const p of [jsonl, pq]) {
    // (a Parquet record's offset and length in the index are not bytes of anything, and differ with the ranges: its
    // row, sub-record and flags are what identifies it)
    const comparable = (r: ScanResult): unknown => {
      const c = comparableScan(r) as { index: Record<string, number[]> };
      return p === pq ? { ...c, index: { line: c.index.line, sub: c.index.sub, flags: c.index.flags } } : c;
    };
    const head = comparable(await scanFile(p, { headBytes: 16 * 1024 }));
    for (const opts of [{ workers: 1 }, { workers: 2, parallelThreshold: 0 }, { workers: 2, parallelThreshold: 0, inline: true }]) {
      const heads: ScanResult[] = [];
      const whole = await scanFile(p, { ...opts, headBytes: 16 * 1024, onHead: (h) => heads.push(h as ScanResult) });
      assert.equal(heads.length, 1, `${p} ${JSON.stringify(opts)}: one head`);
      assert.equal(heads[0].partial, true);
      assert.deepEqual(comparable(heads[0]), head, `${p} ${JSON.stringify(opts)}: the head scan's result`);
      const full = comparable(await scanFile(p, opts));
      assert.deepEqual(comparable(whole), full, `${p} ${JSON.stringify(opts)}: the full scan's result`);
      assert.ok((whole.checks.duplicate?.length ?? 0) >= 300 && (whole.checks.contradiction?.length ?? 0) >= 100, `${p}: duplicates ${whole.checks.duplicate?.length}, contradictions ${whole.checks.contradiction?.length}`);
    }
  }
  // a file the head covers whole: no head, the whole scan
  const heads: ScanResult[] = [];
  const whole = await scanFile(pq, { headBytes: 1 << 30, onHead: (h) => heads.push(h as ScanResult) });
  assert.equal(heads.length, 0);
  assert.deepEqual(comparableScan(whole), comparableScan(await scanFile(pq)));
});

test('onHead on a Parquet file: its workers run while the head is scanned, and a scan cancelled once the head is given stops them and rejects; onDetected gives the format a scan detected itself', async () => {
  // six row groups of 2,048 rows: the head is the first, the rest goes to this thread and a worker
  const rows = Array.from({ length: 12000 }, (_, i) => ({ prompt: `q${i}`, chosen: `answer ${i} `.repeat(6), rejected: `other ${i}` }));
  const jsonl = tempFile('onhead-cancel.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const pq = tempFile('onhead-cancel.parquet', '');
  await writeParquet(pq, `SELECT prompt, chosen, rejected FROM read_json('${jsonl}')`, 'COMPRESSION snappy, ROW_GROUP_SIZE 2048');
  const opts = { workers: 2, parallelThreshold: 0, inline: true, headBytes: 1 };
  // cancelled in onHead: the scan rejects (the workers, already scanning the rest, are stopped: the test would not end
  // with a worker thread left running)
  const ac = new AbortController();
  let heads = 0;
  await assert.rejects(
    scanFile(pq, { ...opts, signal: ac.signal, onHead: () => { heads++; ac.abort(); } }),
    CancelledError,
  );
  assert.equal(heads, 1);
  // the workers scan the rest while the head is scanned: the head's row group waits (ScanOptions.pause) for a worker's
  // progress, which comes (the head gives none); were the workers started after the head, it would wait 20 s in vain
  const order: string[] = [];
  let sawWorker = (): void => undefined;
  const worker = new Promise<void>((resolve) => (sawWorker = resolve));
  const detected: string[] = [];
  const whole = await scanFile(pq, {
    ...opts,
    pause: () => Promise.race([worker, new Promise<void>((resolve) => setTimeout(resolve, 20000).unref())]),
    onProgress: () => {
      order.push('progress');
      sawWorker();
    },
    onHead: () => order.push('head'),
    onDetected: (g) => detected.push(String(g.format)),
  });
  assert.ok(order.indexOf('progress') >= 0 && order.indexOf('progress') < order.indexOf('head'), `a worker's progress before the head: ${order.slice(0, 4).join(', ')}`);
  // (a Parquet record's offset and length in the index differ with the ranges: its row, sub-record and flags identify it)
  const comparable = (r: ScanResult): unknown => {
    const c = comparableScan(r) as { index: Record<string, number[]> };
    return { ...c, index: { line: c.index.line, sub: c.index.sub, flags: c.index.flags } };
  };
  assert.deepEqual(comparable(whole), comparable(await scanFile(pq, { workers: 2, parallelThreshold: 0, inline: true })), 'the result of the scan without a head');
  assert.deepEqual(detected, ['trl-standard'], 'the format the scan detected, once');
  // a scan told the format, or given a detection, detects nothing and reports none
  const none: string[] = [];
  await scanFile(pq, { format: 'trl-standard', onDetected: (g) => none.push(String(g.format)) });
  await scanFile(jsonl, { detected: await detectFormat(jsonl), onDetected: (g) => none.push(String(g.format)) });
  assert.deepEqual(none, []);
  const fromJson: string[] = [];
  await scanFile(jsonl, { onDetected: (g) => fromJson.push(String(g.format)) });
  assert.deepEqual(fromJson, ['trl-standard']);
});

test('the truncation check follows the convention and counts the special tokens the trainer adds (kernel = JavaScript path)', async () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
  const rows = [
    { prompt: words(600), chosen: ` ${words(10)}`, rejected: ` ${words(12)}` }, // a long prompt: legacy only
    { prompt: words(100), chosen: ` ${words(127)}`, rejected: ` ${words(20)}` }, // 127 words + EOS = 128: not over 128
    { prompt: words(100), chosen: ` ${words(128)}`, rejected: ` ${words(20)}` }, // 128 + EOS: over max_completion_length
    { prompt: words(900), chosen: ` ${words(123)}`, rejected: ` ${words(5)}` }, // 900 + 123 + EOS = 1024: fits
    { prompt: words(900), chosen: ` ${words(124)}`, rejected: ` ${words(5)}` }, // 1025: over max_length in both
  ];
  const f = tempFile('trunc.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  for (const exactOnly of [false, true]) {
    const legacy = await scanFile(f, { workers: 1, exactOnly, checks: { convention: 'trl-legacy', maxCompletionLength: 128 } });
    assert.deepEqual(legacy.checks.truncationRisk, [1, 3, 5, 4].sort(), `legacy (exactOnly ${exactOnly})`);
    const trl = await scanFile(f, { workers: 1, exactOnly, checks: { convention: 'trl', maxCompletionLength: 128 } });
    assert.deepEqual(trl.checks.truncationRisk, [5], `trl (exactOnly ${exactOnly}): only prompt + response + EOS over max_length`);
  }
  // With a model tokenizer, its own special tokens count (the tiny byte-level model adds no BOS, one EOS).
  const tok = await scanFile(f, { workers: 1, tokenizerDir: join(repoRoot, 'test', 'fixtures', 'tiny-gpt2'), checks: { convention: 'trl', maxLength: 4000 } });
  assert.deepEqual(tok.checks.truncationRisk, rows.map((r, i) => [i + 1, r.prompt.length + Math.max(r.chosen.length, r.rejected.length) + 1]).filter(([, n]) => n > 4000).map(([l]) => l));
});
