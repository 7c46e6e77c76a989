/**
 * Writes the records that pass a filter to a new file. JSON Lines sources: kept lines are copied byte for byte
 * (without their CR, if any). JSON-array sources: each kept element becomes one compact JSON line. Parquet sources:
 * each kept row becomes one compact JSON line (its columns, null cells left out), read one row group at a time. The output is
 * written to a temporary file and renamed at the end; the source can never be the target.
 */
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { realpathSync, existsSync } from 'node:fs';
import type { RecordIndex } from './records.js';
import type { SourceKind } from './jsonl/reader.js';
import { InputError } from './errors.js';

export class ExportError extends InputError {}

export function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export async function exportRecords(
  source: string,
  index: RecordIndex,
  kind: SourceKind,
  dropLines: ReadonlySet<number>,
  target: string,
  opts: { isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<number | null> {
  if (sameFile(source, target)) throw new ExportError('PrefLens never writes to a dataset file: choose a new file for the export');
  if (kind === 'parquet') return exportParquetRows(source, index, dropLines, target, opts);
  const src = await open(source, 'r');
  try {
    return await writeNew(target, opts, async (out, cancelled) => {
      let kept = 0;
      let lastLine = -1;
      const n = index.line.length;
      for (let i = 0; i < n; i++) {
        if (cancelled()) return null;
        const line = index.line[i];
        if (line === lastLine || dropLines.has(line)) continue; // several records on one line are exported once
        lastLine = line;
        const buf = Buffer.alloc(index.length[i]);
        await src.read(buf, 0, buf.length, index.offset[i]);
        let bytes = buf;
        if (kind !== 'jsonl') bytes = Buffer.from(JSON.stringify(JSON.parse(buf.toString('utf8'))), 'utf8');
        else if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
        await out.write(Buffer.concat([bytes, Buffer.from('\n')]));
        kept++;
        if (i % 5000 === 0) opts.onProgress?.(i, n);
      }
      return kept;
    });
  } finally {
    await src.close();
  }
}

/** Parquet: the kept rows (1-based numbers in `index.line`) as JSON Lines, streamed by row group. */
async function exportParquetRows(
  source: string,
  index: RecordIndex,
  dropLines: ReadonlySet<number>,
  target: string,
  opts: { isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void },
): Promise<number | null> {
  const { openParquet, readRowGroup } = await import('./parquet/parquet.js');
  const pf = await openParquet(source);
  const keep = new Set<number>();
  for (const line of index.line) if (!dropLines.has(line)) keep.add(line);
  return writeNew(target, opts, async (out, cancelled) => {
    let kept = 0;
    // row group by row group, only those with a row to keep: a row group the scan could not read has none (its rows
    // are the scan's errors), so one damaged row group never stops the export
    for (let g = 0; g < pf.rowGroups.length; g++) {
      const { start, rows } = pf.rowGroups[g];
      let any = false;
      for (let r = start + 1; r <= start + rows && !any; r++) any = keep.has(r);
      if (!any) continue;
      if (cancelled()) return null;
      const values = await readRowGroup(pf, g);
      const lines: string[] = [];
      values.forEach((value, i) => {
        if (keep.has(start + i + 1)) lines.push(JSON.stringify(value));
      });
      if (lines.length) await out.write(lines.join('\n') + '\n');
      kept += lines.length;
      opts.onProgress?.(start + rows, pf.rows);
    }
    return kept;
  });
}

/**
 * Writes a new file through a temporary one, renamed at the end: `write` returns the records written, or null when
 * cancelled (then the temporary file is removed, as it is on an error).
 */
async function writeNew(
  target: string,
  opts: { isCancelled?: () => boolean },
  write: (out: FileHandle, cancelled: () => boolean) => Promise<number | null>,
): Promise<number | null> {
  const tmp = `${target}.${process.pid}.tmp`;
  const out = await open(tmp, 'w');
  try {
    const n = await write(out, () => opts.isCancelled?.() ?? false);
    await out.close();
    if (n === null) await unlink(tmp);
    else await rename(tmp, target);
    return n;
  } catch (e) {
    await out.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
