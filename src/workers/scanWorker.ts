/** Worker entry of a scan range job (core/jobs.ts): scans one byte range, or a Parquet file's row groups; its progress messages are bytes done. */
import { serveJob } from '../core/jobs.js';
import { transferList } from '../core/scan/builder.js';
import { scanRange } from '../core/scan/jsonRange.js';
import { scanParquetRange } from '../core/scan/parquetRange.js';
import { loadTokenCounter } from '../core/scan/rangeScan.js';
import type { RangeResult, RangeTask } from '../core/scan/types.js';

serveJob<RangeTask, number, RangeResult>(async (task, { post }) => {
  const tok = task.tokenizerDir ? await loadTokenCounter(task.tokenizerDir) : null;
  return task.parquet ? scanParquetRange(task, tok, post) : scanRange(task, tok, post);
}, transferList);
