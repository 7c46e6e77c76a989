/**
 * Worker entry of a scan range job (core/jobs.ts): scans one byte range of a JSON file, or a run of row groups of a
 * Parquet file; its progress messages are bytes (rows) done.
 */
import { serveJob } from '../jobs.js';
import { loadTokenCounter, scanRange, transferList } from './range.js';
import type { RangeResult, RangeTask } from './types.js';
import { scanParquetRange } from './parquet.js';

serveJob<RangeTask, number, RangeResult>(async (task, { post }) => {
  const tok = task.tokenizerDir ? await loadTokenCounter(task.tokenizerDir) : null;
  // a Parquet range is a run of row groups (scan/parquet.ts); its progress is rows done
  return task.kind === 'parquet' ? scanParquetRange(task, tok, post) : scanRange(task, tok, post);
}, transferList);
