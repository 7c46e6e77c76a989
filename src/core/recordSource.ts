/**
 * Records of an indexed file read by their index entries (docs/ARCHITECTURE.md, "Record access"), whatever the file:
 * JSON Lines and JSON by byte offset and length (records.ts), Parquet by row (parquet/rowAccess.ts) — the one way the
 * extension's worker (inspector rows, search, score hashes, export) and the scoring engine read records.
 */
import { closeSync, openSync } from 'node:fs';
import { type ReadRecord, readRecordFd, recordFromBytes, type RecordRefs } from './records.js';
import { isParquetFile, openParquet } from './parquet/parquet.js';
import { ParquetRows } from './parquet/rowAccess.js';
import type { FormatName } from './types.js';

export interface RecordSource {
  readonly path: string;
  /** Record i of `refs` (its line, offset, length and sub), read in `format`. */
  read(refs: Pick<RecordRefs, 'line' | 'offset' | 'length' | 'sub'>, i: number, format: FormatName | null): Promise<ReadRecord>;
  /**
   * A few records (a page of the inspector, a hover, the record shown), each read as `read` reads it, a record that
   * cannot be read as its error: a Parquet row group not held yet is decoded only as far as the last of them and a page
   * beyond (ParquetRows.line `upTo`).
   */
  readFew(refs: Pick<RecordRefs, 'line' | 'offset' | 'length' | 'sub'>, format: FormatName | null): Promise<ReadRecord[]>;
  close(): void;
}

/** Opens `path` for reading records: Parquet (by row) or any JSON file (by byte range). */
export async function openRecordSource(path: string): Promise<RecordSource> {
  if (isParquetFile(path)) {
    const rows = new ParquetRows(await openParquet(path));
    /** Record i, a Parquet record's line being its row; `upTo`: see ParquetRows.line. */
    const read = async (refs: Pick<RecordRefs, 'line' | 'offset' | 'length' | 'sub'>, i: number, format: FormatName | null, upTo?: number): Promise<ReadRecord> => {
      if (i < 0 || i >= refs.line.length) return { record: null, raw: '', error: `no record ${i}` };
      const bytes = await rows.line(refs.line[i], upTo);
      return recordFromBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), refs, i, format);
    };
    return {
      path,
      read: (refs, i, format) => read(refs, i, format),
      async readFew(refs, format) {
        let upTo = 0;
        for (const line of refs.line) upTo = Math.max(upTo, line);
        const out: ReadRecord[] = [];
        for (let i = 0; i < refs.line.length; i++) out.push(await read(refs, i, format, upTo).catch(unreadable));
        return out;
      },
      close: () => rows.close(),
    };
  }
  const fd = openSync(path, 'r');
  return {
    path,
    read: (refs, i, format) => Promise.resolve(readRecordFd(fd, refs, i, format)),
    readFew: (refs, format) =>
      Promise.resolve(
        Array.from(refs.line, (_, i) => {
          try {
            return readRecordFd(fd, refs, i, format);
          } catch (e) {
            return unreadable(e);
          }
        }),
      ),
    close: () => closeSync(fd),
  };
}

/** A record that could not be read (an unreadable row group, say), as its error. */
const unreadable = (e: unknown): ReadRecord => ({ record: null, raw: '', error: e instanceof Error ? e.message : String(e) });

/** Runs `fn` with a record source of `path`, closed after. */
export async function withRecordSource<T>(path: string, fn: (src: RecordSource) => Promise<T>): Promise<T> {
  const src = await openRecordSource(path);
  try {
    return await fn(src);
  } finally {
    src.close();
  }
}
