/**
 * Where records are and how one is read (docs/ARCHITECTURE.md, "Record access"): the record index a scan builds,
 * random access to single records through it, the one rule that turns a line's text into records (the scan, the
 * readers and `recordsOnLines` share it), and the records on lines A–B, found through an index or, without one, by
 * reading the file from its start only as far as line B.
 */
import { statSync } from 'node:fs';
import { decodeUtf8, firstValues, iterateArrayElements, iterateLines, oversizeMessage, type RawItem, readBytes, sniffSource, wholeItem, withFile } from './jsonl/reader.js';
import { FieldError, normalize } from './formats/normalize.js';
import { formatOfRecord, formatOfSample } from './formats/detect.js';
import { InputError } from './errors.js';
import {  type FormatName, type PreferenceRecord, type RecordError } from './types.js';

/** Where records are: 1-based line, byte offset and length of the record's text, and which record of its line. */
export interface RecordRefs {
  line: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  /** For sources that yield several records per line (OpenAssistant trees): which one, 0-based. */
  sub: Uint32Array;
}

/** Where every record of a file is, for random access, with each record's check flags (checks/table.ts bits). */
export interface RecordIndex extends RecordRefs {
  flags: Uint32Array;
}

/** Index of the first record whose line is ≥ `line` (records are sorted by line); the count when there is none. */
function firstFrom(index: Pick<RecordRefs, 'line'>, line: number): number {
  let lo = 0;
  let hi = index.line.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index.line[mid] < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Index of the first record that covers `line` (1-based): the first record of the last line at or before it (several
 * records may share a line: OpenAssistant trees), or -1.
 */
export function recordAtLine(index: Pick<RecordRefs, 'line'>, line: number): number {
  const after = firstFrom(index, line + 1);
  return after === 0 ? -1 : firstFrom(index, index.line[after - 1]);
}

/** Index of the record that starts on `line` and is its `sub`-th, or -1. */
export function recordOnLine(index: Pick<RecordRefs, 'line'>, line: number, sub = 0): number {
  const i = firstFrom(index, line) + sub;
  return i < index.line.length && index.line[i] === line ? i : -1;
}

export interface ReadRecord {
  record: PreferenceRecord | null;
  raw: string;
  error?: string;
}

/** Reads record `i` from disk and normalises it (the file's format first, then the record's own). */
export function readRecord(path: string, refs: RecordRefs, i: number, format: FormatName | null): ReadRecord {
  return withFile(path, (fd) => readRecordFd(fd, refs, i, format));
}

export function readRecordFd(fd: number, refs: RecordRefs, i: number, format: FormatName | null): ReadRecord {
  if (i < 0 || i >= refs.line.length) return { record: null, raw: '', error: `no record ${i}` };
  return recordFromBytes(readBytes(fd, refs.offset[i], refs.length[i]), refs, i, format);
}

/** Normalises record `i` from its bytes (as read at its offset): the given format first, then the record's own. */
export function recordFromBytes(bytes: Buffer, refs: Pick<RecordRefs, 'line' | 'offset' | 'sub'>, i: number, format: FormatName | null): ReadRecord {
  let raw = decodeUtf8(bytes).text;
  if (raw.endsWith('\r')) raw = raw.slice(0, -1);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return { record: null, raw, error: `the record changed on disk or is not valid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const got = recordsOfValue(v, { index: i, line: refs.line[i], offset: refs.offset[i] }, format, false);
  if ('error' in got) return { record: null, raw, error: got.error.message };
  const rec = got.records[refs.sub[i]] ?? got.records[0];
  if (!rec) return { record: null, raw, error: 'no record on this line' };
  rec.index = i;
  rec.raw = raw;
  return { record: rec, raw };
}

/**
 * The records of one parsed JSON value (a line, an array element): in the file's format, or, unless the format was
 * forced (`strict`), in the value's own when the file's does not fit it. An error names the line and the field.
 */
export function recordsOfValue(
  value: unknown,
  base: { index: number; line: number; offset: number },
  format: FormatName | null,
  strict: boolean,
): { records: PreferenceRecord[] } | { error: RecordError } {
  const fmt = format ?? formatOfRecord(value);
  if (fmt === null) return { error: { line: base.line, message: describeUnknown(value) } };
  let err: FieldError;
  try {
    return { records: normalize(value, fmt, base) };
  } catch (e) {
    // Hostile shapes (deep nesting, huge trees) must never escape the engine: report the line.
    if (!(e instanceof FieldError)) return { error: { line: base.line, message: `cannot read this record (${e instanceof Error ? e.message : String(e)})` } };
    err = e;
  }
  if (!strict) {
    const own = formatOfRecord(value);
    if (own !== null && own !== fmt) {
      try {
        return { records: normalize(value, own, base) };
      } catch {
        /* report the error of the file's format */
      }
    }
  }
  const field = err.field;
  return { error: { line: base.line, field: field || undefined, message: field ? `field "${field}": ${err.message}` : err.message } };
}

/** The records of one line's (or array element's) text; blank text has none. */
export function recordsOfText(
  text: string,
  item: { line: number; offset: number },
  format: FormatName | null,
  strict: boolean,
): { records: PreferenceRecord[] } | { error: RecordError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = parseErrorPosition(msg, text);
    return { error: { line: item.line, column: pos === undefined ? undefined : pos + 1, message: `invalid JSON: ${cleanJsonMessage(msg)}` } };
  }
  return recordsOfValue(value, { index: 0, line: item.line, offset: item.offset }, format, strict);
}

function parseErrorPosition(msg: string, text: string): number | undefined {
  const m = /position (\d+)/.exec(msg);
  if (m) return Number(m[1]);
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) {
    // column within the record's text (records are one line in JSONL)
    let pos = 0;
    for (let l = 1; l < Number(lc[1]); l++) pos = text.indexOf('\n', pos) + 1;
    return pos + Number(lc[2]) - 1;
  }
  if (/Unexpected end of JSON input/.test(msg)) return text.length;
  return undefined;
}

function cleanJsonMessage(msg: string): string {
  return msg
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/, "[^"]*"(\.\.\.)? is not valid JSON$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of JSON (truncated record?)');
}

function describeUnknown(v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return `expected a JSON object per record, got ${Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`}`;
  const keys = Object.keys(v).slice(0, 8);
  return `unrecognised record: keys ${keys.map((k) => `"${k}"`).join(', ')} match no known format (expected e.g. prompt/chosen/rejected)`;
}

/** Lines A–B, 1-based and inclusive. */
export type LineRange = [number, number];

/** Parses "A-B" or "A" (1-based, inclusive); null when it is neither or B < A. */
export function parseLineRange(s: string): LineRange | null {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(s);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  return a >= 1 && b >= a ? [a, b] : null;
}

/** The refs of an index's records on `lines` (all when undefined), copied: they can be sent to a worker. */
export function refsOnLines(index: RecordRefs, lines?: LineRange): RecordRefs {
  const a = lines ? firstFrom(index, lines[0]) : 0;
  const b = lines ? firstFrom(index, lines[1] + 1) : index.line.length;
  return { line: index.line.slice(a, b), offset: index.offset.slice(a, b), length: index.length.slice(a, b), sub: index.sub.slice(a, b) };
}

export interface LocateOptions {
  /** The file's format (detected from its first records when not given; records that do not fit it are read in their own). */
  format?: FormatName | null;
  /** The format was forced: records that do not fit it are not records. */
  strict?: boolean;
  /** A line in the range that holds no record (invalid JSON, a schema error): it is not selected. */
  onSkipped?: (e: RecordError) => void;
}

/**
 * The records on `lines` (all when undefined) of a file without an index: reads the file from its start and stops
 * after line B, so the cost grows with B, not with the file. Lines that hold no record are skipped and reported
 * (the rule every caller shares); a range that selects no record at all is an InputError.
 */
export function locateOnLines(path: string, lines: LineRange | undefined, opts: LocateOptions = {}): { refs: RecordRefs; format: FormatName | null } {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new InputError(`${path}: no such file`);
  if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a preference file`);
  if (st.size === 0) throw new InputError(`${path}: the file is empty`);
  const out = { line: [] as number[], offset: [] as number[], length: [] as number[], sub: [] as number[] };
  const format = withFile(path, (fd, size) => {
    const { kind, bomLength } = sniffSource(fd, path);
    const fmt = opts.format !== undefined ? opts.format : formatOfSample(firstValues(fd, kind, bomLength, size)).format;
    const last = lines ? lines[1] : Infinity;
    const items: Iterable<RawItem> =
      kind === 'jsonl'
        ? iterateLines(fd, bomLength, size, 1)
        : kind === 'json-array'
          ? iterateArrayElements(fd, bomLength, (e) => opts.onSkipped?.({ line: e.line, message: e.message }))
          : [wholeItem(fd, bomLength, size)];
    for (const item of items) {
      if (item.line > last) break;
      if (lines && item.line < lines[0]) continue;
      if (item.oversize !== undefined) {
        opts.onSkipped?.({ line: item.line, message: oversizeMessage(item.oversize) });
        continue;
      }
      let text = decodeUtf8(item.bytes).text;
      if (text.trim() === '') continue;
      if (text.endsWith('\r')) text = text.slice(0, -1);
      const got = recordsOfText(text, item, fmt, opts.strict ?? false);
      if ('error' in got) {
        opts.onSkipped?.(got.error);
        continue;
      }
      got.records.forEach((_, sub) => {
        out.line.push(item.line);
        out.offset.push(item.offset);
        out.length.push(item.bytes.length);
        out.sub.push(sub);
      });
    }
    return fmt;
  });
  return { refs: { line: Uint32Array.from(out.line), offset: Float64Array.from(out.offset), length: Uint32Array.from(out.length), sub: Uint32Array.from(out.sub) }, format };
}

/** The records on `lines` of a file with no index, read (small selections: SPINAL, checkpoint comparison). */
export function recordsOnLines(path: string, lines: LineRange | undefined, opts: LocateOptions = {}): PreferenceRecord[] {
  const { refs, format } = locateOnLines(path, lines, opts);
  const out: PreferenceRecord[] = [];
  withFile(path, (fd) => {
    for (let i = 0; i < refs.line.length; i++) {
      const r = readRecordFd(fd, refs, i, format);
      if (!r.record) throw new InputError(`${path}: line ${refs.line[i]}: ${r.error ?? 'cannot read the record'}`);
      out.push(r.record);
    }
  });
  if (out.length === 0) throw new InputError(`${path}: no records${lines ? ` on lines ${lines[0]}–${lines[1]}` : ''}`);
  return out;
}
