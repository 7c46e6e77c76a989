/**
 * A Parquet file's rows as JSON Lines (docs/ARCHITECTURE.md, "Parquet"): line N holds row N as one compact JSON
 * object (null cells left out), written straight from the texts' UTF-8 bytes (parquet/rowLines.ts: no JavaScript
 * strings are made for them), one row group at a time, into a file: the extension's mirror (parquet/mirror.ts). A row
 * group that cannot be read becomes blank lines (so that the rows after it keep their numbers) and an error naming it.
 * (`preflens stats` scans the same lines as they are made: scan/range.ts scanParquetRange.)
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { columnWarnings, openParquet, type ParquetFile } from './parquet.js';
import { linesOf } from './rowLines.js';
import type { RecordError } from '../types.js';

/**
 * Writes every row of `path` (or of an opened file) to `target` as JSON Lines; returns the rows and the row groups
 * that could not be read (as errors on their first row). Progress in rows.
 */
export async function writeJsonLines(
  source: string | ParquetFile,
  target: string,
  opts: { onProgress?: (rows: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<{ rows: number; errors: RecordError[] }> {
  const pf = typeof source === 'string' ? await openParquet(source) : source;
  const fd = openSync(target, 'w');
  const errors: RecordError[] = [];
  try {
    const onRowGroup = (g: number): void => opts.onProgress?.(pf.rowGroups[g].start + pf.rowGroups[g].rows, pf.rows);
    for await (const b of linesOf(pf, 0, pf.rowGroups.length, errors, { signal: opts.signal, onRowGroup })) writeAll(fd, b);
  } finally {
    closeSync(fd);
  }
  for (const message of columnWarnings(pf)) errors.push({ line: 1, rows: 0, message });
  return { rows: pf.rows, errors };
}

/** Writes all of b at the file's position. */
function writeAll(fd: number, b: Uint8Array): void {
  for (let at = 0; at < b.length; ) at += writeSync(fd, b, at, b.length - at);
}
