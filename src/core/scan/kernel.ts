/**
 * Driver of the WebAssembly scan kernel (src/wasm/scanKernel.ts; docs/ARCHITECTURE.md, "The scan kernel"). The kernel
 * - reads a byte range of a JSON Lines file straight from its memory and summarises every line it can (flat string
 *   records: Anthropic HH and TRL standard with an explicit prompt); the lines it cannot take — other formats,
 *   numbers, rare escapes, invalid UTF-8, invalid JSON — come back one by one for the exact JavaScript path, in
 *   file order;
 * - reads the rows of a Parquet row group from the texts where the Parquet kernel decoded them, in the same memory
 *   (rowStream; parquet/rowLines.ts shares its instance: SharedKernels);
 * - receives the summary rows of that path (addRow), so that every record's columns and length statistics are
 *   collected by one piece of code;
 * - sorts signature keys and finds duplicate candidates (range.ts, merge.ts), and keys candidates exactly.
 */
import { readSync } from 'node:fs';
import type { FormatName } from '../types.js';
import { MAX_RECORD_BYTES, type RawItem } from '../jsonl/reader.js';
import { type CheckOptions, ROW_FLOATS, ROW_INTS, type RecordKeys, type SummaryChunk, truncationLimits } from '../checks/record.js';
import { align, BATCH, BIG, EXTRA, fixedBuffers, growMemory, INPUT, kernelModule, MAX_CANDIDATES, type SharedKernels, TOKENS } from '../kernels/module.js';
import * as L from '../kernels/layout.js';
import type { RawTables } from '../parquet/rowLines.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  consumed: WebAssembly.Global;
  lines: WebAssembly.Global;
  stop: WebAssembly.Global;
  slowStart: WebAssembly.Global;
  slowLength: WebAssembly.Global;
  slowLine: WebAssembly.Global;
  batchRows: WebAssembly.Global;
  bigCount: WebAssembly.Global;
  heapBase(): number;
  setup(config: number): void;
  resetBatch(): void;
  resetBig(): void;
  scan(inp: number, len: number, final: number, firstLine: number, baseOffset: number): void;
  scanRows(tp: number, tc: number, tr: number, from: number, to: number, firstLine: number, baseOffset: number): void;
  scanRowsConv(desc: number, from: number, to: number, firstLine: number, baseOffset: number): void;
  exactKeysConvRow(desc: number, r: number): number;
  addRow(extra: number): void;
  sortU32(a: number, b: number, n: number): number;
  gatherFingerprints(src: number, n: number, dst: number, other: number): number;
  repeatedU32(a: number, n: number, out: number): number;
  commonU32(a: number, n: number, b: number, m: number, out: number): number;
  markCandidates(sigR: number, sigS: number, n: number, dup: number, nd: number, con: number, nc: number, cand: number): void;
  exactKeys(ls: number, len: number, format: number): number;
  exactResult(): number;
  addU32(dst: number, src: number, n: number): void;
  denseTotals(): void;
  rankValue(counts: number, n: number, rank: number): number;
}

/** Formats whose lines the kernel parses itself: the file's format, or per-record detection when it has none. */
const KERNEL_MODE: Partial<Record<FormatName | 'detect', number>> = { detect: L.MODE_DETECT, hh: L.MODE_HH, 'trl-standard': L.MODE_TRL_STANDARD, 'trl-conversational': L.MODE_TRL_CONVERSATIONAL };

export function fastParseAvailable(format: FormatName | null, opts: CheckOptions): boolean {
  return KERNEL_MODE[format ?? 'detect'] !== undefined && opts.lowSeparationMaxEdits <= 31;
}

/** Per-record columns (a range's, or a batch's). */
export interface RecordColumns {
  line: Uint32Array;
  offset: Float64Array;
  length: Uint32Array;
  sub: Uint32Array;
  flags: Uint32Array;
  format: Uint8Array;
  /** Signature keys (checks/record.ts signatureKeys); -1 where a record has none. */
  sigRecord: Float64Array;
  sigSwapped: Float64Array;
}

/** Columns of a batch of records, views into kernel memory valid until the next kernel call. */
export interface Batch extends RecordColumns {
  n: number;
  /** Positions (in the batch) of records with a flag set. */
  flagged: number[];
}

/** Where the kernel's batch, big-value list and statistics go. */
export interface KernelSink {
  batch(b: Batch): void;
  /** (series, value) pairs of lengths ≥ 2¹⁶. */
  big(pairs: Int32Array): void;
}

/**
 * A kernel instance, its memory (grown on demand), and the routines that work on arrays copied into its scratch
 * memory: the duplicate-candidate search of a range, and the merge of ranges on the main thread.
 */
export class KeyKernel {
  protected readonly k: KernelExports;
  protected readonly mem: WebAssembly.Memory;
  /** Where scratch memory starts (after the instance's fixed buffers, if any, and a shared reader's arena). */
  protected scratch: number;
  /** The top of the arena of a reader sharing the instance (see SharedKernels). */
  private readonly floor: (() => number) | null;

  constructor(shared?: SharedKernels) {
    this.k = (shared?.exports ?? new WebAssembly.Instance(kernelModule(), {}).exports) as unknown as KernelExports;
    this.mem = this.k.memory;
    this.scratch = align(this.k.heapBase());
    this.floor = shared ? () => shared.top() : null;
  }

  protected ensure(bytes: number): void {
    growMemory(this.mem, bytes);
  }

  /** Reserves consecutive scratch regions of the given sizes (bytes); returns their addresses. */
  protected alloc(...sizes: number[]): number[] {
    let at = this.floor ? Math.max(this.scratch, align(this.floor())) : this.scratch;
    const out = sizes.map((n) => {
      const r = at;
      at += align(n);
      return r;
    });
    this.ensure(at + 16);
    return out;
  }

  /**
   * Fingerprints (low 32 bits) of the non-negative keys, sorted; with `skipEqual`, keys equal to skipEqual's at the
   * same position are left out.
   */
  sortedFingerprints(keys: Float64Array, skipEqual?: Float64Array): Uint32Array {
    const n = keys.length;
    const [src, other, dst, tmp] = this.alloc(n * 8, skipEqual ? n * 8 : 0, n * 4, n * 4);
    new Float64Array(this.mem.buffer, src, n).set(keys);
    if (skipEqual) new Float64Array(this.mem.buffer, other, n).set(skipEqual);
    const m = this.k.gatherFingerprints(src, n, dst, skipEqual ? other : 0);
    const at = this.k.sortU32(dst, tmp, m);
    return new Uint32Array(this.mem.buffer, at, m).slice();
  }

  /** The distinct values that occur more than once in a sorted array. */
  repeated(a: Uint32Array): Uint32Array {
    const [pa, out] = this.alloc(a.byteLength, a.byteLength);
    new Uint32Array(this.mem.buffer, pa, a.length).set(a);
    const n = this.k.repeatedU32(pa, a.length, out);
    return new Uint32Array(this.mem.buffer, out, n).slice();
  }

  /** The distinct values found in both sorted arrays. */
  common(a: Uint32Array, b: Uint32Array): Uint32Array {
    const [pa, pb, out] = this.alloc(a.byteLength, b.byteLength, Math.min(a.byteLength, b.byteLength));
    new Uint32Array(this.mem.buffer, pa, a.length).set(a);
    new Uint32Array(this.mem.buffer, pb, b.length).set(b);
    const n = this.k.commonU32(pa, a.length, pb, b.length, out);
    return new Uint32Array(this.mem.buffer, out, n).slice();
  }

  /**
   * Flags (1) the records whose record key's fingerprint is in dup or con, or whose swapped key's (when it
   * differs from the record key) is in con; dup and con sorted.
   */
  mark(sigR: Float64Array, sigS: Float64Array, dup: Uint32Array, con: Uint32Array): Uint8Array {
    const n = sigR.length;
    const [r, s, d, c, out] = this.alloc(n * 8, n * 8, dup.byteLength, con.byteLength, n);
    const buf = this.mem.buffer;
    new Float64Array(buf, r, n).set(sigR);
    new Float64Array(buf, s, n).set(sigS);
    new Uint32Array(buf, d, dup.length).set(dup);
    new Uint32Array(buf, c, con.length).set(con);
    new Uint8Array(buf, out, n).fill(0);
    this.k.markCandidates(r, s, n, d, dup.length, c, con.length, out);
    return new Uint8Array(this.mem.buffer, out, n).slice();
  }

  /**
   * Order statistics of the sum of several count arrays (value v counted counts[v] times): the value at each of
   * the given ranks (sorted), or -1 for a rank beyond the counted values.
   */
  ranks(counts: Uint32Array[], ranks: number[]): number[] {
    const n = counts[0].length;
    const [sum, src] = this.alloc(n * 4, n * 4);
    new Uint32Array(this.mem.buffer, sum, n).set(counts[0]);
    for (const c of counts.slice(1)) {
      new Uint32Array(this.mem.buffer, src, n).set(c);
      this.k.addU32(sum, src, n);
    }
    return ranks.map((r) => this.k.rankValue(sum, n, r));
  }
}

/** One kernel instance with its buffers: one per scanned range. */
export class ScanKernel extends KeyKernel {
  private readonly p: Record<'config' | 'tok' | 'line' | 'offset' | 'length' | 'sub' | 'flags' | 'format' | 'sigR' | 'sigS' | 'hist' | 'big' | 'agg' | 'rowF' | 'rowI' | 'extra' | 'input', number>;
  private inputCap = INPUT;
  /** Whether the instance is shared with a Parquet reader: then the input area never grows (the reader's arena follows it). */
  private readonly shared: boolean;

  /** `shared`: an instance shared with a Parquet reader (see SharedKernels), else a new one. */
  constructor(
    format: FormatName | null | 'none',
    opts: CheckOptions,
    private readonly sink: KernelSink,
    shared?: SharedKernels,
  ) {
    super(shared);
    let at = this.scratch;
    const p: Partial<ScanKernel['p']> = {};
    for (const [name, bytes] of fixedBuffers()) {
      p[name as keyof ScanKernel['p']] = at;
      at += align(bytes);
    }
    this.p = p as ScanKernel['p'];
    this.ensure(at);
    // a shared instance may have held another scan kernel's buffers: the counts start at zero (the other buffers are
    // written before they are read, and left untouched they take no memory)
    if (shared) {
      new Uint32Array(this.mem.buffer, this.p.hist, L.SERIES * L.DENSE).fill(0);
      new Float64Array(this.mem.buffer, this.p.agg, L.AGG_SLOTS).fill(0);
    }
    this.scratch = at;
    this.shared = !!shared;
    const cfg = new Int32Array(L.CFG_WORDS);
    cfg[L.CFG_MODE] = format === 'none' ? L.MODE_ROWS_ONLY : (KERNEL_MODE[format ?? 'detect'] ?? L.MODE_ROWS_ONLY);
    const lim = truncationLimits(opts);
    cfg[L.CFG_MAX_PROMPT] = lim.maxPrompt;
    cfg[L.CFG_MAX_COMPLETION] = lim.maxCompletion ?? -1;
    cfg[L.CFG_MAX_LENGTH] = lim.maxLength;
    cfg[L.CFG_PROMPT_EXTRA] = lim.promptExtra;
    cfg[L.CFG_RESPONSE_EXTRA] = lim.responseExtra;
    cfg[L.CFG_MAX_EDITS] = opts.lowSeparationMaxEdits;
    cfg[L.CFG_TOKENS] = this.p.tok;
    cfg[L.CFG_TOKEN_CAP] = TOKENS;
    cfg[L.CFG_BATCH_CAP] = BATCH;
    cfg[L.CFG_LINE] = this.p.line;
    cfg[L.CFG_OFFSET] = this.p.offset;
    cfg[L.CFG_LENGTH] = this.p.length;
    cfg[L.CFG_SUB] = this.p.sub;
    cfg[L.CFG_FLAGS] = this.p.flags;
    cfg[L.CFG_FORMAT] = this.p.format;
    cfg[L.CFG_SIG_RECORD] = this.p.sigR;
    cfg[L.CFG_SIG_SWAPPED] = this.p.sigS;
    cfg[L.CFG_HIST] = this.p.hist;
    cfg[L.CFG_BIG] = this.p.big;
    cfg[L.CFG_BIG_CAP] = BIG;
    cfg[L.CFG_AGG] = this.p.agg;
    cfg[L.CFG_ROW_F] = this.p.rowF;
    cfg[L.CFG_ROW_I] = this.p.rowI;
    new Int32Array(this.mem.buffer, this.p.config, L.CFG_WORDS).set(cfg);
    this.k.setup(this.p.config);
  }

  /** Hands the batch (and the list of big values) to the sink and empties them. */
  drain(): void {
    const n = this.k.batchRows.value as number;
    if (n > 0) {
      const b = this.mem.buffer;
      const flags = new Uint32Array(b, this.p.flags, n);
      this.sink.batch({
        n,
        flagged: nonZero(flags),
        line: new Uint32Array(b, this.p.line, n),
        offset: new Float64Array(b, this.p.offset, n),
        length: new Uint32Array(b, this.p.length, n),
        sub: new Uint32Array(b, this.p.sub, n),
        flags,
        format: new Uint8Array(b, this.p.format, n),
        sigRecord: new Float64Array(b, this.p.sigR, n),
        sigSwapped: new Float64Array(b, this.p.sigS, n),
      });
      this.k.resetBatch();
    }
    const m = this.k.bigCount.value as number;
    if (m > 0) {
      this.sink.big(new Int32Array(this.mem.buffer, this.p.big, m * 2));
      this.k.resetBig();
    }
  }

  /**
   * Adds a summary row of the JavaScript path; `extra`: (chars, tokens) of candidates beyond the first two.
   * Throws for a record with more than MAX_CANDIDATES candidates (reported on its line by the caller).
   */
  addRow(row: SummaryChunk, extra: readonly number[]): void {
    const nExtra = extra.length / 2;
    if (nExtra > EXTRA) throw new Error(`more than ${MAX_CANDIDATES} candidates`);
    if ((this.k.batchRows.value as number) >= BATCH || (this.k.bigCount.value as number) + 2 * (3 + nExtra) > BIG) this.drain();
    const b = this.mem.buffer;
    new Float64Array(b, this.p.rowF, ROW_FLOATS).set(row.f.subarray(0, ROW_FLOATS));
    new Int32Array(b, this.p.rowI, ROW_INTS).set(row.i.subarray(0, ROW_INTS));
    if (nExtra > 0) new Float64Array(b, this.p.extra, nExtra * 2).set(extra);
    this.k.addRow(this.p.extra);
  }

  /**
   * Length statistics collected so far (after drain()), copied: counts per value below 2¹⁶ and the f64 aggregates
   * (sums and counts there cover those values only; the sink has the larger ones).
   */
  aggregates(): { hist: Uint32Array; agg: Float64Array } {
    this.k.denseTotals();
    return {
      hist: new Uint32Array(this.mem.buffer, this.p.hist, L.SERIES * L.DENSE).slice(),
      agg: new Float64Array(this.mem.buffer, this.p.agg, L.AGG_SLOTS).slice(),
    };
  }

  /** Bytes held at the input area (the unfinished line), the offset of its first byte, the next line's number. */
  private held = 0;
  private heldOffset = 0;
  private nextLine = 1;

  /**
   * Scans the lines held at the input area (the last one unfinished unless `final`); records the kernel cannot read go
   * to `slow`, in order. Keeps the unfinished line at the start of the input area, grown when one line fills it.
   */
  private scanHeld(final: boolean, slow: (item: RawItem) => void): void {
    const len = this.held;
    const p = this.scanAt(this.p.input, len, final, slow);
    new Uint8Array(this.mem.buffer).copyWithin(this.p.input, this.p.input + p, this.p.input + len);
    this.heldOffset += p;
    this.held = len - p;
    if (this.held === this.inputCap && this.inputCap < MAX_RECORD_BYTES) {
      // one line fills the input area: double it (the input area is last in memory), up to the longest record read
      this.inputCap = Math.min(this.inputCap * 2, MAX_RECORD_BYTES);
      this.ensure(this.p.input + this.inputCap + 64);
      this.scratch = Math.max(this.scratch, align(this.p.input + this.inputCap + 64));
    }
  }

  /**
   * Scans the lines of [start, end) of an open file; records the kernel cannot read go to `slow`, in order.
   * Returns the number of lines (the last line number).
   */
  scanLines(fd: number, start: number, end: number, slow: (item: RawItem) => void, progress: (bytesDone: number) => void): number {
    this.held = 0;
    this.heldOffset = start;
    this.nextLine = 1;
    let pos = start; // next file offset to read
    for (;;) {
      let final = pos >= end;
      if (!final && this.held < this.inputCap) {
        const want = Math.min(this.inputCap - this.held, end - pos);
        const n = readSync(fd, new Uint8Array(this.mem.buffer, this.p.input + this.held, want), 0, want, pos);
        if (n <= 0) final = true; // the file shrank while it was scanned: take what there is
        pos += n;
        this.held += n;
        if (pos >= end) final = true;
      }
      this.scanHeld(final, slow);
      if (final) break;
      if (this.held === this.inputCap && this.inputCap >= MAX_RECORD_BYTES) pos = this.skipLine(fd, pos, end, slow);
      progress(this.heldOffset - start);
    }
    this.drain();
    return this.nextLine - 1;
  }

  /**
   * The line held fills the largest input area and goes on at `pos`: it is over MAX_RECORD_BYTES. Reads on to its end
   * (its bytes not kept), reports it to `slow` as `oversize` and returns where the next line starts.
   */
  private skipLine(fd: number, pos: number, end: number, slow: (item: RawItem) => void): number {
    const area = new Uint8Array(this.mem.buffer, this.p.input, this.inputCap);
    let length = this.held;
    while (pos < end) {
      const n = readSync(fd, area, 0, Math.min(area.length, end - pos), pos);
      if (n <= 0) break;
      const nl = area.subarray(0, n).indexOf(0x0a);
      if (nl >= 0) {
        length += nl;
        pos += nl + 1;
        break;
      }
      length += n;
      pos += n;
    }
    slow({ line: this.nextLine, offset: this.heldOffset, bytes: Buffer.alloc(0), oversize: length });
    this.nextLine++;
    this.heldOffset = pos;
    this.held = 0;
    return pos;
  }

  /**
   * Scans the whole lines of [at, at + len) in kernel memory (the last one unfinished unless `final`), numbered from
   * nextLine, offsets from heldOffset; records the kernel cannot read go to `slow`, in order. Returns the bytes
   * consumed.
   */
  private scanAt(at: number, len: number, final: boolean, slow: (item: RawItem) => void): number {
    const k = this.k;
    let p = 0;
    for (;;) {
      const from = p;
      k.scan(at + from, len - from, final ? 1 : 0, this.nextLine, this.heldOffset + from);
      p += k.consumed.value as number;
      this.nextLine += k.lines.value as number;
      const stop = k.stop.value as number;
      if (stop === 1) {
        const s = from + (k.slowStart.value as number);
        slow({ line: k.slowLine.value as number, offset: this.heldOffset + s, bytes: Buffer.from(this.mem.buffer, at + s, k.slowLength.value as number) });
      } else if (stop === 2 || stop === 4) this.drain();
      else return p;
    }
  }

  /**
   * Scans rows of Parquet row groups held in this kernel's memory by a reader sharing the instance (SharedKernels;
   * parquet/rowLines.ts): `rows` for a row group whose texts the kernel reads where they lie, `lines` for a piece of
   * JSON Lines (scanned in place when it lies in this memory), `skip` for rows that could not be read; `end()` hands
   * over the last batch. Rows are numbered from 1; offsets are not bytes of anything (one per row, increasing).
   */
  rowStream(slow: (item: RawItem) => void): {
    rows(tables: RawTables, n: number, slowRow: (r: number) => Uint8Array | Promise<Uint8Array>): Promise<void>;
    lines(bytes: Uint8Array): void;
    skip(n: number): void;
    /** The next row's number (a range read out of order: RangeTask.parquet `claims`). */
    seek(line: number): void;
    end(): void;
  } {
    if (!this.shared) throw new Error('rowStream needs an instance shared with a Parquet reader');
    this.nextLine = 1;
    this.heldOffset = 0;
    const k = this.k;
    return {
      rows: async (t, n, slowRow) => {
        const base = this.heldOffset;
        for (let r = 0; r < n; ) {
          if ('conv' in t) k.scanRowsConv(t.conv, r, n, this.nextLine, base);
          else k.scanRows(t.prompt, t.chosen, t.rejected, r, n, this.nextLine, base);
          const done = k.lines.value as number;
          r += done;
          this.nextLine += done;
          const stop = k.stop.value as number;
          if (stop === 1) {
            const line = k.slowLine.value as number;
            const b = await slowRow(r - 1);
            slow({ line, offset: base + r - 1, bytes: Buffer.from(b.buffer, b.byteOffset, b.length) });
          } else if (stop === 2 || stop === 4) this.drain();
        }
        this.heldOffset = base + n;
      },
      lines: (bytes) => {
        const inPlace = bytes.buffer === this.mem.buffer;
        const at = inPlace ? bytes.byteOffset : this.alloc(bytes.length + 64)[0];
        if (!inPlace) new Uint8Array(this.mem.buffer, at, bytes.length).set(bytes);
        this.scanAt(at, bytes.length, true, slow);
        this.heldOffset += bytes.length;
      },
      skip: (n) => {
        this.nextLine += n;
        this.heldOffset += n;
      },
      seek: (line) => {
        this.nextLine = line;
        this.heldOffset = line - 1;
      },
      end: () => this.drain(),
    };
  }

  /**
   * Duplicate candidates of a range from its signature keys: sorted fingerprints of the keys (kept for the merge
   * across ranges; see merge.ts), and candidate flags for records whose record key repeats, or whose swapped
   * key is another record's key (and that other record).
   */
  candidates(sigR: Float64Array, sigS: Float64Array): { candidate: Uint8Array; sortedRecord: Uint32Array; sortedSwapped: Uint32Array } {
    const sortedRecord = this.sortedFingerprints(sigR);
    // A pair whose swapped key is its own record key (equal response signatures) would match itself; a second
    // record with that key shares it, so both are duplicate candidates anyway.
    const sortedSwapped = this.sortedFingerprints(sigS, sigR);
    const candidate = this.mark(sigR, sigS, this.repeated(sortedRecord), this.common(sortedSwapped, sortedRecord));
    return { candidate, sortedRecord, sortedSwapped };
  }

  /**
   * Exact keys of a record from its bytes (`format`: the FORMAT_NAMES index it was read in), or undefined when
   * the kernel does not read it that way.
   */
  /** Exact keys of row r of a row group's conversational tables (RawTables `conv`), or undefined when the kernel does not read it. */
  exactKeysConv(desc: number, r: number): RecordKeys | undefined {
    if (!this.k.exactKeysConvRow(desc, r)) return undefined;
    const k = new Float64Array(this.mem.buffer, this.k.exactResult(), 3);
    return { recordHash: k[0], pairKey: k[1], swappedKey: k[2] };
  }

  exactKeys(bytes: Uint8Array, format: number): RecordKeys | undefined {
    const at = bytes.length + 64 <= this.inputCap ? this.p.input : this.alloc(bytes.length + 64)[0];
    new Uint8Array(this.mem.buffer, at, bytes.length).set(bytes);
    if (!this.k.exactKeys(at, bytes.length, format)) return undefined;
    const r = new Float64Array(this.mem.buffer, this.k.exactResult(), 3);
    return { recordHash: r[0], pairKey: r[1], swappedKey: r[2] };
  }
}

/**
 * The indices of a's non-zero elements (ScanKernel.drain's flagged records), on its own so that V8 optimises this loop
 * alone: optimising drain with it took 4 to 11 ms a thread, with the sink's batch inlined.
 */
function nonZero(a: Uint32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push(i);
  return out;
}
