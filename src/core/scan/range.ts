/**
 * Scanning one byte range of a preference file (docs/ARCHITECTURE.md, "Scanning a file"): the work of a worker, or
 * of the calling thread. The scan kernel (kernel.ts) reads the lines it can and collects every record's columns and
 * length statistics; the other lines go through the exact JavaScript path (JSON.parse, normalisation, checks).
 * The range then finds duplicate and contradiction candidates among its records from radix-sorted fingerprints of
 * their signature keys, and keys its candidates exactly, in parallel with the other ranges.
 */
import { openParquet, ParquetError, type ParquetFile, rowGroupOf } from '../parquet/parquet.js';
import { linesOf, RowGroupLines } from '../parquet/rowLines.js';
import { CHECK_BITS } from '../checks/table.js';
import { type CheckOptions, exactRecordKeys, type RecordKeys, ROW_FLOATS, ROW_INTS, RowInt, type SummaryChunk, summarizeRecord, type TokenCounter } from '../checks/record.js';
import { InputError } from '../errors.js';
import { decodeUtf8, iterateArrayElements, iterateLines, type RawItem, readBytes, withFile } from '../jsonl/reader.js';
import { recordFromBytes, recordsOfText } from '../records.js';
import { FORMAT_NAMES, type FormatName, type RecordError } from '../types.js';
import { type Batch, fastParseAvailable, type KernelSink, type RecordColumns, ScanKernel } from './kernel.js';
import type { SharedKernels } from '../kernels/module.js';
import { AGG_DESIRABLE, AGG_FORMATS, AGG_LONGER, AGG_LONGER_CHARS, AGG_N, AGG_PAIRS, AGG_SUM, AGG_UNDESIRABLE, SERIES } from '../kernels/layout.js';
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
    shared?: () => SharedKernels,
    expected?: number,
  ) {
    // With a model tokenizer, the truncation check counts the special tokens it adds.
    this.task = tok?.special ? { ...task0, opts: { ...task0.opts, promptSpecialTokens: tok.special.prompt, responseSpecialTokens: tok.special.response } } : task0;
    this.parse = this.task.kind === 'jsonl' && !tok && !this.task.exactOnly && fastParseAvailable(this.task.format, this.task.opts);
    this.range = new RangeBuilder(this.parse ? this.task.format : 'none', this.task.opts, this.parse ? shared?.() : undefined, expected);
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

  finish(lineCount: number, keysOf: (i: number) => RecordKeys | null | undefined): RangeResult {
    return this.range.finish(lineCount, this.errors, this.errorCount, keysOf);
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
    // the columns once the range is complete (finish drains the kernel before it keys candidates)
    let cols: ReturnType<RangeBuilder['columns']> | null = null;
    return scan.finish(lineCount, (i) => exactKeysAt(fd, (cols ??= scan.range.columns()), i, scan.range.kernel));
  });
}

/**
 * Scans row groups [from, to) of a Parquet file (docs/ARCHITECTURE.md, "Parquet"), one at a time. The scan kernel shares
 * the Parquet reader's memory (parquet/rowLines.ts): a row group with exactly the columns chosen, rejected (and prompt)
 * has its texts scanned where they were decoded (ScanKernel.rowStream `rows`), its rows the kernel does not read going
 * to the JavaScript path as their JSON lines; any other row group is scanned as its JSON Lines, in place. With a model
 * tokenizer (or exactOnly) every row goes through the JavaScript path as a JSON line. No line is kept. After each row group, its records that meet each other
 * by full signature key (RangeBuilder.matchNew) are keyed exactly while the row group is in memory; at the end, the
 * candidates that meet a record of another row group (RangeBuilder.meetAny) are keyed from their row groups read
 * again — none for duplicates next to each other, a second decoding of the row groups that hold them for duplicates
 * far apart. The result is `keyed`: a candidate without keys meets no other record of the range. The unreadable row groups are blank
 * lines and errors. Progress in bytes of the Parquet file (its row groups' compressed sizes). `opened`: the file and a
 * reader of it, already open on this thread.
 */
export async function scanParquetRange(
  task0: RangeTask,
  tok: TokenCounter | null,
  onProgress?: (bytes: number) => void,
  opened?: { pf: ParquetFile; lines: RowGroupLines },
): Promise<RangeResult> {
  const pq = task0.parquet;
  if (!pq) throw new Error('not a Parquet range');
  const pf = opened?.pf ?? (await openParquet(task0.path));
  const lines = opened?.lines ?? new RowGroupLines(pf);
  const rowsIn = (from: number, to: number): number => (to > from ? pf.rowGroups[to - 1].start + pf.rowGroups[to - 1].rows - pf.rowGroups[from].start : 0);
  // the scan kernel shares the Parquet reader's memory: it reads the texts where they are decoded; room for the
  // records expected (about half of row groups shared with another range)
  const scan = new RangeScan(task0, tok, undefined, () => lines.shared(), Math.ceil(rowsIn(pq.from, pq.to) * (pq.claims ? 0.55 : 1)));
  if (pq.claims && !scan.parse) throw new Error('row groups claimed by ranges need the scan kernel');
  try {
    const rowErrors: RecordError[] = [];
    // lines are numbered from [from, to)'s first row while it is read (then from the range's, for a backward range)
    let base = pf.rowGroups[pq.from].start;
    /** The row group and the row within it of a line of the range (1-based). */
    const rowOf = (line: number): { g: number; r: number } => rowGroupOf(pf, base + line - 1, pq.from, pq.to);
    const keys = new Map<number, RecordKeys | null>();
    const later = new Map<number, number[]>(); // row group → records of it to key once the range is read
    /** Keys record i now if its row group is the one in memory (`g`), else later. */
    const key = (i: number, g: number): void => {
      if (keys.has(i)) return;
      const cols = scan.range.columns();
      const at = rowOf(cols.line[i]);
      if (at.g === g) keys.set(i, exactKeysOf(lines.line(at.r), cols, i, scan.range.kernel));
      else {
        const list = later.get(at.g);
        if (list) list.push(i);
        else later.set(at.g, [i]);
      }
    };
    let done = 0;
    const onRowGroup = (g: number): void => {
      // the row group's lines all end with a newline: its records are in once the kernel's batch is drained
      scan.range.kernel.drain();
      scan.range.matchNew((i, j) => {
        key(i, g);
        key(j, g);
      });
      done += pf.metadata.row_groups[g].columns.reduce((s, c) => s + Number(c.meta_data?.total_compressed_size ?? 0), 0);
      onProgress?.(done);
    };
    let lineCount: number;
    let range = { from: pq.from, to: pq.to };
    if (scan.parse) {
      const stream = scan.range.kernel.rowStream(scan.handle);
      // the next row group: in order, or claimed (RangeTask.parquet `claims`: from either end of [from, to))
      const claims = pq.claims ? new Int32Array(pq.claims) : null;
      const total = pq.to - pq.from;
      let mine = 0;
      const claim = (): number => {
        if (claims ? Atomics.add(claims, pq.slot ?? 0, 1) >= total : mine >= total) return -1;
        mine++;
        return pq.backward ? pq.to - mine : pq.from + mine - 1;
      };
      const blocks: number[] = []; // the first record of each row group read, in the order read
      for (let g = claim(); g >= 0; g = claim()) {
        const { start, rows } = pf.rowGroups[g];
        blocks.push(scan.range.count);
        stream.seek(start - base + 1);
        try {
          await lines.load(g);
        } catch (e) {
          // an unreadable row group: its rows are blank, with an error on its first row
          if (!(e instanceof ParquetError)) throw e;
          rowErrors.push({ line: start - base + 1, message: e.message });
          stream.skip(rows);
          continue;
        }
        const raw = lines.rawTables();
        if (raw) stream.rows(raw, rows, (r) => lines.line(r));
        else for (let b = lines.next(); b; b = lines.next()) stream.lines(b);
        onRowGroup(g);
      }
      stream.end();
      range = pq.backward ? { from: pq.to - mine, to: pq.to } : { from: pq.from, to: pq.from + mine };
      lineCount = rowsIn(range.from, range.to);
      if (pq.backward && mine > 0) {
        // read from the end: the row groups' records put back in file order, numbered from the range's first row
        blocks.push(scan.range.count);
        const to = scan.range.reverseBlocks(blocks);
        const moved = [...keys].map(([i, k]): [number, RecordKeys | null] => [to[i], k]);
        keys.clear();
        for (const [i, k] of moved) keys.set(i, k);
        const shift = pf.rowGroups[range.from].start - base;
        base += shift;
        scan.range.shiftLines(-shift);
        for (const e of [...rowErrors, ...scan.errors]) e.line -= shift;
      }
    } else {
      const pieces = linesOf(pf, pq.from, pq.to, rowErrors, { relative: true, onRowGroup, lines });
      // the JavaScript path, line by line
      let line = 1;
      let offset = 0;
      for await (const b of pieces) {
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
    // candidates not keyed with their row group: those that meet a record of an earlier row group (not those whose
    // fingerprint alone matched), keyed from their row groups read again
    scan.range.kernel.drain();
    scan.range.matchNew((i, j) => {
      key(i, -1);
      key(j, -1);
    });
    const { candidate } = scan.range.candidates();
    const unkeyed: number[] = [];
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) if (!keys.has(i)) unkeyed.push(i);
    for (const i of scan.range.meetAny(unkeyed)) key(i, -1);
    for (const [g, list] of [...later].sort((x, y) => x[0] - y[0])) {
      await lines.load(g);
      const cols = scan.range.columns();
      for (const i of list) if (!keys.has(i)) keys.set(i, exactKeysOf(lines.line(rowOf(cols.line[i]).r), cols, i, scan.range.kernel));
    }
    for (const e of rowErrors) scan.addError(e);
    const res = scan.finish(lineCount, (i) => keys.get(i));
    res.keyed = true;
    res.rowGroups = range;
    return res;
  } finally {
    if (!opened) lines.close();
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

  /**
   * `parse`: the format the kernel reads lines in ('none': it only collects rows given to addRow). `expected`: the
   * records expected (a Parquet range's rows), room made for them at once.
   */
  constructor(parse: FormatName | null | 'none', opts: CheckOptions, shared?: SharedKernels, expected = 0) {
    this.kernel = new ScanKernel(parse, opts, this, shared);
    if (expected > this.cap) {
      this.cap = expected;
      this.grow(expected);
    }
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

  /** The columns collected so far (views, valid until more records are added). */
  columns(): Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format' | 'sigRecord' | 'sigSwapped'> {
    const n = this.count;
    return {
      line: this.line.subarray(0, n),
      offset: this.offset.subarray(0, n),
      length: this.length.subarray(0, n),
      sub: this.sub.subarray(0, n),
      format: this.format.subarray(0, n),
      sigRecord: this.sigRecord.subarray(0, n),
      sigSwapped: this.sigSwapped.subarray(0, n),
    };
  }

  /**
   * Puts blocks of records in the reverse order (`starts`: the first record of each block, in the order added, then
   * the count): how a range read from its end is put back in file order. Returns each record's new index.
   */
  reverseBlocks(starts: number[]): Int32Array {
    this.kernel.drain();
    const n = this.count;
    const to = new Int32Array(n);
    let at = 0;
    for (let b = starts.length - 2; b >= 0; b--) for (let i = starts[b]; i < starts[b + 1]; i++) to[i] = at++;
    if (at !== n) throw new Error('blocks do not cover the records');
    // in place, through a copy of one column at a time
    for (const a of [this.line, this.offset, this.length, this.sub, this.flags, this.format, this.sigRecord, this.sigSwapped]) {
      const was = a.slice(0, n);
      for (let i = 0; i < n; i++) a[to[i]] = was[i];
    }
    this.flagged = this.flagged.map((i) => to[i]).sort((x, y) => x - y);
    this.matched = n;
    this.cand = null;
    return to;
  }

  /** Adds `delta` to every record's line. */
  shiftLines(delta: number): void {
    for (let i = 0; i < this.count; i++) this.line[i] += delta;
  }

  /** Records already looked at by matchNew, and its table: a key per slot (-1: empty) and the record holding it. */
  private matched = 0;
  private tableKeys = new Float64Array(1 << 12);
  private tableRecords = new Int32Array(1 << 12);

  /**
   * Calls onPair(i, j) for records added since the last call that meet each other by full signature key: equal record
   * keys (duplicate candidates), or one's swapped key equal to the other's record key (contradiction candidates). Every
   * such record is in at least one pair. Records that meet one added earlier are found at the end, among the range's
   * candidates (`candidates()`, `meetAny`). The table holds one batch (a row group's records): it stays in the cache.
   */
  matchNew(onPair: (i: number, j: number) => void): void {
    const a = this.matched;
    const b = this.count;
    this.matched = b;
    if (b - a < 2) return;
    if (this.tableKeys.length < 2 * (b - a)) {
      let n = this.tableKeys.length;
      while (n < 2 * (b - a)) n *= 2;
      this.tableKeys = new Float64Array(n);
      this.tableRecords = new Int32Array(n);
    }
    const tk = this.tableKeys;
    const tr = this.tableRecords;
    tk.fill(-1);
    const mask = tk.length - 1;
    const R = this.sigRecord;
    const S = this.sigSwapped;
    // record keys in the table (first holder), then every record's swapped key looked up; a key is an integer
    // below 2^53 whose low 32 bits (k >>> 0) are well mixed
    for (let i = a; i < b; i++) {
      const r = R[i];
      if (r < 0) continue;
      for (let h = (r >>> 0) & mask; ; h = (h + 1) & mask) {
        const k = tk[h];
        if (k === -1) {
          tk[h] = r;
          tr[h] = i;
          break;
        }
        if (k === r) {
          onPair(i, tr[h]);
          break;
        }
      }
    }
    for (let i = a; i < b; i++) {
      const s = S[i];
      if (s < 0 || s === R[i]) continue;
      for (let h = (s >>> 0) & mask; ; h = (h + 1) & mask) {
        const k = tk[h];
        if (k === -1) break;
        if (k === s) {
          onPair(i, tr[h]);
          break;
        }
      }
    }
  }

  private cand: ReturnType<ScanKernel['candidates']> | null = null;

  /** The range's candidates (kernel.ts `candidates`), computed once all its records are in. */
  candidates(): ReturnType<ScanKernel['candidates']> {
    if (!this.cand) {
      this.kernel.drain();
      const n = this.count;
      this.cand = this.kernel.candidates(this.sigRecord.subarray(0, n), this.sigSwapped.subarray(0, n));
    }
    return this.cand;
  }

  /**
   * Which of the records `which` meet another record of the range by full signature key (as matchNew pairs them): a
   * candidate found by fingerprint alone meets none and needs no exact keys.
   */
  meetAny(which: number[]): Set<number> {
    const R = this.sigRecord;
    const S = this.sigSwapped;
    const hitsR = new Map<number, number>(); // key → records with that record key
    const hitsS = new Map<number, number>(); // key → records with that swapped key
    // fingerprints of the keys asked about in a bitmap of about 64 bits per key (small enough for the cache): few map
    // lookups; a key is an integer below 2^53, whose low 32 bits `k >>> 0` gives
    let size = 1 << 16;
    while (size < which.length * 128 && size < 1 << 24) size *= 2;
    const bits = new Uint8Array(size >>> 3);
    const mask = size - 1;
    const fp = (k: number): number => (k >>> 0) & mask;
    for (const i of which) {
      for (const k of [R[i], S[i]]) {
        if (k < 0) continue;
        hitsR.set(k, 0);
        hitsS.set(k, 0);
        bits[fp(k) >>> 3] |= 1 << (fp(k) & 7);
      }
    }
    const seen = (k: number): boolean => k >= 0 && (bits[fp(k) >>> 3] & (1 << (fp(k) & 7))) !== 0;
    for (let m = 0; m < this.count; m++) {
      const r = R[m];
      if (seen(r)) {
        const c = hitsR.get(r);
        if (c !== undefined) hitsR.set(r, c + 1);
      }
      const s = S[m];
      if (s !== r && seen(s)) {
        const c = hitsS.get(s);
        if (c !== undefined) hitsS.set(s, c + 1);
      }
    }
    const out = new Set<number>();
    for (const i of which) {
      const r = R[i];
      const s = S[i];
      if (r >= 0 && ((hitsR.get(r) ?? 0) >= 2 || (hitsS.get(r) ?? 0) >= 1)) out.add(i);
      else if (s >= 0 && s !== r && (hitsR.get(s) ?? 0) >= 1) out.add(i);
    }
    return out;
  }

  /**
   * The range's result. Its candidates are keyed exactly here, in parallel with the other ranges: `keysOf(i)` gives
   * record i's exact keys (null: it no longer reads; undefined: not known here, left to the merge).
   */
  finish(lineCount: number, errors: RecordError[], errorCount: number, keysOf: (i: number) => RecordKeys | null | undefined): RangeResult {
    this.kernel.drain();
    const n = this.count;
    const sigRecord = this.sigRecord.subarray(0, n);
    const sigSwapped = this.sigSwapped.subarray(0, n);
    const { candidate, sortedRecord, sortedSwapped } = this.candidates();
    const exact: number[] = [];
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) {
      const k = keysOf(i);
      if (k !== undefined) exact.push(i, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2);
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
 * Exact keys (checks/record.ts exactRecordKeys) of record i of a range, read again from the file (see exactKeysOf);
 * null when the record no longer reads.
 */
export function exactKeysAt(fd: number, cols: Pick<RecordColumns, 'line' | 'offset' | 'length' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  return exactKeysOf(readBytes(fd, cols.offset[i], cols.length[i]), cols, i, kernel);
}

/**
 * Exact keys of record i of a range from the bytes of its line: by the scan kernel when it reads that line in the
 * record's format, by the JavaScript path (records.ts) otherwise; null when the record does not read.
 */
export function exactKeysOf(bytes: Uint8Array, cols: Pick<RecordColumns, 'line' | 'offset' | 'sub' | 'format'>, i: number, kernel?: ScanKernel): RecordKeys | null {
  const fast = kernel && cols.sub[i] === 0 ? kernel.exactKeys(bytes, cols.format[i]) : undefined;
  if (fast) return fast;
  const { record } = recordFromBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), cols, i, FORMAT_NAMES[cols.format[i]]);
  return record ? exactRecordKeys(record) : null;
}

/** The buffers a worker hands over without copying. */
export function transferList(p: RangeResult): ArrayBuffer[] {
  const list = [p.line, p.offset, p.length, p.sub, p.flags, p.format, p.sigRecord, p.sigSwapped, p.candidate, p.flagged, p.exact, p.sortedRecord, p.sortedSwapped, p.lengths.hist].map(
    (a) => a.buffer as ArrayBuffer,
  );
  return [...new Set(list)];
}

