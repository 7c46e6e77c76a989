/**
 * Streaming access to preference files: JSON Lines (one record per line) and JSON arrays (one record per
 * element, streamed). Reads in fixed-size chunks so files of any size work in bounded memory; lines of many
 * megabytes are assembled from chunks. Never throws on bad content: invalid UTF-8 is reported per item.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';

export const CHUNK_SIZE = 1 << 22;

export interface RawItem {
  /** 1-based line of the item's first byte. */
  line: number;
  /** Byte offset of the item's first byte. */
  offset: number;
  /** Bytes of the item (a view valid until the next item is produced); empty when it is `oversize`. */
  bytes: Buffer;
  /** The item is longer than MAX_RECORD_BYTES: its length, its bytes not read (streamed past). */
  oversize?: number;
}

/**
 * The longest record PrefLens reads: one JSON Lines line, one JSON array element, a JSON file holding one object
 * (64 MiB; V8's strings end at 512 MiB, and a record is decoded, parsed and rendered several times). A longer one is
 * an error for its line, streamed past and never held.
 */
export const MAX_RECORD_BYTES = 64 << 20;

/** The message for a record over MAX_RECORD_BYTES. */
export function oversizeMessage(bytes: number): string {
  return `a record of ${bytes.toLocaleString('en-US')} bytes, over PrefLens' limit of ${MAX_RECORD_BYTES.toLocaleString('en-US')} bytes (64 MiB) for one record: not read`;
}

const NO_BYTES = Buffer.alloc(0);

/** Where records come from: JSON Lines, a JSON array, one JSON object, or the rows of a Parquet file (core/parquet). */
export type SourceKind = 'jsonl' | 'json-array' | 'json-object' | 'parquet';

/** Decodes bytes as UTF-8, reporting whether they were valid (invalid sequences become U+FFFD). */
export function decodeUtf8(bytes: Buffer): { text: string; invalidUtf8: boolean } {
  const text = bytes.toString('utf8');
  // Fast path: a decoded string without U+FFFD came from valid UTF-8.
  if (text.indexOf('\uFFFD') === -1) return { text, invalidUtf8: false };
  return { text, invalidUtf8: !isUtf8(bytes) };
}

/** Looks at the first non-whitespace byte (after a BOM) to tell a JSON array from JSON Lines. */
export function sniffSource(fd: number, fileName: string): { kind: SourceKind; bomLength: number } {
  const head = Buffer.alloc(4096);
  const n = readSync(fd, head, 0, head.length, 0);
  let i = 0;
  let bomLength = 0;
  if (n >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
    i = 3;
    bomLength = 3;
  }
  while (i < n && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  // .jsonl / .ndjson are JSON Lines whatever their first line holds (a line may be a JSON array: an error there).
  if (/\.(jsonl|ndjson)$/i.test(fileName)) return { kind: 'jsonl', bomLength };
  if (i < n && head[i] === 0x5b /* [ */) return { kind: 'json-array', bomLength };
  if (/\.json$/i.test(fileName) && i < n && head[i] === 0x7b /* { */) {
    // A .json file holding one object: it is one record unless the first line is itself complete JSON
    // (then it is JSON Lines saved with a .json extension).
    const nl = head.indexOf(0x0a, i);
    if (nl === -1 || nl >= n) return { kind: 'json-object', bomLength };
    try {
      JSON.parse(head.toString('utf8', i, nl));
      return { kind: 'jsonl', bomLength };
    } catch {
      return { kind: 'json-object', bomLength };
    }
  }
  return { kind: 'jsonl', bomLength };
}

/**
 * Yields the lines of [start, end) of a file, without their line terminator (LF or CRLF). `firstLine` is the
 * 1-based number of the line starting at `start`. Blank lines are yielded too (callers skip them).
 */
export function* iterateLines(fd: number, start: number, end: number, firstLine: number): Generator<RawItem> {
  const buf = Buffer.allocUnsafe(CHUNK_SIZE);
  let pos = start;
  let line = firstLine;
  let carry: Buffer[] = [];
  let carried = 0; // bytes in carry, or of the line being skipped
  let skipping = false; // the line is over MAX_RECORD_BYTES: its bytes are counted, not kept
  let carryStart = start;
  while (pos < end) {
    const n = readSync(fd, buf, 0, Math.min(CHUNK_SIZE, end - pos), pos);
    if (n <= 0) break;
    const view = buf.subarray(0, n);
    let i = 0;
    for (;;) {
      const nl = view.indexOf(0x0a, i);
      if (nl === -1) {
        if (i < n) {
          carried += n - i;
          if (carried > MAX_RECORD_BYTES) {
            skipping = true;
            carry = [];
          } else carry.push(Buffer.from(view.subarray(i, n)));
        }
        break;
      }
      let bytes: Buffer;
      let offset: number;
      if (skipping) {
        yield { line, offset: carryStart, bytes: NO_BYTES, oversize: carried + nl - i };
        skipping = false;
        carried = 0;
        line++;
        i = nl + 1;
        carryStart = pos + i;
        continue;
      }
      if (carry.length > 0) {
        carry.push(view.subarray(i, nl));
        bytes = Buffer.concat(carry);
        carry = [];
        offset = carryStart;
      } else {
        bytes = view.subarray(i, nl);
        offset = pos + i;
      }
      carried = 0;
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
      if (bytes.length > MAX_RECORD_BYTES) yield { line, offset, bytes: NO_BYTES, oversize: bytes.length };
      else yield { line, offset, bytes };
      line++;
      i = nl + 1;
      carryStart = pos + i;
    }
    pos += n;
  }
  if (skipping) yield { line, offset: carryStart, bytes: NO_BYTES, oversize: carried };
  else if (carry.length > 0) {
    let bytes = Buffer.concat(carry);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    yield { line, offset: carryStart, bytes };
  }
}

export interface ArrayElementError {
  line: number;
  offset: number;
  message: string;
}

/**
 * Streams the elements of a top-level JSON array: yields each element's bytes with the line and offset of its
 * first byte. Structural problems (no array, unterminated element) are passed to `onError`; scanning continues
 * where it can.
 */
export function* iterateArrayElements(
  fd: number,
  bomLength: number,
  onError: (e: ArrayElementError) => void,
): Generator<RawItem> {
  const size = fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(CHUNK_SIZE);
  let pos = bomLength;
  let line = 1;
  let depth = 0;
  let inString = false;
  let escape = false;
  let started = false; // saw the opening '['
  let ended = false; // saw the closing ']'
  let elemStart = -1;
  let elemLine = 0;
  let pieces: Buffer[] = [];
  let kept = 0; // bytes in pieces
  let over = false; // the element is over MAX_RECORD_BYTES: not kept
  let lastNonWs = -1; // absolute offset of the last non-whitespace byte of the current element
  const keep = (piece: Buffer): void => {
    kept += piece.length;
    if (kept > MAX_RECORD_BYTES) {
      over = true;
      pieces = [];
    } else if (!over) pieces.push(Buffer.from(piece));
  };
  const flush = function* (): Generator<RawItem> {
    if (elemStart < 0) return;
    const length = lastNonWs - elemStart + 1;
    let item: RawItem;
    if (over) item = { line: elemLine, offset: elemStart, bytes: NO_BYTES, oversize: length };
    else {
      const all = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
      item = { line: elemLine, offset: elemStart, bytes: all.subarray(0, length) };
    }
    pieces = [];
    kept = 0;
    over = false;
    elemStart = -1;
    yield item;
  };
  while (pos < size && !ended) {
    const n = readSync(fd, buf, 0, Math.min(CHUNK_SIZE, size - pos), pos);
    if (n <= 0) break;
    let segStart = elemStart >= 0 ? 0 : -1;
    for (let i = 0; i < n; i++) {
      const c = buf[i];
      if (c === 0x0a) line++;
      if (inString) {
        if (escape) escape = false;
        else if (c === 0x5c) escape = true;
        else if (c === 0x22) inString = false;
        if (elemStart >= 0) lastNonWs = pos + i;
        continue;
      }
      const ws = c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
      if (!started) {
        if (ws) continue;
        if (c === 0x5b) {
          started = true;
          depth = 1;
          continue;
        }
        onError({ line, offset: pos + i, message: 'expected a JSON array or JSON Lines' });
        return;
      }
      if (depth === 1 && elemStart < 0) {
        if (ws || c === 0x2c) continue;
        if (c === 0x5d) {
          ended = true;
          break;
        }
        elemStart = pos + i;
        elemLine = line;
        segStart = i;
      }
      if (depth === 1 && (c === 0x2c || c === 0x5d)) {
        keep(buf.subarray(segStart, i));
        yield* flush();
        segStart = -1;
        if (c === 0x5d) {
          ended = true;
          break;
        }
        continue;
      }
      if (!ws) lastNonWs = pos + i;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) depth--;
    }
    if (elemStart >= 0 && segStart >= 0) keep(buf.subarray(segStart, n));
    pos += n;
  }
  if (!started) {
    onError({ line: 1, offset: 0, message: 'the file is empty' });
    return;
  }
  if (elemStart >= 0) {
    onError({
      line: elemLine,
      offset: elemStart,
      message: 'unterminated element: the file ends inside it (truncated JSON array?)',
    });
    pieces = [];
    kept = 0;
  } else if (!ended) {
    onError({ line, offset: size, message: 'the JSON array is not closed (missing "]" at the end of the file)' });
  }
}

/** A JSON file holding one object, as one item (over MAX_RECORD_BYTES: `oversize`, not read). */
export function wholeItem(fd: number, bomLength: number, size: number): RawItem {
  const length = size - bomLength;
  return length > MAX_RECORD_BYTES ? { line: 1, offset: bomLength, bytes: NO_BYTES, oversize: length } : { line: 1, offset: bomLength, bytes: readBytes(fd, bomLength, length) };
}

/** Reads `length` bytes at `offset`. */
export function readBytes(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, got, length - got, offset + got);
    if (n <= 0) break;
    got += n;
  }
  return got === length ? out : out.subarray(0, got);
}

/** Finds the first line start at or after `pos` (for splitting a JSONL file between workers). */
export function nextLineStart(fd: number, pos: number, size: number): number {
  if (pos <= 0) return 0;
  const buf = Buffer.allocUnsafe(1 << 16);
  let p = pos - 1;
  while (p < size) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - p), p);
    if (n <= 0) break;
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl !== -1) return p + nl + 1;
    p += n;
  }
  return size;
}

export function withFile<T>(path: string, fn: (fd: number, size: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return fn(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/**
 * The first records of a JSON source as parsed values, for detecting its format (formats/detect.ts formatOfSample):
 * a JSON Lines file's lines, a JSON array's elements, or the one JSON object; `undefined` for an item that is not JSON.
 */
export function* firstValues(fd: number, kind: SourceKind, bomLength: number, size: number): Generator<unknown> {
  const items: Iterable<RawItem> =
    kind === 'jsonl'
      ? iterateLines(fd, bomLength, size, 1)
      : kind === 'json-array'
        ? iterateArrayElements(fd, bomLength, () => undefined)
        : [wholeItem(fd, bomLength, size)];
  for (const item of items) {
    if (item.oversize !== undefined) {
      yield undefined;
      continue;
    }
    try {
      yield JSON.parse(item.bytes.toString('utf8'));
    } catch {
      yield undefined;
    }
  }
}
