/**
 * What a range's scan keeps while it reads (docs/ARCHITECTURE.md, "Scanning a file"), for JSON Lines ranges
 * (jsonRange.ts) and Parquet ranges (parquetRange.ts): its records (builder.ts), its errors, and the exact JavaScript
 * path for the lines the scan kernel does not read.
 */
import { CHECK_BITS } from '../checks/table.js';
import { type RecordKeys, ROW_FLOATS, ROW_INTS, RowInt, type SummaryChunk, summarizeRecord, type TokenCounter } from '../checks/record.js';
import { decodeUtf8, oversizeMessage, type RawItem } from '../jsonl/reader.js';
import { recordsOfText } from '../records.js';
import { type RecordError } from '../types.js';
import { fastParseAvailable } from './kernel.js';
import type { SharedKernels } from '../kernels/module.js';
import type { RangeResult, RangeTask } from './types.js';


import { RangeBuilder } from './builder.js';

const BLANK = /^[\s]*$/;

/** Loads a token counter for `--tokenizer DIR` (tokenizer.json + tokenizer_config.json). */
export async function loadTokenCounter(dir: string): Promise<TokenCounter> {
  const { loadHfTokenizer } = await import('../tokenize/hf.js');
  return loadHfTokenizer(dir);
}

/** What a range's scan keeps while it reads: its records, its errors, and the JavaScript path for the lines the kernel does not read. */
export class RangeScan {
  readonly task: RangeTask;
  /** The kernel reads the lines itself where it can: JSON Lines, the word-level token count, flat string formats. */
  readonly parse: boolean;
  readonly range: RangeBuilder;
  private readonly one: SummaryChunk = { f: new Float64Array(ROW_FLOATS), i: new Int32Array(ROW_INTS) };
  private readonly extra: number[] = [];
  readonly errors: RecordError[] = [];
  errorCount = 0;
  private lastReport = 0;

  constructor(
    task0: RangeTask,
    private readonly tok: TokenCounter | null,
    private readonly onProgress?: (bytes: number) => void,
    shared?: () => SharedKernels,
    expected?: number,
  ) {
    // With a model tokenizer, the truncation check counts the special tokens it adds.
    this.task = tok?.special ? { ...task0, opts: { ...task0.opts, promptSpecialTokens: tok.special.prompt, responseSpecialTokens: tok.special.response } } : task0;
    this.parse = this.task.kind === 'jsonl' && !tok && !this.task.exactOnly && fastParseAvailable(this.task.format, this.task.opts);
    this.range = new RangeBuilder(this.parse ? this.task.format : 'none', this.task.opts, this.parse ? shared?.() : undefined, expected);
 }

  addError = (e: RecordError): void => {
    this.errorCount += e.rows ?? 1;
    if (this.errors.length < this.task.maxErrors) this.errors.push(e);
 };

  /** A line (or JSON array element) through the JavaScript path. */
  handle = (item: RawItem): void => {
    const task = this.task;
    if (item.oversize !== undefined) {
      this.addError({ line: item.line, message: oversizeMessage(item.oversize) });
      return;
    }
    const { text, invalidUtf8 } = decodeUtf8(item.bytes);
    if (item.bytes.length < 64 ? BLANK.test(text) : text.trim() === '') return;
    const got = recordsOfText(text, item, task.format, task.strict);
    if ('error' in got) {
      this.addError(got.error);
      return;
   }
    const one = this.one;
    for (const r of got.records) {
      this.extra.length = 0;
      try {
        summarizeRecord(r, item.bytes.length, task.opts, this.tok, one, 0, this.extra);
        if (invalidUtf8) one.i[RowInt.flags] |= CHECK_BITS.encoding;
        this.range.addRow(one, this.extra);
     } catch (e) {
        this.addError({ line: item.line, message: `cannot check this record (${e instanceof Error ? e.message : String(e)})` });
     }
   }
    if (this.onProgress && item.offset - this.lastReport > 8 << 20) {
      this.lastReport = item.offset;
      this.onProgress(item.offset - task.start);
   }
 };

  finish(lineCount: number, keysOf: (i: number) => RecordKeys | null | undefined): RangeResult {
    return this.range.finish(lineCount, this.errors, this.errorCount, keysOf);
 }
}
