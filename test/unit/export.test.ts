import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { scanFile } from '../../src/core/scan/index.js';
import { exportRecords, ExportError } from '../../src/core/export.js';
import { fixture, tempFile } from '../helpers.js';

test('export keeps the other lines byte for byte and never touches the source', async () => {
  const src = tempFile('src.jsonl', readFileSync(fixture('trl-standard.jsonl')));
  const before = readFileSync(src);
  const r = await scanFile(src);
  const drop = new Set([...r.checks.identical, ...r.checks.contradiction]);
  const target = join(dirname(src), 'out.jsonl');
  const kept = await exportRecords(src, r.index, r.source, drop, target);
  const srcLines = before.toString('utf8').split('\n').filter(Boolean);
  const expected = srcLines.filter((_, i) => !drop.has(i + 1));
  assert.equal(kept, expected.length);
  assert.equal(readFileSync(target, 'utf8'), expected.join('\n') + '\n');
  assert.deepEqual(readFileSync(src), before, 'source unchanged');
  await assert.rejects(exportRecords(src, r.index, r.source, drop, src), ExportError);
});

test('export from a JSON array writes one compact JSON line per kept element; CRLF lines lose only the CR', async () => {
  const r = await scanFile(fixture('sharegpt.json'));
  const target = tempFile('o.jsonl', '');
  assert.equal(await exportRecords(fixture('sharegpt.json'), r.index, r.source, new Set([12]), target), 2);
  const lines = readFileSync(target, 'utf8').trim().split('\n');
  const all = JSON.parse(readFileSync(fixture('sharegpt.json'), 'utf8')) as unknown[];
  assert.deepEqual(lines.map((l) => JSON.parse(l)), all.slice(0, 2));
  const crlf = await scanFile(fixture('bom-crlf.jsonl'));
  const t2 = tempFile('o2.jsonl', '');
  await exportRecords(fixture('bom-crlf.jsonl'), crlf.index, crlf.source, new Set(), t2);
  const want = readFileSync(fixture('bom-crlf.jsonl')).subarray(3).toString('latin1').split('\r\n').filter(Boolean).join('\n') + '\n';
  assert.equal(readFileSync(t2).toString('latin1'), want);
});

test('a cancelled export leaves no file', async () => {
  const r = await scanFile(fixture('trl-standard.jsonl'));
  const target = join(dirname(tempFile('x', '')), 'cancelled.jsonl');
  assert.equal(await exportRecords(fixture('trl-standard.jsonl'), r.index, r.source, new Set(), target, { isCancelled: () => true }), null);
  assert.throws(() => readFileSync(target));
});
