import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInspectorRequest } from '../../src/protocol/inspector.js';

test('valid webview requests pass validation', () => {
  assert.deepEqual(parseInspectorRequest({ type: 'rows', start: 0, count: 100, seq: 1 }), { type: 'rows', start: 0, count: 100, seq: 1 });
  assert.deepEqual(parseInspectorRequest({ type: 'query', filter: 'duplicate', search: 'x', seq: 2 }), { type: 'query', filter: 'duplicate', search: 'x', seq: 2 });
  assert.deepEqual(parseInspectorRequest({ type: 'select', index: 3, reveal: true }), { type: 'select', index: 3, reveal: true });
});

test('malformed or hostile webview messages are rejected', () => {
  for (const m of [
    null, 'ready', 42, {}, { type: 'readFile', path: '/etc/passwd' },
    { type: 'rows', start: -1, count: 10, seq: 0 }, { type: 'rows', start: 0, count: 1e9, seq: 0 },
    { type: 'rows', start: 0.5, count: 10, seq: 0 }, { type: 'query', filter: '__proto__', search: '', seq: 0 },
    { type: 'query', filter: 'all', search: 'x'.repeat(5000), seq: 0 }, { type: 'select', index: '3', reveal: true },
    { type: 'jumpToLine', line: 0 },
  ])
    assert.equal(parseInspectorRequest(m), null, JSON.stringify(m)?.slice(0, 80));
});
