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
  close(): void;
}

/** Opens `path` for reading records: Parquet (by row) or any JSON file (by byte range). */
export async function openRecordSource(path: string): Promise<RecordSource> {
  if (isParquetFile(path)) {
    const rows = new ParquetRows(await openParquet(path));
    return {
      path,
      async read(refs, i, format) {
        if (i < 0 || i >= refs.line.length) return { record: null, raw: '', error: `no record ${i}` };
        // a Parquet record's line is its row
        const bytes = await rows.line(refs.line[i]);
        return recordFromBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), refs, i, format);
      },
      close: () => rows.close(),
    };
  }
  const fd = openSync(path, 'r');
  return {
    path,
    read: (refs, i, format) => Promise.resolve(readRecordFd(fd, refs, i, format)),
    close: () => closeSync(fd),
  };
}

/** Runs `fn` with a record source of `path`, closed after. */
export async function withRecordSource<T>(path: string, fn: (src: RecordSource) => Promise<T>): Promise<T> {
  const src = await openRecordSource(path);
  try {
    return await fn(src);
  } finally {
    src.close();
  }
}
