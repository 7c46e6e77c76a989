/**
 * Scanning one byte range of a JSON Lines file, or a JSON array (docs/ARCHITECTURE.md, "Scanning a file"): the work
 * of a worker, or of the calling thread. The scan kernel (kernel.ts) reads the lines it can and collects every
 * record's columns and length statistics (builder.ts); the other lines go through the exact JavaScript path
 * (JSON.parse, normalisation, checks). The range then finds duplicate and contradiction candidates among its records
 * from radix-sorted fingerprints of their signature keys, and keys its candidates exactly, in parallel with the other
 * ranges.
 */
import { type TokenCounter } from '../checks/record.js';
import { iterateArrayElements, iterateLines, wholeItem, withFile } from '../jsonl/reader.js';
import type { RangeResult, RangeTask } from './types.js';


import { exactKeysAt, RangeBuilder } from './builder.js';

import { RangeScan } from './rangeScan.js';

/** Scans one byte range: the work a worker does. */
export function scanRange(task0: RangeTask, tok: TokenCounter | null, onProgress?: (bytes: number) => void): RangeResult {
  const scan = new RangeScan(task0, tok, onProgress);
  const { task, handle } = scan;
  let lineCount = 0;
  return withFile(task.path, (fd, size) => {
    if (scan.parse) {
      const start = task.start === 0 ? task.bomLength : task.start;
      lineCount = scan.range.kernel.scanLines(fd, start, task.end, handle, (b) => onProgress?.(b + start - task.start));
   } else if (task.kind === 'jsonl') {
      const start = task.start === 0 ? task.bomLength : task.start;
      for (const item of iterateLines(fd, start, task.end, 1)) {
        lineCount = item.line;
        handle(item);
     }
   } else if (task.kind === 'json-array') {
      for (const item of iterateArrayElements(fd, task.bomLength, (e) => scan.addError({ line: e.line, message: e.message }))) handle(item);
   } else {
      handle(wholeItem(fd, task.bomLength, size));
   }
    // the columns once the range is complete (finish drains the kernel before it keys candidates)
    let cols: ReturnType<RangeBuilder['columns']> | null = null;
    return scan.finish(lineCount, (i) => exactKeysAt(fd, (cols ??= scan.range.columns()), i, scan.range.kernel));
 });
}
