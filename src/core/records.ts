/** Random access to single records through a RecordIndex (hover, inspector), without reading the rest. */
import { openSync, closeSync } from 'node:fs';
import { readBytes, decodeUtf8 } from './jsonl/reader.js';
import { detectRecordFormat, FieldError, normalize } from './formats/normalize.js';
import type { FormatName, PreferenceRecord } from './types.js';
import type { RecordIndex } from './scan.js';

/** Index of the record that covers `line` (1-based), or -1. Records are sorted by line. */
export function recordAtLine(index: RecordIndex, line: number): number {
  let lo = 0;
  let hi = index.line.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index.line[mid] <= line) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (ans < 0) return -1;
  // Several records may share a line (OpenAssistant trees): return the first of them.
  while (ans > 0 && index.line[ans - 1] === index.line[ans]) ans--;
  return ans;
}

export interface ReadRecord {
  record: PreferenceRecord | null;
  raw: string;
  error?: string;
}

/** Reads record `i` from disk and normalises it (the file's format first, then the record's own). */
export function readRecord(path: string, index: RecordIndex, i: number, format: FormatName | null): ReadRecord {
  const fd = openSync(path, 'r');
  try {
    return readRecordFd(fd, index, i, format);
  } finally {
    closeSync(fd);
  }
}

export function readRecordFd(fd: number, index: RecordIndex, i: number, format: FormatName | null): ReadRecord {
  if (i < 0 || i >= index.line.length) return { record: null, raw: '', error: `no record ${i}` };
  return recordFromBytes(readBytes(fd, index.offset[i], index.length[i]), index, i, format);
}

/** Normalises record `i` from its bytes (as read at its offset): the given format first, then the record's own. */
export function recordFromBytes(bytes: Buffer, index: Pick<RecordIndex, 'line' | 'offset' | 'sub'>, i: number, format: FormatName | null): ReadRecord {
  let raw = decodeUtf8(bytes).text;
  if (raw.endsWith('\r')) raw = raw.slice(0, -1);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return { record: null, raw, error: `the record changed on disk or is not valid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const base = { index: i, line: index.line[i], offset: index.offset[i] };
  const fmts = [format, detectRecordFormat(v)].filter((f): f is FormatName => f !== null);
  let lastErr = 'unrecognised record';
  for (const f of fmts) {
    try {
      const recs = normalize(v, f, base);
      const rec = recs[index.sub[i]] ?? recs[0];
      if (rec) {
        rec.index = i;
        rec.raw = raw;
        return { record: rec, raw };
      }
    } catch (e) {
      lastErr = e instanceof FieldError ? `field "${e.field}": ${e.message}` : String(e);
    }
  }
  return { record: null, raw, error: lastErr };
}
