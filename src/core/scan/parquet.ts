/**
 * Scanning a Parquet preference file (docs/ARCHITECTURE.md, "Parquet"): the same checks as a JSON Lines scan, over
 * rows instead of lines. A range is a run of row groups, read one row group at a time (so memory holds one row
 * group, never the file); each row goes through the JavaScript path (normalisation, checks/record.ts
 * summarizeRecord) into a RangeBuilder like a line of JSON. Records are numbered by row (1-based) in `line`; the
 * exact keys of every record are kept as it is read, since rows have no byte offsets to read them again from.
 */
import { type RecordKeys, ROW_FLOATS, ROW_INTS, type SummaryChunk, summarizeRecord, type TokenCounter } from '../checks/record.js';
import { openParquet, readRowGroup } from '../parquet/parquet.js';
import { recordsOfValue } from '../records.js';
import type { RecordError } from '../types.js';
import { RangeBuilder } from './range.js';
import type { RangeResult, RangeTask } from './types.js';

/** Scans row groups [task.start, task.end) of a Parquet file; progress is reported in rows done. */
export async function scanParquetRange(task0: RangeTask, tok: TokenCounter | null, onProgress?: (rows: number) => void): Promise<RangeResult> {
  const task = tok?.special ? { ...task0, opts: { ...task0.opts, promptSpecialTokens: tok.special.prompt, responseSpecialTokens: tok.special.response } } : task0;
  const pf = await openParquet(task.path);
  const range = new RangeBuilder('none', task.opts);
  const one: SummaryChunk = { f: new Float64Array(ROW_FLOATS), i: new Int32Array(ROW_INTS) };
  const extra: number[] = [];
  const errors: RecordError[] = [];
  let errorCount = 0;
  const addError = (e: RecordError): void => {
    errorCount++;
    if (errors.length < task.maxErrors) errors.push(e);
  };
  // exact keys of every record, in record order (3 numbers each)
  let keys = new Float64Array(3 * 4096);
  let n = 0;
  let done = 0;
  const rk: RecordKeys = { recordHash: 0, pairKey: 0, swappedKey: 0 };
  for (let g = task.start; g < task.end; g++) {
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await readRowGroup(pf, g);
    } catch (e) {
      // an unreadable row group is reported on its first row; the other row groups are still read
      addError({ line: pf.rowGroups[g].start + 1, message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const first = pf.rowGroups[g].start + 1;
    rows.forEach((value, k) => {
      const row = first + k;
      const got = recordsOfValue(value, { index: 0, line: row, offset: row - 1 }, task.format, task.strict);
      if ('error' in got) {
        addError({ ...got.error, message: got.error.message.replace(/^unrecognised record: keys/, 'unrecognised row: columns') });
        return;
      }
      for (const r of got.records) {
        extra.length = 0;
        try {
          summarizeRecord(r, 0, task.opts, tok, one, 0, extra, rk);
          if (3 * (n + 1) > keys.length) {
            const b = new Float64Array(keys.length * 2);
            b.set(keys);
            keys = b;
          }
          keys[3 * n] = rk.recordHash;
          keys[3 * n + 1] = rk.pairKey;
          keys[3 * n + 2] = rk.swappedKey;
          n++;
          range.addRow(one, extra);
        } catch (e) {
          addError({ line: row, message: `cannot check this record (${e instanceof Error ? e.message : String(e)})` });
        }
      }
    });
    done += rows.length;
    onProgress?.(done);
  }
  const res = range.finish(0, errors, errorCount, (i) => ({ recordHash: keys[3 * i], pairKey: keys[3 * i + 1], swappedKey: keys[3 * i + 2] }));
  // every record's exact keys go with the range: candidates found across ranges (merge.ts) cannot be read again
  res.exactAll = keys.subarray(0, 3 * n);
  return res;
}
