import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, statSync } from 'node:fs';
import { iterateArrayElements, iterateLines, nextLineStart, readBytes, sniffSource, decodeUtf8, CHUNK_SIZE } from '../../src/core/jsonl/reader.js';
import { fixture, tempFile } from '../helpers.js';

function lines(path: string): Array<{ line: number; offset: number; text: string }> {
  const fd = openSync(path, 'r');
  try {
    const out = [];
    for (const it of iterateLines(fd, 0, statSync(path).size, 1)) out.push({ line: it.line, offset: it.offset, text: it.bytes.toString('utf8') });
    return out;
  } finally {
    closeSync(fd);
  }
}

test('lines: CRLF stripped, blank lines kept with their numbers, offsets exact', () => {
  const p = tempFile('a.jsonl', 'ab\r\n\r\ncd\nlast');
  const ls = lines(p);
  assert.deepEqual(ls, [
    { line: 1, offset: 0, text: 'ab' },
    { line: 2, offset: 4, text: '' },
    { line: 3, offset: 6, text: 'cd' },
    { line: 4, offset: 9, text: 'last' },
  ]);
});

test('lines: a line longer than the read chunk (20 MB) is assembled whole', () => {
  const big = 'x'.repeat(20 * 1024 * 1024);
  assert.ok(big.length > CHUNK_SIZE);
  const p = tempFile('big.jsonl', `{"a":1}\n${big}\n{"b":2}\n`);
  const ls = lines(p);
  assert.equal(ls.length, 3);
  assert.equal(ls[1].text.length, big.length);
  assert.equal(ls[2].offset, 8 + big.length + 1);
  assert.equal(ls[2].text, '{"b":2}');
});

test('sniff: BOM is detected and skipped; arrays and JSONL are told apart', () => {
  const fd = openSync(fixture('bom-crlf.jsonl'), 'r');
  try {
    assert.deepEqual(sniffSource(fd, 'x.jsonl'), { kind: 'jsonl', bomLength: 3 });
  } finally {
    closeSync(fd);
  }
  const fd2 = openSync(fixture('sharegpt.json'), 'r');
  try {
    assert.equal(sniffSource(fd2, 'sharegpt.json').kind, 'json-array');
  } finally {
    closeSync(fd2);
  }
});

test('decodeUtf8 reports invalid sequences', () => {
  assert.equal(decodeUtf8(Buffer.from([0x61, 0xff, 0x62])).invalidUtf8, true);
  assert.equal(decodeUtf8(Buffer.from('ok “quotes” 😀', 'utf8')).invalidUtf8, false);
  // A real U+FFFD in valid UTF-8 is not invalid UTF-8.
  assert.equal(decodeUtf8(Buffer.from('a\uFFFDb', 'utf8')).invalidUtf8, false);
});

test('array elements: streamed with the line of their first byte, strings with brackets and escapes', () => {
  const text = '[\n  {"a": "x]\\"," },\n  {"b": [1, {"c": "}"}]},\n\n  "s", 3\n]\n';
  const p = tempFile('arr.json', text);
  const fd = openSync(p, 'r');
  const errs: string[] = [];
  try {
    const items = [...iterateArrayElements(fd, 0, (e) => errs.push(e.message))].map((i) => ({ line: i.line, offset: i.offset, t: i.bytes.toString() }));
    assert.deepEqual(items.map((i) => i.line), [2, 3, 5, 5]);
    assert.deepEqual(items.map((i) => JSON.parse(i.t)), [{ a: 'x]",' }, { b: [1, { c: '}' }] }, 's', 3]);
    assert.equal(text.slice(items[1].offset, items[1].offset + 5), '{"b":');
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(errs, []);
});

test('array elements: a truncated array reports the unterminated element and its line', () => {
  const fd = openSync(fixture('truncated-array.json'), 'r');
  const errs: Array<{ line: number; message: string }> = [];
  try {
    const items = [...iterateArrayElements(fd, 0, (e) => errs.push(e))];
    assert.equal(items.length, 1);
  } finally {
    closeSync(fd);
  }
  assert.equal(errs.length, 1);
  assert.equal(errs[0].line, 3);
  assert.match(errs[0].message, /unterminated/);
});

test('random access: nextLineStart and readBytes', () => {
  const p = tempFile('r.jsonl', 'aaa\nbbbb\ncc\n');
  const fd = openSync(p, 'r');
  try {
    assert.equal(nextLineStart(fd, 0, 12), 0);
    assert.equal(nextLineStart(fd, 1, 12), 4);
    assert.equal(nextLineStart(fd, 4, 12), 4);
    assert.equal(nextLineStart(fd, 5, 12), 9);
    assert.equal(readBytes(fd, 4, 4).toString(), 'bbbb');
  } finally {
    closeSync(fd);
  }
});
