/** Worker entry of a scan range job (core/jobs.ts): scans one byte range; its progress messages are bytes done. */
import { serveJob } from '../jobs.js';
import { loadTokenCounter, scanRange, transferList } from './range.js';
import type { RangeResult, RangeTask } from './types.js';

serveJob<RangeTask, number, RangeResult>(
  async (task, { post }) => scanRange(task, task.tokenizerDir ? await loadTokenCounter(task.tokenizerDir) : null, post),
  transferList,
);
