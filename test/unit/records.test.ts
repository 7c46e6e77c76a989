/** Record access (src/core/records.ts): one rule for the records on lines A–B, with or without an index. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { scanFile } from '../../src/core/scan/index.js';
import { InputError } from '../../src/core/errors.js';
import { locateOnLines, parseLineRange, readRecord, recordAtLine, recordOnLine, recordsOnLines, refsOnLines } from '../../src/core/records.js';
import type { RecordError } from '../../src/core/types.js';
import { fixture, repoRoot, tempFile } from '../helpers.js';

const pair = (i: number): string => JSON.stringify({ prompt: `Q${i}?`, chosen: ` yes ${i}`, rejected: ` no ${i}` });

test('line ranges: "A-B" and "A", 1-based and inclusive; anything else is null', () => {
  assert.deepEqual(parseLineRange('5-20'), [5, 20]);
  assert.deepEqual(parseLineRange(' 7 '), [7, 7]);
  assert.deepEqual(parseLineRange('3 - 4'), [3, 4]);
  for (const bad of ['0-3', '5-4', 'a-b', '1-', '-3', '', '1,2']) assert.equal(parseLineRange(bad), null, bad);
});

test('lookups by line: the record that covers a line, the sub-th record on a line, the records on a range', () => {
  // Lines 2, 5 (three records: an OpenAssistant tree), 6, 9.
  const line = Uint32Array.from([2, 5, 5, 5, 6, 9]);
  const index = { line, offset: Float64Array.from(line, (l) => l * 100), length: new Uint32Array(6).fill(10), sub: Uint32Array.from([0, 0, 1, 2, 0, 0]) };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 9, 12].map((l) => recordAtLine(index, l)), [-1, 0, 0, 0, 1, 4, 4, 5, 5]);
  assert.deepEqual([recordOnLine(index, 5), recordOnLine(index, 5, 2), recordOnLine(index, 5, 3), recordOnLine(index, 4), recordOnLine(index, 9)], [1, 3, -1, -1, 5]);
  assert.deepEqual(Array.from(refsOnLines(index, [3, 6]).line), [5, 5, 5, 6]);
  assert.deepEqual(Array.from(refsOnLines(index, [5, 5]).sub), [0, 1, 2]);
  assert.deepEqual(Array.from(refsOnLines(index, [10, 20]).line), []);
  assert.deepEqual(Array.from(refsOnLines(index).line), Array.from(line));
});

test('records on lines A–B: the same refs from the index and from reading the file up to line B, on every fixture', async () => {
  for (const name of ['hh.jsonl', 'trl-standard.jsonl', 'ranked.jsonl', 'group.jsonl', 'kto.jsonl', 'sharegpt.json', 'pairwise.json', 'bom-crlf.jsonl', 'bad.jsonl']) {
    const file = fixture(name);
    const scan = await scanFile(file, { workers: 1 });
    const last = scan.index.line[scan.index.line.length - 1];
    for (const lines of [undefined, [1, 1], [2, Math.max(2, last - 1)], [last, last + 10]] as const) {
      const fromIndex = refsOnLines(scan.index, lines as [number, number] | undefined);
      const { refs, format } = locateOnLines(file, lines as [number, number] | undefined);
      assert.equal(format, scan.format, name);
      assert.deepEqual(refs, fromIndex, `${name} lines ${lines}`);
    }
  }
});

test('without an index the file is read only up to line B, and a selected line without a record is skipped and reported', () => {
  const lines = [pair(1), pair(2), '{"prompt": "broken', pair(4), pair(5)];
  // After line 5: damage that a reader going further would report.
  for (let i = 0; i < 50; i++) lines.push('not json at all');
  const file = tempFile('range.jsonl', lines.join('\n') + '\n');
  const skipped: RecordError[] = [];
  const recs = recordsOnLines(file, [2, 5], { onSkipped: (e) => skipped.push(e) });
  assert.deepEqual(
    recs.map((r) => r.line),
    [2, 4, 5],
  );
  assert.deepEqual(
    skipped.map((e) => e.line),
    [3],
  );
  assert.match(skipped[0].message, /invalid JSON/);
  // A range that selects no record is bad input, with the file and the lines named.
  assert.throws(
    () => recordsOnLines(file, [6, 8]),
    (e: unknown) => e instanceof InputError && e.message.includes('range.jsonl') && /no records on lines 6–8/.test(e.message),
  );
  assert.throws(() => recordsOnLines(join(repoRoot, 'no-such-file.jsonl'), [1, 1]), InputError);
});

test('the index answers "the record at line/sub", and a record read through it is the one scanned', async () => {
  const scan = await scanFile(fixture('hh.jsonl'), { workers: 1 });
  const i = recordOnLine(scan.index, scan.index.line[2]);
  assert.equal(i, 2);
  assert.equal(recordOnLine(scan.index, scan.index.line[2], 1), -1, 'one record on an HH line');
  const r = readRecord(fixture('hh.jsonl'), scan.index, i, scan.format);
  assert.equal(r.record?.line, scan.index.line[2]);
  assert.equal(r.raw, readFileSync(fixture('hh.jsonl'), 'utf8').split('\n')[scan.index.line[2] - 1].replace(/\r$/, ''));
});

test('preflens score and spinal name a skipped line on stderr and exit 1 for a range with no records', () => {
  const cli = join(repoRoot, 'dist', 'cli.js');
  const tiny = join(repoRoot, 'test', 'fixtures', 'tiny-gpt2');
  const file = tempFile('cli-range.jsonl', [pair(1), '{oops', pair(3)].join('\n') + '\n');
  const ok = spawnSync(process.execPath, [cli, 'score', file, '--policy', tiny, '--lines', '1-3', '--no-cache'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(
    ok.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { line: number }).line),
    [1, 3],
  );
  assert.match(ok.stderr, /cli-range\.jsonl: line 2: invalid JSON.*\(skipped\)/);
  const none = spawnSync(process.execPath, [cli, 'score', file, '--policy', tiny, '--lines', '9-9', '--no-cache'], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no records on lines 9–9/);
});
