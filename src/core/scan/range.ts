/**
 * Scanning one byte range of a preference file (docs/ARCHITECTURE.md, "Scanning a file"): the work of a worker, or
 * of the calling thread. The scan kernel (kernel.ts) reads the lines it can and collects every record's columns and
 * length statistics; the other lines go through the exact JavaScript path (JSON.parse, normalisation, checks).
 * The range then finds duplicate and contradiction candidates among its records from radix-sorted fingerprints of
 * their signature keys, and keys its candidates exactly, in parallel with the other ranges.
 */
import { closeSync, openSync } from 'node:fs';
import { writeAll } from '../parquet/jsonLines.js';
import { openParquet, type ParquetFile } from '../parquet/parquet.js';
import { linesOf, type RowGroupLines } from '../parquet/rowLines.js';
import { CHECK_BITS } from '../checks/table.js';
import { type CheckOptions, exactRecordKeys, type RecordKeys, ROW_FLOATS, ROW_INTS, RowInt, type SummaryChunk, summarizeRecord, type TokenCounter } from '../checks/record.js';
import { InputError } from '../errors.js';
import { decodeUtf8, iterateArrayElements, iterateLines, type RawItem, readBytes, withFile } from '../jsonl/reader.js';
import { recordFromBytes, recordsOfText } from '../records.js';
import { FORMAT_NAMES, type FormatName, type RecordError } from '../types.js';
import { type Batch, fastParseAvailable, type KernelSink, type RecordColumns, ScanKernel } from './kernel.js';
import { AGG_DESIRABLE, AGG_FORMATS, AGG_LONGER, AGG_LONGER_CHARS, AGG_N, AGG_PAIRS, AGG_SUM, AGG_UNDESIRABLE, SERIES } from './kernelLayout.js';
import type { LengthAgg, RangeResult, RangeTask } from './types.js';

const BLANK = /^[\s]*$/;

/** Loads a token counter for `--tokenizer DIR` (tokenizer.json + tokenizer_config.json). */
export async function loadTokenCounter(dir: string): Promise<TokenCounter> {
  const { loadHfTokenizer } = await import('../tokenize/hf.js');
  return loadHfTokenizer(dir);
}

/** What a range's scan keeps while it reads: its records, its errors, and the JavaScript path for the lines the kernel does not read. */
class RangeScan {
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
  ) {
    // With a model tokenizer, the truncation check counts the special tokens it adds.
    this.task = tok?.special ? { ...task0, opts: { ...task0.opts, promptSpecialTokens: tok.special.prompt, responseSpecialTokens: tok.special.response } } : task0;
    this.parse = this.task.kind === 'jsonl' && !tok && !this.task.exactOnly && fastParseAvailable(this.task.format, this.task.opts);
    this.range = new RangeBuilder(this.parse ? this.task.format : 'none', this.task.opts);
  }

  addError = (e: RecordError): void => {
    this.errorCount++;
    if (this.errors.length < this.task.maxErrors) this.errors.push(e);
  };

  /** A line (or JSON array element) through the JavaScript path. */
  handle = (item: RawItem): void => {
    const task = this.task;
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

  finish(lineCount: number, fd: number): RangeResult {
    return this.range.finish(lineCount, this.errors, this.errorCount, fd);
  }
}

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
      if (size > 512 << 20) throw new InputError(`${task.path}: a single JSON object of ${size} bytes is too large`);
      const bytes = readBytes(fd, task.bomLength, size - task.bomLength);
      handle({ line: 1, offset: task.bomLength, bytes });
    }
    return scan.finish(lineCount, fd);
  });
}

/**
 * Scans row groups [from, to) of a Parquet file (docs/ARCHITECTURE.md, "Parquet"): their rows as JSON Lines
 * (parquet/rowLines.ts), scanned as they come and written to the range's file of lines (`task.parquet.lines`), where
 * candidates are read again for their exact keys. The unreadable row groups are blank lines and errors. Progress in
 * bytes of the Parquet file (its row groups' compressed sizes). `opened`: the file and a reader of it, already open on
 * this thread.
 */
export async function scanParquetRange(
  task0: RangeTask,
  tok: TokenCounter | null,
  onProgress?: (bytes: number) => void,
  opened?: { pf: ParquetFile; lines: RowGroupLines },
): Promise<RangeResult> {
  const pq = task0.parquet;
  if (!pq) throw new Error('not a Parquet range');
  const scan = new RangeScan(task0, tok);
  const pf = opened?.pf ?? (await openParquet(task0.path));
  const fd = openSync(pq.lines, 'w+');
  try {
    const rowErrors: RecordError[] = [];
    let done = 0;
    const onRowGroup = (g: number): void => {
      done += pf.metadata.row_groups[g].columns.reduce((s, c) => s + Number(c.meta_data?.total_compressed_size ?? 0), 0);
      onProgress?.(done);
    };
    let lineCount: number;
    const pieces = linesOf(pf, pq.from, pq.to, rowErrors, { relative: true, onRowGroup, lines: opened?.lines });
    if (scan.parse) {
      const stream = scan.range.kernel.lineStream(scan.handle);
      for await (const b of pieces) {
        writeAll(fd, b);
        stream.push(b);
      }
      lineCount = stream.end();
    } else {
      // the JavaScript path, line by line
      let line = 1;
      let offset = 0;
      for await (const b of pieces) {
        writeAll(fd, b);
        const copy = Buffer.from(b);
        for (let at = 0; at < copy.length; ) {
          let e = copy.indexOf(0x0a, at);
          if (e < 0) e = copy.length;
          const end = e > at && copy[e - 1] === 0x0d ? e - 1 : e;
          scan.handle({ line: line++, offset: offset + at, bytes: copy.subarray(at, end) });
          at = e + 1;
        }
        offset += copy.length;
      }
      lineCount = line - 1;
    }
    for (const e of rowErrors) scan.addError(e);
    const res = scan.finish(lineCount, fd);
    res.file = pq.lines;
    return res;
  } finally {
    closeSync(fd);
  }
}

/**
 * Collects a range's records: columns here, length statistics and candidate search in the scan kernel (which
 * also reads the lines it can; see kernel.ts), so that one piece of code counts every record.
 */
export class RangeBuilder implements KernelSink {
  private cap = 1 << 14;
  count = 0;
  private line = new Uint32Array(this.cap);
  private offset = new Float64Array(this.cap);
  private length = new Uint32Array(this.cap);
  private sub = new Uint32Array(this.cap);
  private flags = new Uint32Array(this.cap);
  private format = new Uint8Array(this.cap);
  private sigRecord = new Float64Array(this.cap);
  private sigSwapped = new Float64Array(this.cap);
  private bigValues: number[][] = Array.from({ length: SERIES }, () => []);
  private flagged: number[] = [];
  readonly kernel: ScanKernel;

  /** `parse`: the format the kernel reads lines in ('none': it only collects rows given to addRow). */
  constructor(parse: FormatName | null | 'none', opts: CheckOptions) {
    this.kernel = new ScanKernel(parse, opts, this);
  }

  private grow(min: number): void {
    while (this.cap < min) this.cap *= 2;
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a.subarray(0, this.count));
      return b;
    };
    this.line = g(this.line, (n) => new Uint32Array(n));
    this.offset = g(this.offset, (n) => new Float64Array(n));
    this.length = g(this.length, (n) => new Uint32Array(n));
    this.sub = g(this.sub, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint32Array(n));
    this.format = g(this.format, (n) => new Uint8Array(n));
    this.sigRecord = g(this.sigRecord, (n) => new Float64Array(n));
    this.sigSwapped = g(this.sigSwapped, (n) => new Float64Array(n));
  }

  batch(b: Batch): void {
    if (this.count + b.n > this.cap) this.grow(this.count + b.n);
    const k = this.count;
    this.line.set(b.line, k);
    this.offset.set(b.offset, k);
    this.length.set(b.length, k);
    this.sub.set(b.sub, k);
    this.flags.set(b.flags, k);
    this.format.set(b.format, k);
    this.sigRecord.set(b.sigRecord, k);
    this.sigSwapped.set(b.sigSwapped, k);
    for (const i of b.flagged) this.flagged.push(k + i);
    this.count += b.n;
  }

  big(pairs: Int32Array): void {
    for (let i = 0; i < pairs.length; i += 2) this.bigValues[pairs[i]].push(pairs[i + 1]);
  }

  /** A summary row of the JavaScript path (checks/record.ts), with (chars, tokens) of extra candidates. */
  addRow(row: SummaryChunk, extra: readonly number[]): void {
    this.kernel.addRow(row, extra);
  }

  /**
   * The range's result. Its candidates are keyed exactly here (read again from `fd`), in parallel with the other
   * ranges.
   */
  finish(lineCount: number, errors: RecordError[], errorCount: number, fd: number): RangeResult {
    this.kernel.drain();
    const n = this.count;
    const sigRecord = this.sigRecord.subarray(0, n);
    const sigSwapped = this.sigSwapped.subarray(0, n);
    const { candidate, sortedRecord, sortedSwapped } = this.kernel.candidates(sigRecord, sigSwapped);
    const exact: number[] = [];
    const cols = { line: this.line, offset: this.offset, length: this.length, sub: this.sub, format: this.format };
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) {
      const k = exactKeysAt(fd, cols, i, this.kernel);
      exact.push(i, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2);
    }
    const { hist, agg } = this.kernel.aggregates();
    const sum = agg.slice(AGG_SUM, AGG_SUM + SERIES);
    const count = agg.slice(AGG_N, AGG_N + SERIES);
    this.bigValues.forEach((values, series) => {
      for (const v of values) sum[series] += v;
      count[series] += values.length;
    });
    const lengths: LengthAgg = {
      hist,
      big: this.bigValues,
      sum,
      n: count,
      pairs: agg[AGG_PAIRS],
      longer: agg[AGG_LONGER],
      longerChars: agg[AGG_LONGER_CHARS],
      desirable: agg[AGG_DESIRABLE],
      undesirable: agg[AGG_UNDESIRABLE],
      formats: agg.slice(AGG_FORMATS, AGG_FORMATS + FORMAT_NAMES.length),
    };
    return {
      count: n,
      lineCount,
      errors,
      errorCount,
      line: this.line.subarray(0, n),
      offset: this.offset.subarray(0, n),
      length: this.length.subarray(0, n),
      sub: this.sub.subarray(0, n),
      flags: this.flags.subarray(0, n),
      format: this.format.subarray(0, n),
      sigRecord,
      sigSwapped,
      candidate,
      flagged: Uint32Array.from(this.flagged),
      exact: Float64Array.from(exact),
      sortedRecord,
      sortedSwapped,
      lengths,
    };
  }
}

/**
 * Exact keys (checks/record.ts exactRecordKeys) of record i of a range, read again from the file: by the scan
 * kernel when it reads that line in the record's format, by the JavaScript path (records.ts) otherwise; null when
 * the record no longer reads.
 */
export function exactKeysAt(fd: number, cols: Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  const bytes = readBytes(fd, cols.offset[i], cols.length[i]);
  const fast = kernel && cols.sub[i] === 0 ? kernel.exactKeys(bytes, cols.format[i]) : undefined;
  if (fast) return fast;
  const { record } = recordFromBytes(bytes, cols, i, FORMAT_NAMES[cols.format[i]]);
  return record ? exactRecordKeys(record) : null;
}

/** The buffers a worker hands over without copying. */
export function transferList(p: RangeResult): ArrayBuffer[] {
  const list = [p.line, p.offset, p.length, p.sub, p.flags, p.format, p.sigRecord, p.sigSwapped, p.candidate, p.flagged, p.exact, p.sortedRecord, p.sortedSwapped, p.lengths.hist].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return [...new Set(list)];
}

