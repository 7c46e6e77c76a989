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

/** How an ordered (curriculum) export orders its rows (issue #23). */
export interface ExportOrder {
  /** `ref-margin`: the rows' own ref_margin column (an output of preflens refs); `margin`: a scoring's DPO margin by line. */
  key: 'ref-margin' | 'margin';
  /** `margin`: the margin of each scored line (a row without one goes last). */
  margins?: ReadonlyMap<number, number>;
  /** Largest first (the reference prefers chosen most: the easiest pairs), else smallest first. */
  desc: boolean;
  /** K > 1: K files of equal size, easiest first (largest margin first, whatever `desc`). */
  stages?: number;
}

/** The files an ordered export writes: OUT, or OUT's stages (`name.stage-1-of-K.jsonl`, …). */
export function stageFiles(target: string, stages: number): string[] {
  if (stages <= 1) return [target];
  const m = /^(.*?)(\.jsonl|\.json|\.ndjson)?$/i.exec(target) as RegExpExecArray;
  return Array.from({ length: stages }, (_, i) => `${m[1]}.stage-${i + 1}-of-${stages}${m[2] ?? '.jsonl'}`);
}

/**
 * The kept records of `source` in the order of a margin (a curriculum: Curry-DPO and the margin-aware DPO variants order
 * or weight pairs by it), as JSON Lines: JSON Lines rows copied byte for byte (`margin` order: the scoring's margin
 * appended as a `preflens_margin` field), JSON array elements and Parquet rows as compact JSON objects; rows without a margin
 * last, in file order. Parquet rows are written in file order to a temporary file first, then read in the new order.
 */
export async function exportOrdered(
  source: string,
  index: RecordIndex,
  kind: SourceKind,
  dropLines: ReadonlySet<number>,
  target: string,
  order: ExportOrder,
  opts: { isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ files: string[]; written: number; withoutMargin: number } | null> {
  const files = stageFiles(target, order.stages ?? 1);
  for (const f of files) if (sameFile(source, f)) throw new ExportError('PrefLens never writes to a dataset file: choose a new file for the export');
  // the rows kept, once per line, with the bytes each is written from
  const lines: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < index.line.length; i++) if (!dropLines.has(index.line[i]) && index.line[i] !== lines.at(-1)) {
    lines.push(index.line[i]);
    at.push(i);
  }
  const rowsFile = kind === 'parquet' ? `${target}.${process.pid}.rows.tmp` : source;
  const offsets = new Float64Array(lines.length);
  const lengths = new Uint32Array(lines.length);
  const keys = new Float64Array(lines.length).fill(NaN);
  try {
    if (kind === 'parquet') {
      // the kept rows as JSON lines, in file order, into a temporary file beside the target
      const { openParquet, readRowGroup } = await import('./parquet/parquet.js');
      const pf = await openParquet(source);
      const out = await open(rowsFile, 'w');
      try {
        let pos = 0;
        let k = 0;
        for (let g = 0; g < pf.rowGroups.length && k < lines.length; g++) {
          const { start, rows } = pf.rowGroups[g];
          if (lines[k] > start + rows) continue;
          const values = await readRowGroup(pf, g);
          const parts: Buffer[] = [];
          for (; k < lines.length && lines[k] <= start + rows; k++) {
            const v = values[lines[k] - start - 1];
            const b = Buffer.from(JSON.stringify(v) + '\n');
            offsets[k] = pos;
            lengths[k] = b.length - 1;
            pos += b.length;
            parts.push(b);
            if (order.key === 'ref-margin') keys[k] = typeof v?.ref_margin === 'number' ? v.ref_margin : NaN;
          }
          await out.write(Buffer.concat(parts));
          opts.onProgress?.(k, lines.length);
        }
      } finally {
        await out.close();
      }
    } else {
      at.forEach((i, k) => {
        offsets[k] = index.offset[i];
        lengths[k] = index.length[i];
      });
    }
    const src = await open(rowsFile, 'r');
    try {
      const read = async (k: number): Promise<Buffer> => {
        const b = Buffer.alloc(lengths[k]);
        await src.read(b, 0, b.length, offsets[k]);
        let e = b.length;
        while (e > 0 && (b[e - 1] === 0x0d || b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
        return b.subarray(0, e);
      };
      if (order.key === 'margin') lines.forEach((l, k) => (keys[k] = order.margins?.get(l) ?? NaN));
      else if (kind !== 'parquet') {
        for (let k = 0; k < lines.length; k++) {
          const v = JSON.parse((await read(k)).toString('utf8')) as Record<string, unknown>;
          keys[k] = typeof v.ref_margin === 'number' ? v.ref_margin : NaN;
        }
      }
      if (order.key === 'ref-margin' && lines.length && keys.every(Number.isNaN)) throw new ExportError(`${source}: no row has a ref_margin: ordering by ref_margin needs an output of preflens refs (or PrefLens: Compute Reference Log-Probs…)`);
      // largest first for stages (easiest first) and --desc; rows without a margin last, in file order
      const desc = (order.stages ?? 1) > 1 || order.desc;
      const sorted = Array.from(lines, (_, k) => k).sort((a, b) => {
        const x = keys[a];
        const y = keys[b];
        if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) === Number.isNaN(y) ? a - b : Number.isNaN(x) ? 1 : -1;
        return (desc ? y - x : x - y) || a - b;
      });
      const stages = files.length;
      let written = 0;
      for (let s = 0; s < stages; s++) {
        const from = Math.floor((sorted.length * s) / stages);
        const to = Math.floor((sorted.length * (s + 1)) / stages);
        const n = await writeNew(files[s], opts, async (out, cancelled) => {
          let pending: Buffer[] = [];
          for (let j = from; j < to; j++) {
            if (cancelled()) return null;
            const k = sorted[j];
            let b = await read(k);
            if (kind === 'json-array') b = Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8'))));
            if (order.key === 'margin') {
              // the margin the rows are ordered by, appended as a field
              let e = b.length;
              while (e > 0 && b[e - 1] !== 0x7d) e--;
              const body = b.subarray(0, e - 1);
              const empty = body.toString('latin1').trimEnd().endsWith('{');
              b = Buffer.concat([body, Buffer.from(`${empty ? '' : ','}"preflens_margin":${Number.isNaN(keys[k]) ? 'null' : JSON.stringify(keys[k])}}`)]);
            }
            pending.push(b, Buffer.from('\n'));
            if (pending.length > 2000) {
              await out.write(Buffer.concat(pending));
              pending = [];
              opts.onProgress?.(written + j - from, sorted.length);
            }
          }
          if (pending.length) await out.write(Buffer.concat(pending));
          return to - from;
        });
        if (n === null) return null;
        written += n;
      }
      return { files, written, withoutMargin: keys.filter(Number.isNaN).length };
    } finally {
      await src.close();
    }
  } finally {
    if (kind === 'parquet') await unlink(rowsFile).catch(() => undefined);
  }
}
