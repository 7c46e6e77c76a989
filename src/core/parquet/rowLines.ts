/**
 * A Parquet file's row groups in memory, as column tables of texts for the scan kernel (rawTables: a range's scan
 * kernel shares this reader's WebAssembly instance and reads the texts where they lie, with no JSON written), and as
 * JSON Lines bytes (docs/ARCHITECTURE.md, "Parquet"): line N holds row N as one compact
 * JSON object, null cells left out, keys in schema order. Text columns (flat BYTE_ARRAY, plain or UTF-8 annotated: the
 * prompts and responses that make up nearly all of a preference file) are decoded by the Parquet kernel
 * (src/wasm/parquetKernel.ts): the column chunk is read from disk into its memory, pages are decompressed there (Snappy
 * in WebAssembly; the other codecs natively or with hyparquet-compressors), PLAIN and dictionary values located, and
 * rows written with their texts escaped straight from their UTF-8 bytes, with no JavaScript string made. The other
 * columns (numbers, lists of messages, …) are decoded by hyparquet and written by jsonWriter.ts, then copied into the
 * rows, and so is a text column chunk whose pages use an encoding the kernel does not read (DELTA_*, …): the same
 * bytes, more slowly. A damaged page is a ParquetError naming the file, the row group and the column.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { CancelledError } from '../errors.js';
import type { RecordError } from '../types.js';
import { align, growMemory, kernelModule, SCAN_REGION, type SharedKernels } from '../kernels/module.js';
import { keyBytes, object, Out, value } from './jsonWriter.js';
import { decompressors, ParquetError, readRowGroupRaw, readRowGroupColumns, type ParquetFile } from './parquet.js';

interface ParquetKernel {
  memory: WebAssembly.Memory;
  written: WebAssembly.Global;
  heapBase(): number;
  snappy(src: number, srcLen: number, dst: number, dstLen: number, walk: number, out: number, maxN: number): number;
  walked: WebAssembly.Global;
  hybrid(src: number, srcLen: number, bitWidth: number, n: number, out: number): number;
  plainStrings(src: number, srcLen: number, n: number, out: number): number;
  lookup(idx: number, n: number, dict: number, dictN: number, out: number): number;
  spread(defs: number, n: number, maxDef: number, vals: number, nVals: number, out: number): number;
  countEqual(levels: number, n: number, v: number): number;
  rows(cols: number, ncols: number, from: number, to: number, out: number, cap: number): number;
  assembleStart(): void;
  assemble(reps: number, defs: number, n: number, vals: number, nVals: number, dList: number, dRep: number, dElem: number, dMax: number, rows: number, msgs: number, slot: number, first: number, maxRows: number, maxMsgs: number): number;
  assembledRows(): number;
  seekStart(out: number, cap: number): void;
  seekCount: WebAssembly.Global;
  snappyFrom(src: number, srcLen: number, ipOff: number, dst: number, dstLen: number, opOff: number, floorOff: number, until: number): number;
  seekIp: WebAssembly.Global;
  levelsCut(reps: number, defs: number, n: number, maxDef: number, rows: number): number;
  numbers(src: number, srcLen: number, type: number, idx: number, dictN: number, dictFlags: number, defs: number, n: number, vals: number, flags: number): number;
  cutPresent: WebAssembly.Global;
  cutRows: WebAssembly.Global;
}

/** Snappy's block: the reference compressor compresses each 64 KiB of a page on its own (parquetKernel.ts seekStart). */
const SEEK_BLOCK = 1 << 16;

/**
 * Where a Snappy page of PLAIN values of a list leaf can be decompressed from (recorded while a scan decodes the page
 * whole: RowGroupLines.seekPage): for each 64 KiB block j ≥ 1 of its output (index j − 1), the input offset of the
 * element that begins it (0xffffffff: none does), and the first value whose length begins in that block or later, with
 * that length's offset in the page (-1: none). The page's sizes and value count identify it.
 */
interface PageSeek {
  csize: number;
  usize: number;
  nv: number;
  ips: Uint32Array;
  firstValue: Int32Array;
  valueOff: Uint32Array;
}

/**
 * A page or encoding the kernel does not read: that column chunk is decoded by hyparquet instead (the whole row group,
 * for a column chunk kept in another file).
 */
class Unsupported extends Error {}

type PageHeader = import('hyparquet').PageHeader;
let headers: Promise<(reader: { view: DataView; offset: number }) => PageHeader> | null = null;
/** hyparquet's page header parser (Thrift compact protocol). */
function pageHeaderParser(): Promise<(reader: { view: DataView; offset: number }) => PageHeader> {
  headers ??= import('hyparquet/src/column.js').then((m) => m.parquetHeader);
  return headers;
}

const NULL_LEN = 0xffffffff;

/**
 * zlib, loaded when a page needs it (GZIP, BROTLI, ZSTD): most hub files are Snappy, and loading it cost each scan
 * thread about 1 ms of its start.
 */
let zlibLib: typeof import('node:zlib') | undefined;
const zlib = (): typeof import('node:zlib') => (zlibLib ??= require('node:zlib') as typeof import('node:zlib'));

/** Whether decompress() reads a codec without hyparquet-compressors: Snappy in the kernel, the others by zlib. */
const ownCodec = (codec: string): boolean => codec === 'UNCOMPRESSED' || codec === 'SNAPPY' || codec === 'GZIP' || codec === 'BROTLI' || (codec === 'ZSTD' && 'zstdDecompressSync' in zlib());

/**
 * Where a row group's texts are for the scan kernel (RowGroupLines.rawTables): the tables of (address, length) pairs
 * of its prompt (0: none), chosen and rejected string columns; or (`conv`) the address of the descriptor of its
 * conversational tables (scan/conv.ts scanRowsConv: list<struct<content, role>> columns and score columns).
 */
export type RawTables = { prompt: number; chosen: number; rejected: number } | { conv: number };

/**
 * One field of a list<struct> column's elements (a leaf of the column): its key, its leaf column chunk, its slot in a
 * message of the kernel's tables (parquetKernel.ts assemble), and the definition levels that mark a null list (below
 * dList), an empty one (dList), a null element (dRep, when elements are optional), a null field (dElem), a value (dMax).
 */
interface ListField {
  name: string;
  key: Buffer;
  leaf: number;
  slot: number;
  dList: number;
  dRep: number;
  dElem: number;
  dMax: number;
}

/**
 * A top-level column: its key, how it is decoded — 'text' (a flat string column) and 'list' (a list of structs of two
 * string fields, content and role: the hub's messages) by the kernel, 'json' by hyparquet — and where its column
 * chunks are (`leaf`: the first, in the row group's column order, which counts every leaf of nested columns).
 */
type Column = {
  name: string;
  key: Buffer;
  kind: 'text' | 'json' | 'list';
  optional: boolean;
  index: number;
  leaf: number;
  fields?: ListField[];
  /** A flat number column (numberLeaf): its physical type (numberColumn reads it for the score checks). */
  number?: NumberType;
};

type NumberType = 'DOUBLE' | 'FLOAT' | 'INT32' | 'INT64';
/** A number type's code for the kernel (parquetKernel.ts numbers) and its PLAIN width in bytes. */
const NUMBER_TYPES = new Map<NumberType, { code: number; width: number }>([
  ['DOUBLE', { code: 0, width: 8 }],
  ['FLOAT', { code: 1, width: 4 }],
  ['INT32', { code: 2, width: 4 }],
  ['INT64', { code: 3, width: 8 }],
]);

/**
 * The physical type of a flat number leaf (a score): DOUBLE or FLOAT with no logical type, INT32 or INT64 with none or
 * a signed integer one (hyparquet reads those as they are stored); else undefined.
 */
function numberLeaf(el: SchemaElement): NumberType | undefined {
  const t = el.type;
  if (el.num_children || el.repetition_type === 'REPEATED') return undefined;
  const annotated = el.converted_type !== undefined || el.logical_type !== undefined;
  if (t === 'DOUBLE' || t === 'FLOAT') return annotated ? undefined : t;
  if (t !== 'INT32' && t !== 'INT64') return undefined;
  const ct = el.converted_type;
  const lt = el.logical_type;
  const signed = (ct === undefined || ct === 'INT_8' || ct === 'INT_16' || ct === 'INT_32' || ct === 'INT_64') && (lt === undefined || (lt.type === 'INTEGER' && lt.isSigned));
  return signed ? t : undefined;
}

type SchemaElement = ParquetFile['metadata']['schema'][number];

/** A string leaf (BYTE_ARRAY that hyparquet would give as bytes or text), not repeated. */
function isTextLeaf(el: SchemaElement): boolean {
  return (
    !el.num_children &&
    el.type === 'BYTE_ARRAY' &&
    el.repetition_type !== 'REPEATED' &&
    (el.converted_type === undefined || el.converted_type === 'UTF8') &&
    (el.logical_type === undefined || el.logical_type.type === 'STRING')
  );
}

/**
 * The fields of a list<struct<content, role>> column written as the Parquet spec's three-level list (as pyarrow, DuckDB
 * and the hub's files write them), whose schema starts at `i`; null for any other shape.
 */
function listFields(schema: SchemaElement[], i: number, leaf: number): ListField[] | null {
  const col = schema[i];
  const list = schema[i + 1];
  const el = schema[i + 2];
  if (col.num_children !== 1 || (col.converted_type !== 'LIST' && col.logical_type?.type !== 'LIST') || col.repetition_type === 'REPEATED') return null;
  if (!list || list.repetition_type !== 'REPEATED' || list.num_children !== 1 || !el || el.num_children !== 2 || el.repetition_type === 'REPEATED') return null;
  const a = schema[i + 3];
  const b = schema[i + 4];
  if (!a || !b || !isTextLeaf(a) || !isTextLeaf(b)) return null;
  if ([a.name, b.name].sort().join(',') !== 'content,role') return null;
  const dList = col.repetition_type === 'OPTIONAL' ? 1 : 0;
  const dRep = dList + 1;
  const dElem = dRep + (el.repetition_type === 'OPTIONAL' ? 1 : 0);
  return [a, b].map((f, k) => ({ name: f.name, key: keyBytes(f.name), leaf: leaf + k, slot: f.name === 'content' ? 0 : 1, dList, dRep, dElem, dMax: dElem + (f.repetition_type === 'OPTIONAL' ? 1 : 0) }));
}

/** The top-level columns and how each is decoded (see Column). */
function columnsOf(pf: ParquetFile): Column[] {
  const schema = pf.metadata.schema;
  const out: Column[] = [];
  let i = 1;
  let leaf = 0;
  for (let c = 0; c < (schema[0].num_children ?? 0); c++) {
    const el = schema[i];
    const fields = el.num_children ? listFields(schema, i, leaf) : null;
    const number = numberLeaf(el);
    out.push({ name: el.name, key: keyBytes(el.name), kind: isTextLeaf(el) ? 'text' : fields ? 'list' : 'json', optional: el.repetition_type === 'OPTIONAL', index: c, leaf, ...(fields ? { fields } : {}), ...(number ? { number } : {}) });
    // skip the element and its descendants, counting the leaves
    let pending = 1;
    while (pending > 0) {
      const n = schema[i++].num_children ?? 0;
      if (n === 0) leaf++;
      pending += n - 1;
    }
  }
  return out;
}

/** Rows are written 1 MiB at a time: small enough to be scanned while they are still in the processor's cache. */
const OUT = 1 << 20;

/** Reads row groups of one Parquet file as JSON Lines, one row group at a time (see the module comment). */
export class RowGroupLines {
  private readonly k = new WebAssembly.Instance(kernelModule(), {}).exports as unknown as ParquetKernel;
  /** The arena starts after the room a scan kernel sharing the instance keeps (see shared()). */
  private readonly base = align(this.k.heapBase()) + SCAN_REGION;
  private top = this.base;
  private readonly fd: number;
  private readonly columns: Column[];
  /** The row group being read: its column descriptors and output, or the JavaScript path's bytes. */
  private cur: {
    g: number;
    rows: number;
    next: number;
    /** The descriptors for rows() (0 until every column is decoded: complete). */
    cols: number;
    out: number;
    cap: number;
    raw: RawTables | null;
    tables: number[];
    kinds: Column['kind'][];
    done: boolean[];
  } | null = null;
  private js: { bytes: Uint8Array; given: boolean; starts: number[] | null } | null = null;
  /** The row group decoded in memory (-1: none). */
  private loaded = -1;
  /** Column chunks decoded by hyparquet although they are text (a page or encoding the kernel does not read). */
  fallbacks = 0;
  /** Pages the kernel has decoded (dictionary and data pages). */
  pages = 0;
  /** Bytes of column chunks read from the file. */
  bytesRead = 0;
  /** First rows read again from whole column chunks (their prefixes did not hold them: loadFastByPrefix). */
  prefixRetries = 0;
  private codecs: Awaited<ReturnType<typeof decompressors>> = {};
  private codecsLoaded = false;
  private header: ((reader: { view: DataView; offset: number }) => PageHeader) | null = null;
  /**
   * While a sample is read (load with `first`): only a prefix of each large Snappy column chunk is read (readChunk), and
   * Snappy input is never read past it (`readEnd`); a sample that needs more is read again from whole chunks.
   */
  private prefixOnly = false;
  /** The end of what readChunk read of the column chunk being decoded. */
  private readEnd = 0;
  /** The column chunk readChunk read last: where it is in memory and in the file, and its whole length (readMore). */
  private chunkRead: { chunk: number; start: number; whole: number } | null = null;
  /**
   * Seek points of the Snappy pages of list leaves that a scan decoded whole, by `g/leaf/page` (see seekPage): a scan's
   * rows keyed again at its end (loadRows) decompress their pages from the block before them instead of from the
   * page's start. A few KiB per row group.
   */
  private readonly seeks = new Map<string, PageSeek>();
  /** While a scan decodes a row group whole: its pages' seek points are recorded. */
  private recordSeeks = false;
  /** While rows are keyed again (loadRows): the rows of the row group wanted (0-based). */
  private only: Set<number> | null = null;
  /** Pages read from their seek points (seekPage), for the tests. */
  seekPages = 0;

  constructor(private readonly pf: ParquetFile) {
    this.fd = openSync(pf.path, 'r');
    this.columns = columnsOf(pf);
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * The kernels' instance, for a scan kernel to share (scan/kernel.ts SharedKernels): it then scans the texts of a row
   * group where they lie (rawTables) and its lines in place.
   */
  shared(): SharedKernels {
    return { exports: this.k as unknown as WebAssembly.Exports, top: () => this.top };
  }

  /**
   * The row group read last as the scan kernel reads a Parquet row group in memory (scanKernel.ts scanRows): the
   * addresses of the tables of (address, length) pairs of its prompt (0: none), chosen and rejected columns, when the
   * file has exactly those columns (chosen and rejected, with or without prompt), all text decoded by the kernel; null
   * otherwise (its lines are then scanned as JSON).
   */
  rawTables(): RawTables | null {
    return this.cur?.raw ?? null;
  }

  private alloc(n: number): number {
    const r = this.top;
    this.top = align(this.top + n + 16);
    growMemory(this.k.memory, this.top);
    return r;
  }
  private get u8(): Uint8Array {
    return new Uint8Array(this.k.memory.buffer);
  }

  /**
   * Reads row group g; its lines then come from next(). Throws ParquetError for a row group that cannot be read. With
   * `first`, only its first rows are wanted (a sample; with `scan`, a scan's rows keyed again): a prefix of each large
   * Snappy column chunk is read first (loadFastByPrefix), a Snappy page of PLAIN values is decompressed only as far as
   * they go, later pages are not read, and the row group then holds those rows alone (a later load decodes it again).
   */
  load(g: number, first?: number, scan = false): Promise<void> {
    return this.loadAs(g, first, scan, undefined);
  }

  /**
   * A scan's rows keyed again (scan/parquetRange.ts, scanFile.ts keyAcrossRanges): rows `rows` (0-based) of row group
   * g, read as a scan's load of its first rows up to the last of them; a list leaf's page whose seek points this reader
   * recorded when a scan decoded the row group whole is decompressed only from the 64 KiB block before each of them
   * (seekPage), and the other rows' texts of that column are left empty: only the rows asked for may be read.
   */
  loadRows(g: number, rows: readonly number[]): Promise<void> {
    // (a loop, not Math.max(...rows): a row group of a million duplicates would pass too many arguments)
    let last = 0;
    for (const r of rows) last = Math.max(last, r);
    return this.loadAs(g, last + 1, true, rows);
  }

  /** load, and loadRows with `only`: the rows wanted. */
  private async loadAs(g: number, first: number | undefined, scan: boolean, only: readonly number[] | undefined): Promise<void> {
    if (g === this.loaded) {
      // read again from its first row (the format sample, then the scan): decoded once
      if (this.cur) this.cur.next = 0;
      if (this.js) this.js.given = false;
      if (!scan) await this.complete();
      return;
    }
    this.loaded = -1;
    this.cur = null;
    this.js = null;
    this.top = this.base;
    if (this.columns.every((c) => c.kind === 'json')) return this.loadJs(g);
    // hyparquet-compressors only for a row group with a codec not decompressed here (LZ4; ZSTD where zlib lacks it)
    if (!this.codecsLoaded && this.pf.metadata.row_groups[g].columns.some((c) => !ownCodec(c.meta_data?.codec ?? 'UNCOMPRESSED'))) {
      this.codecs = await decompressors();
      this.codecsLoaded = true;
    }
    this.header = await pageHeaderParser();
    // a scan's row group decoded whole records where its pages can be decompressed from; rows keyed again use them
    this.recordSeeks = scan && first === undefined;
    this.only = only ? new Set(only) : null;
    try {
      await this.loadFastByPrefix(g, first, scan);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      this.top = this.base;
      await this.loadJs(g);
    } finally {
      this.recordSeeks = false;
      this.only = null;
    }
  }

  /**
   * loadFast; the `first` rows (a sample, or rows keyed again) from prefixes of the column chunks first (a hub file's
   * chunk is often one page of megabytes, of which a format sample needs a few kilobytes), then, if they do not hold
   * them, from the whole chunks.
   */
  private async loadFastByPrefix(g: number, first: number | undefined, scan: boolean): Promise<void> {
    // (rows keyed again, `only`: as far as the last row too)
    if (first !== undefined && first >= 0 && (first < this.pf.rowGroups[g].rows || (this.only !== null && first === this.pf.rowGroups[g].rows))) {
      const { pages, fallbacks } = this;
      this.prefixOnly = true;
      try {
        return await this.loadFast(g, first, scan);
      } catch (e) {
        if (e instanceof Unsupported) throw e;
        // (a damaged chunk is said by the whole read)
        Object.assign(this, { pages, fallbacks, cur: null, top: this.base });
        this.prefixRetries++;
      } finally {
        this.prefixOnly = false;
      }
    }
    await this.loadFast(g, first, scan);
  }

  /** The next piece of the row group's lines (whole lines; a view valid until the next call), or null at its end. */
  next(): Uint8Array | null {
    if (this.js) {
      if (this.js.given) return null;
      this.js.given = true;
      return this.js.bytes;
    }
    const c = this.cur;
    if (!c || c.next >= c.rows) return null;
    if (!c.cols) throw new Error('the row group was read for a scan: complete() first');
    c.next += this.rowsAt(c, c.next, c.rows);
    return new Uint8Array(this.k.memory.buffer, c.out, this.k.written.value as number);
  }

  /** Writes rows from `from` (at least one) to the output area; returns how many. */
  private rowsAt(c: NonNullable<RowGroupLines['cur']>, from: number, to: number): number {
    let n = this.k.rows(c.cols, this.columns.length, from, to, c.out, c.cap);
    while (n === 0) {
      // a row larger than the output area: make room for it
      c.cap *= 4;
      c.out = this.alloc(c.cap);
      n = this.k.rows(c.cols, this.columns.length, from, to, c.out, c.cap);
    }
    return n;
  }

  /**
   * Row r (0-based) of the row group read last, as its JSON line without the newline (a copy): how duplicate candidates
   * are read again for their exact keys while their row group is in memory (scan/range.ts scanParquetRange).
   */
  line(r: number): Uint8Array {
    if (this.js) {
      const js = this.js;
      if (!js.starts) {
        js.starts = [0];
        for (let i = js.bytes.indexOf(0x0a); i >= 0; i = js.bytes.indexOf(0x0a, i + 1)) js.starts.push(i + 1);
      }
      if (r < 0 || r + 1 >= js.starts.length) throw new Error(`row ${r} is not in the row group read`);
      return js.bytes.slice(js.starts[r], js.starts[r + 1] - 1);
    }
    const c = this.cur;
    if (!c || r < 0 || r >= c.rows) throw new Error(`row ${r} is not in the row group read`);
    if (!c.cols) throw new Error('the row group was read for a scan: complete() first');
    this.rowsAt(c, r, r + 1);
    return new Uint8Array(this.k.memory.buffer, c.out, (this.k.written.value as number) - 1).slice();
  }

  private async loadJs(g: number): Promise<void> {
    const rows = await readRowGroupRaw(this.pf, g);
    const o = new Out();
    for (const r of rows) {
      object(o, r);
      o.ascii('\n');
    }
    this.js = { bytes: o.buf.subarray(0, o.pos), given: false, starts: null };
    this.loaded = g;
  }

  /**
   * The columns a scan of conversational rows needs (chosen, rejected, a prompt that is a list, the scores) when the
   * file's columns allow it (see convTables); null when every column is needed.
   */
  private scanColumns(): Set<number> | null {
    const at = (name: string): number => this.columns.findIndex((c) => c.name === name);
    const [p, c, r] = [at('prompt'), at('chosen'), at('rejected')];
    if (c < 0 || r < 0 || this.columns[c].kind !== 'list' || this.columns[r].kind !== 'list') return null;
    if (p >= 0 && this.columns[p].kind === 'json') return null;
    if (at('tools') >= 0 || at('chat_template_kwargs') >= 0) return null;
    // (the scores are read by convTables itself, as numbers)
    const need = new Set([c, r]);
    if (p >= 0 && this.columns[p].kind === 'list') need.add(p);
    return need;
  }

  private async loadFast(g: number, first?: number, scan = false): Promise<void> {
    const rows = this.pf.rowGroups[g].rows;
    // the rows decoded: all, or the first ones of a sample
    const want = first !== undefined && first >= 0 && first < rows ? first : rows;
    // a scan of conversational rows (or of their first rows: records keyed again, parquetRange.ts) decodes only the
    // columns it reads; the others when a row's JSON is asked for
    const need = scan ? this.scanColumns() : null;
    const tables = this.columns.map((c) => this.alloc(Math.max(32, rows * 8)));
    const kinds = this.columns.map((c) => c.kind);
    const done = this.columns.map(() => false);
    this.cur = { g, rows: want, next: 0, cols: 0, out: 0, cap: OUT, raw: null, tables, kinds, done };
    await this.decode(need);
    const cur = this.cur;
    // the texts for the scan kernel: exactly the columns chosen, rejected (and prompt), each decoded here
    const names = this.columns.map((c) => c.name).sort().join(',');
    if (names === 'chosen,rejected' || names === 'chosen,prompt,rejected') {
      const table = (name: string): number => {
        const i = this.columns.findIndex((c) => c.name === name);
        return kinds[i] === 'text' ? tables[i] : -1;
      };
      const t = { prompt: names.includes('prompt') ? table('prompt') : 0, chosen: table('chosen'), rejected: table('rejected') };
      if (t.prompt >= 0 && t.chosen >= 0 && t.rejected >= 0) cur.raw = t;
    }
    if (!cur.raw && this.scanColumns()) cur.raw = await this.convTables(g, kinds, tables, rows, want);
    if (!need) this.describe();
    // (rows keyed again hold only the rows wanted: never the row group read)
    this.loaded = want === rows && !this.only ? g : -1;
  }

  /**
   * Decodes every column of the row group read that `need` holds (null: every one) and is not decoded yet: text and
   * list columns by the kernel (a page it does not read: by hyparquet), the others by hyparquet, written as JSON.
   */
  private async decode(need: Set<number> | null): Promise<void> {
    const cur = this.cur;
    if (!cur) return;
    const { g, rows: want, tables, kinds, done } = cur;
    const rg = this.pf.metadata.row_groups[g];
    const rows = this.pf.rowGroups[g].rows;
    const todo = this.columns.map((_, i) => !done[i] && (!need || need.has(i)));
    const chunk = (leaf: number): NonNullable<(typeof rg.columns)[number]['meta_data']> => {
      const m = rg.columns[leaf]?.meta_data;
      if (!m || rg.columns[leaf].file_path) throw new Unsupported('column chunk in another file');
      return m;
    };
    // the compressed chunks of the kernel's columns pass through one scratch area (their decoded pages stay)
    let scratchSize = 0;
    this.columns.forEach((c, i) => {
      if (!todo[i]) return;
      const leaves = c.kind === 'text' ? [c.leaf] : c.kind === 'list' ? (c.fields ?? []).map((f) => f.leaf) : [];
      for (const leaf of leaves) if (chunk(leaf).codec !== 'UNCOMPRESSED') scratchSize = Math.max(scratchSize, Number(chunk(leaf).total_compressed_size));
    });
    const scratch = this.alloc(scratchSize);
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i];
      if (!todo[i] || kinds[i] === 'json') continue;
      try {
        if (c.kind === 'list') this.listColumn(c.fields ?? [], c.fields?.map((f) => chunk(f.leaf)) ?? [], rows, want, tables[i], scratch);
        else this.textColumn(c, chunk(c.leaf), rows, want, tables[i], scratch);
        done[i] = true;
      } catch (e) {
        if (!(e instanceof Unsupported)) throw new ParquetError(`${this.pf.path}: row group ${g + 1}, column ${c.name}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
        kinds[i] = 'json';
        this.fallbacks++;
      }
    }
    const other = this.columns.filter((c, i) => todo[i] && kinds[i] === 'json');
    if (other.length > 0) {
      const o = new Out();
      const at = other.map(() => new Float64Array(rows * 2));
      // flat number columns (scores) decoded here (numberColumn) and written as the JavaScript writer writes
      // hyparquet's values (jsonWriter.ts value: NaN and infinities as null); the others, and an INT64 column with a
      // value beyond 2^53 (written as text), by hyparquet
      const rest: number[] = [];
      other.forEach((c, j) => {
        const own = c.number ? this.numberColumn(c, g, rows, want) : null;
        const f = own ? new Uint8Array(this.k.memory.buffer, own.flags, want) : null;
        if (!own || !f || (c.number === 'INT64' && f.includes(2))) {
          rest.push(j);
          return;
        }
        const v = new Float64Array(this.k.memory.buffer, own.vals, want);
        for (let r = 0; r < want; r++) {
          if (f[r] === 0) {
            at[j][2 * r + 1] = NULL_LEN;
            continue;
          }
          const s = o.pos;
          o.ascii(f[r] === 1 ? String(v[r]) : 'null');
          at[j][2 * r] = s;
          at[j][2 * r + 1] = o.pos - s;
        }
      });
      const objs = rest.length > 0 ? await readRowGroupColumns(this.pf, g, rest.map((j) => other[j].name)) : [];
      for (let r = 0; r < want && rest.length > 0; r++) {
        const row = objs[r];
        for (const j of rest) {
          const v = row?.[other[j].name];
          if (v === null || v === undefined) {
            at[j][2 * r + 1] = NULL_LEN;
            continue;
          }
          const s = o.pos;
          value(o, v);
          at[j][2 * r] = s;
          at[j][2 * r + 1] = o.pos - s;
        }
      }
      const json = this.alloc(o.pos);
      this.u8.set(o.buf.subarray(0, o.pos), json);
      other.forEach((c, j) => {
        const t = new Uint32Array(this.k.memory.buffer, tables[this.columns.indexOf(c)], rows * 2);
        const a = at[j];
        for (let r = 0; r < want; r++) {
          t[2 * r] = json + a[2 * r];
          t[2 * r + 1] = a[2 * r + 1];
        }
        done[this.columns.indexOf(c)] = true;
      });
    }
  }

  /** The descriptors of the row group's columns for rows() (every column decoded), and its output area. */
  private describe(): void {
    const cur = this.cur;
    if (!cur) return;
    const keys = this.columns.map((c) => {
      const p = this.alloc(c.key.length);
      this.u8.set(c.key, p);
      return p;
    });
    const cols = this.alloc(this.columns.length * 16);
    const d = new Uint32Array(this.k.memory.buffer, cols, this.columns.length * 4);
    this.columns.forEach((c, i) => {
      d.set([keys[i], c.key.length, cur.kinds[i] === 'text' ? 0 : cur.kinds[i] === 'list' ? 2 : 1, cur.tables[i]], i * 4);
    });
    cur.out = this.alloc(OUT);
    cur.cap = OUT;
    cur.cols = cols;
  }

  /**
   * Decodes the columns a scan left out (see load's `scan`), so that the row group's rows can be written as JSON
   * (next, line): for the rows the scan kernel hands back, and for exact keys it does not compute itself.
   */
  async complete(): Promise<void> {
    const cur = this.cur;
    if (!cur || cur.cols || this.js) return;
    await this.decode(null);
    this.describe();
  }

  /**
   * A v2 data page's definition levels of a flat column (bit width 1; repetition levels are refused), stored
   * uncompressed before its values: decoded for an optional column. Returns their address (0: a required column) and
   * their byte length (where the values begin). textColumn and numberColumn read pages with it.
   */
  private v2FlatLevels(v2: NonNullable<PageHeader['data_page_header_v2']>, data: number, csize: number, nv: number, optional: boolean): { defs: number; dl: number } {
    if (v2.repetition_levels_byte_length > 0) throw new Unsupported('repetition levels');
    const dl = Math.max(0, v2.definition_levels_byte_length);
    if (dl > csize) throw new Error('definition levels out of bounds');
    let defs = 0;
    if (optional) {
      defs = this.alloc(nv * 4);
      if (!this.k.hybrid(data, dl, 1, nv, defs)) throw new Error('damaged definition levels');
    }
    return { defs, dl };
  }

  /**
   * A v1 data page's definition levels of an optional flat column (bit width 1), at the start of the decompressed page
   * (`size` bytes at `page`) after their u32 length: decoded. Returns their address and where the values begin.
   */
  private v1FlatLevels(h: PageHeader, page: number, size: number, nv: number): { defs: number; vals: number; valsLen: number } {
    if (h.data_page_header?.definition_level_encoding !== 'RLE') throw new Unsupported('definition level encoding');
    if (size < 4) throw new Error('damaged definition levels');
    const dl = new DataView(this.k.memory.buffer).getUint32(page, true);
    if (dl > size - 4) throw new Error('definition levels out of bounds');
    const defs = this.alloc(nv * 4);
    if (!this.k.hybrid(page + 4, dl, 1, nv, defs)) throw new Error('damaged definition levels');
    return { defs, vals: page + 4 + dl, valsLen: size - 4 - dl };
  }

  /**
   * Decodes a text column chunk into (address, length) pairs of its rows at `table` (room for `rows`): at least its
   * first `want` rows (see load).
   */
  private textColumn(
    c: Column,
    meta: ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data'] & object,
    rows: number,
    want: number,
    table: number,
    scratch: number,
  ): void {
    const codec = meta.codec;
    const { chunk, end, start } = this.readChunk(meta, scratch);
    let p = chunk;
    let done = 0;
    let dict = { at: 0, n: 0 };
    const k = this.k;
    while (done < want) {
      if (p >= end) throw new Error(`the column chunk ends after ${done} of ${rows} rows`);
      const { h, data, next } = this.pageAt(p, chunk, end, start);
      p = next;
      const usize = h.uncompressed_page_size;
      const csize = h.compressed_page_size;
      if (h.type === 'DICTIONARY_PAGE') {
        dict = this.dictionaryPage(codec, h, data);
        continue;
      }
      const dp = this.dataPage(h);
      if (!dp) continue; // index pages
      const { v2, nv, enc } = dp;
      if (!(nv >= 0) || done + nv > rows) throw new Error(`a data page holds more values than the row group has rows`);
      if (enc !== 'PLAIN' && enc !== 'PLAIN_DICTIONARY' && enc !== 'RLE_DICTIONARY') throw new Unsupported(`encoding ${enc}`);
      // definition levels (bit width 1: a top-level optional column), then values
      let defs = 0;
      let vals: number;
      let valsLen: number;
      // PLAIN values are located while a Snappy page is decompressed (the kernel's `walk`): into the table for a
      // required column, else into `located`, before the nulls are spread
      const walk = enc === 'PLAIN' && codec === 'SNAPPY';
      // a sample's last page: only its first `here` rows, their values located and decompressed, and no further
      const cut = walk && want - done < nv;
      const here = cut ? want - done : nv;
      const early = cut ? 4 : 0;
      let located = 0;
      if (v2) {
        let dl: number;
        ({ defs, dl } = this.v2FlatLevels(v2, data, csize, nv, c.optional));
        valsLen = usize - dl;
        const compressed = v2.is_compressed !== false;
        located = walk && compressed ? (defs ? this.alloc(nv * 8) : table + done * 8) : 0;
        vals = compressed ? this.decompress(codec, data + dl, csize - dl, valsLen, located ? 1 | early : 0, located, here) : this.kept(codec, data + dl, valsLen);
      } else {
        located = walk ? (c.optional ? this.alloc(nv * 8) : table + done * 8) : 0;
        const page = this.decompress(codec, data, csize, usize, located ? (c.optional ? 2 : 1) | early : 0, located, here);
        vals = page;
        valsLen = usize;
        if (c.optional) ({ defs, vals, valsLen } = this.v1FlatLevels(h, page, usize, nv));
      }
      // the values of the page's first `here` rows (all of them but in a sample's last page)
      const present = defs ? k.countEqual(defs, here, 1) : here;
      // values located during decompression are used when they are exactly the page's (at least those wanted, in a
      // sample's last page); else PLAIN values are read here
      const walked = k.walked.value as number;
      const ready = located !== 0 && (cut ? walked >= present : walked === present);
      const dest = ready ? located : defs ? this.alloc(present * 8) : table + done * 8;
      if (enc === 'PLAIN') {
        if (!ready && k.plainStrings(vals, valsLen, present, dest) < 0) throw new Error('damaged data page');
      } else this.dictionaryValues(vals, valsLen, present, dict, dest);
      if (defs && !k.spread(defs, here, 1, dest, present, table + done * 8)) throw new Error('damaged definition levels');
      done += here;
    }
  }

  /**
   * The conversational tables of the row group read (RawTables `conv`): when chosen and rejected are list<struct<
   * content, role>> columns the kernel decoded, the prompt such a list too, a string (which the reading ignores) or
   * absent, and no column that changes how TRL reads a record (tools, chat_template_kwargs); score_chosen and
   * score_rejected from hyparquet's values. Null otherwise.
   */
  private async convTables(g: number, kinds: Column['kind'][], tables: number[], rows: number, want: number): Promise<RawTables | null> {
    const at = (name: string): number => this.columns.findIndex((c) => c.name === name);
    const [p, c, r] = [at('prompt'), at('chosen'), at('rejected')];
    if (c < 0 || r < 0 || kinds[c] !== 'list' || kinds[r] !== 'list') return null;
    if (p >= 0 && kinds[p] !== 'list' && kinds[p] !== 'text') return null;
    if (at('tools') >= 0 || at('chat_template_kwargs') >= 0) return null;
    // scores: a flat number column decoded here (numberColumn), any other kind of column by hyparquet; a column of
    // texts (scores written as strings) leaves the row group to the rows' JSON, where each such score sends its
    // record to the exact path
    const scoreCols = [at('score_chosen'), at('score_rejected')];
    if (scoreCols.some((i) => i >= 0 && kinds[i] !== 'json')) return null;
    const decoded = scoreCols.map((i) => (i >= 0 && kinds[i] === 'json' ? this.numberColumn(this.columns[i], g, rows, want) : null));
    const scores = scoreCols.filter((i, k) => i >= 0 && kinds[i] === 'json' && !decoded[k]).map((i) => this.columns[i].name);
    const objs = scores.length ? await readRowGroupColumns(this.pf, g, scores) : [];
    const u32 = (addr: number, n: number): Uint32Array => new Uint32Array(this.k.memory.buffer, addr, n);
    const desc = this.alloc(44);
    // the descriptor's words, written once every table is placed (an allocation may grow the memory: views detach)
    const d = new Uint32Array(11);
    const lists = (i: number, slot: number): void => {
      const h = u32(tables[i], 2);
      d[1 + 2 * slot] = h[0];
      d[2 + 2 * slot] = h[1];
    };
    if (p >= 0 && kinds[p] === 'list') {
      d[0] = 1;
      lists(p, 0);
    }
    lists(c, 1);
    lists(r, 2);
    // scores: a number (a bigint that is an exact number), none (null), or what the exact path reads (a string…)
    scoreCols.forEach((i, k) => {
      if (i < 0) return;
      const own = decoded[k];
      if (own) {
        d[7 + 2 * k] = own.vals;
        d[8 + 2 * k] = own.flags;
        return;
      }
      const name = this.columns[i].name;
      const vals = this.alloc(rows * 8);
      const flags = this.alloc(rows);
      const v = new Float64Array(this.k.memory.buffer, vals, rows);
      const f = new Uint8Array(this.k.memory.buffer, flags, rows);
      for (let row = 0; row < want; row++) {
        const x = objs[row]?.[name];
        const n = typeof x === 'bigint' && Number.isSafeInteger(Number(x)) ? Number(x) : x;
        if (x === null || x === undefined) f[row] = 0;
        else if (typeof n === 'number' && Number.isFinite(n)) {
          f[row] = 1;
          v[row] = n;
        } else f[row] = 2;
      }
      d[7 + 2 * k] = vals;
      d[8 + 2 * k] = flags;
    });
    u32(desc, 11).set(d);
    return { conv: desc };
  }

  /**
   * A flat number column of the row group read (`c.number`: DOUBLE, FLOAT, or a signed INT32 or INT64, as the hub's
   * score columns are), decoded here for the score checks: its first `want` rows as f64 values at `vals` and
   * flags at `flags` (0 null, 1 a finite number, 2 anything else: NaN, ±Infinity, an INT64 beyond 2^53, which the
   * exact path reads), as convTables gives hyparquet's values. PLAIN and dictionary pages, v1 and v2, any codec the
   * reader decompresses. Null when the column is not such a column, or its pages are encoded otherwise (hyparquet
   * reads it then).
   */
  private numberColumn(c: Column, g: number, rows: number, want: number): { vals: number; flags: number } | null {
    const type = c.number ? NUMBER_TYPES.get(c.number) : undefined;
    const meta = this.pf.metadata.row_groups[g].columns[c.leaf]?.meta_data;
    if (!type || !meta || this.pf.metadata.row_groups[g].columns[c.leaf].file_path) return null;
    const k = this.k;
    const mark = this.top;
    const vals = this.alloc(Math.max(1, rows) * 8);
    const flags = this.alloc(Math.max(1, rows));
    try {
      const scratch = meta.codec === 'UNCOMPRESSED' ? 0 : this.alloc(Number(meta.total_compressed_size));
      const { chunk, end, start } = this.readChunk(meta, scratch);
      let p = chunk;
      let done = 0;
      // the dictionary, decoded by the kernel: its values and their flags
      let dict: { vals: number; flags: number; n: number } | null = null;
      // (the values are read by the kernel, not in a loop here: such a loop, run for every row, had V8 optimise this
      // whole function on each thread, 25 to 40 ms of compilation each time, on the two cores the scan shares)
      while (done < want) {
        if (p >= end) throw new Error(`the column chunk ends after ${done} of ${want} rows`);
        const { h, data, next } = this.pageAt(p, chunk, end, start);
        p = next;
        if (h.type === 'DICTIONARY_PAGE') {
          const dh = h.dictionary_page_header;
          if (!dh || (dh.encoding !== 'PLAIN' && dh.encoding !== 'PLAIN_DICTIONARY')) throw new Unsupported(`dictionary encoding ${dh?.encoding}`);
          const page = this.decompress(meta.codec, data, h.compressed_page_size, h.uncompressed_page_size);
          const n = Math.max(0, dh.num_values);
          // (a count the page cannot hold is refused before room is made for it)
          if (n * type.width > h.uncompressed_page_size) throw new Error('damaged dictionary page');
          dict = { vals: this.alloc(Math.max(1, n) * 8), flags: this.alloc(Math.max(1, n)), n };
          if (!k.numbers(page, h.uncompressed_page_size, type.code, 0, 0, 0, 0, n, dict.vals, dict.flags)) throw new Error('damaged dictionary page');
          continue;
        }
        const dp = this.dataPage(h);
        if (!dp) continue;
        const { v2, nv, enc } = dp;
        if (enc !== 'PLAIN' && enc !== 'PLAIN_DICTIONARY' && enc !== 'RLE_DICTIONARY') throw new Unsupported(`encoding ${enc}`);
        if (!(nv >= 0)) throw new Error('damaged data page');
        let page: number;
        let size: number;
        let defs = 0;
        if (v2) {
          let dl: number;
          ({ defs, dl } = this.v2FlatLevels(v2, data, h.compressed_page_size, nv, c.optional));
          size = h.uncompressed_page_size - dl;
          page = v2.is_compressed !== false ? this.decompress(meta.codec, data + dl, h.compressed_page_size - dl, size) : this.kept(meta.codec, data + dl, size);
        } else {
          page = this.decompress(meta.codec, data, h.compressed_page_size, h.uncompressed_page_size);
          size = h.uncompressed_page_size;
          if (c.optional) ({ defs, vals: page, valsLen: size } = this.v1FlatLevels(h, page, size, nv));
        }
        // the values of the page's first `here` rows
        const here = Math.min(nv, want - done);
        if (enc === 'PLAIN') {
          if (!k.numbers(page, size, type.code, 0, 0, 0, defs, here, vals + done * 8, flags + done)) throw new Error('damaged data page');
        } else {
          if (!dict) throw new Error('dictionary-encoded page without a dictionary');
          const present = defs ? k.countEqual(defs, here, 1) : here;
          const bw = size >= 1 ? this.u8[page] : 99;
          if (bw > 32) throw new Error('damaged data page');
          const idx = this.alloc(Math.max(1, present) * 4);
          if (present > 0 && !k.hybrid(page + 1, size - 1, bw, present, idx)) throw new Error('damaged dictionary indices');
          if (!k.numbers(dict.vals, dict.n * 8, type.code, idx, dict.n, dict.flags, defs, here, vals + done * 8, flags + done)) throw new Error('dictionary index out of range');
        }
        done += here;
      }
      return { vals, flags };
    } catch (e) {
      if (e instanceof Unsupported) {
        this.top = mark;
        return null;
      }
      throw new ParquetError(`${this.pf.path}: row group ${g + 1}, column ${c.name}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /**
   * Decodes the two leaves of a list<struct<content, role>> column into the kernel's tables (parquetKernel.ts assemble):
   * per row its first message and count, per message its fields' (address, length) pairs; writes the column's
   * descriptor for rows() at `header`. Only the first `want` rows when fewer than `rows` (a sample: see leafPages).
   */
  private listColumn(
    fields: ListField[],
    metas: Array<NonNullable<ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data']>>,
    rows: number,
    want: number,
    header: number,
    scratch: number,
  ): void {
    const k = this.k;
    const maxMsgs = Number(metas[0].num_values);
    const rowsT = this.alloc(rows * 8);
    const msgsT = this.alloc(maxMsgs * 16);
    fields.forEach((f, i) => {
      k.assembleStart();
      this.leafPages(metas[i], f.leaf, f.dMax, want < rows || this.only ? want : -1, rows, scratch, (reps, defs, nv, vals, present) => {
        const r = k.assemble(reps, defs, nv, vals, present, f.dList, f.dRep, f.dElem, f.dMax, rowsT, msgsT, f.slot, i === 0 ? 1 : 0, rows, maxMsgs);
        if (r === 0) throw new Error(`field ${f.name}: damaged repetition or definition levels`);
        if (r - 1 !== present) throw new Error(`field ${f.name}: ${present} values, ${r - 1} placed`);
      });
      const got = k.assembledRows();
      if (got !== rows && !(want < rows && got === want)) throw new Error(`field ${f.name}: ${got} rows, not ${rows}`);
    });
    const keys = fields.map((f) => {
      const p = this.alloc(f.key.length);
      this.u8.set(f.key, p);
      return p;
    });
    new Uint32Array(k.memory.buffer, header, 8).set([rowsT, msgsT, keys[0], fields[0].key.length, fields[0].slot, keys[1], fields[1].key.length, fields[1].slot]);
  }

  /**
   * The data pages of one leaf column chunk of strings in a list (repetition levels of bit width 1) with definition
   * levels: for each page, `visit` gets the addresses of its levels (u32 each), their count, and the (address, length)
   * pairs of its values (the levels equal to maxDef). PLAIN and dictionary pages, v1 and v2. With `want` ≥ 0, only the
   * levels and values of the first `want` rows (a sample): the pages after them are not read, and the page where they
   * end is decompressed only as far as they need (Snappy, PLAIN values: see samplePage).
   */
  private leafPages(
    meta: NonNullable<ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data']>,
    leaf: number,
    maxDef: number,
    want: number,
    rows: number,
    scratch: number,
    visit: (reps: number, defs: number, n: number, vals: number, present: number) => void,
  ): void {
    const k = this.k;
    // (rows keyed again: a prefix of the chunk, then what each page needs, read as it is reached)
    const { chunk, end, start } = this.readChunk(meta, scratch, true);
    const codec = meta.codec;
    const total = Number(meta.num_values);
    const defWidth = 32 - Math.clz32(maxDef);
    let p = chunk;
    let seen = 0;
    let rowsSeen = 0; // rows begun in the pages read (levels of repetition 0)
    let dict = { at: 0, n: 0 };
    let ordinal = -1; // the data page's number in the chunk (seeks)
    while (seen < total && (want < 0 || rowsSeen <= want)) {
      if (p >= end) throw new Error(`the column chunk ends after ${seen} of ${total} values`);
      if (this.only) this.readMore(p + 4096); // (the page's header)
      const { h, data, next } = this.pageAt(p, chunk, end, start);
      p = next;
      const usize = h.uncompressed_page_size;
      const csize = h.compressed_page_size;
      if (h.type === 'DICTIONARY_PAGE') {
        if (this.only) this.readMore(next);
        dict = this.dictionaryPage(codec, h, data);
        continue;
      }
      const dp = this.dataPage(h);
      if (!dp) continue;
      const { v2, nv, enc } = dp;
      ordinal++;
      if (!(nv >= 0) || seen + nv > total) throw new Error('a data page holds more values than its column chunk');
      if (enc !== 'PLAIN' && enc !== 'PLAIN_DICTIONARY' && enc !== 'RLE_DICTIONARY') throw new Unsupported(`encoding ${enc}`);
      const reps = this.alloc(nv * 4);
      const defs = this.alloc(nv * 4);
      // a sample's page of PLAIN Snappy values: decompressed as far as the rows wanted need (samplePage)
      const sampled = want >= 0 && enc === 'PLAIN' && codec === 'SNAPPY' && (!v2 || v2.is_compressed !== false);
      // rows keyed again: a page the scan recorded seek points for is read from them (seekPage), any other whole
      const key = `${this.cur?.g ?? -1}/${leaf}/${ordinal}`;
      const seek = sampled && !v2 && this.only ? this.seeks.get(key) : undefined;
      const seekable = seek !== undefined && seek.csize === csize && seek.usize === usize && seek.nv === nv;
      if (this.only && !seekable) this.readMore(next);
      /** v1: the repetition levels, then the definition levels, each after its u32 length; returns where the values begin. */
      const levelsOf = (at: number, end: number): number => {
        if (h.data_page_header?.definition_level_encoding !== 'RLE' || h.data_page_header?.repetition_level_encoding !== 'RLE') throw new Unsupported('level encoding');
        const view = new DataView(k.memory.buffer);
        for (const [levels, width] of [[reps, 1], [defs, defWidth]] as const) {
          if (at + 4 > end) throw new Error('damaged levels');
          const len = view.getUint32(at, true);
          if (len > end - at - 4) throw new Error('levels out of bounds');
          if (!k.hybrid(at + 4, len, width, nv, levels)) throw new Error('damaged levels');
          at += 4 + len;
        }
        return at;
      };
      let vals: number;
      let valsLen: number;
      let rl = 0;
      let dl = 0;
      let seekAt: { points: number; n: number; page: number } | null = null;
      if (v2) {
        rl = Math.max(0, v2.repetition_levels_byte_length);
        dl = Math.max(0, v2.definition_levels_byte_length);
        if (rl + dl > csize) throw new Error('levels out of bounds');
        if (!k.hybrid(data, rl, 1, nv, reps)) throw new Error('damaged repetition levels');
        if (!k.hybrid(data + rl, dl, defWidth, nv, defs)) throw new Error('damaged definition levels');
        valsLen = usize - rl - dl;
        vals = sampled ? 0 : v2.is_compressed !== false ? this.decompress(codec, data + rl + dl, csize - rl - dl, valsLen) : this.kept(codec, data + rl + dl, valsLen);
      } else if (sampled) {
        vals = 0;
        valsLen = 0;
      } else {
        // (a scan's page of PLAIN Snappy values larger than two blocks: its seek points recorded)
        const record = this.recordSeeks && codec === 'SNAPPY' && enc === 'PLAIN' && usize > 2 * SEEK_BLOCK;
        const cap = record ? Math.floor(usize / SEEK_BLOCK) : 0;
        const points = record ? this.alloc(cap * 4) : 0;
        if (record) k.seekStart(points, cap);
        let page: number;
        try {
          page = this.decompress(codec, data, csize, usize);
          if (record) seekAt = { points, n: k.seekCount.value as number, page };
        } finally {
          if (record) k.seekStart(0, 0);
        }
        vals = levelsOf(page, page + usize);
        valsLen = page + usize - vals;
      }
      let cut = nv; // the levels of the rows wanted (all in a whole read)
      let present = 0;
      let begun = 0; // rows begun in levels [0, cut) (counted for a sample only)
      const count = (): void => {
        cut = nv;
        present = 0;
        begun = 0;
        if (want < 0) present = k.countEqual(defs, nv, maxDef);
        else {
          // the levels up to where row `want` begins
          cut = k.levelsCut(reps, defs, nv, maxDef, want - rowsSeen);
          present = k.cutPresent.value as number;
          begun = k.cutRows.value as number;
        }
      };
      let dest: number;
      const sought = seek && seekable ? this.seekPage(data, csize, usize, seek, levelsOf, count, () => ({ cut, present }), reps, defs, maxDef, rowsSeen, want) : null;
      // (a page its seek points could not read: read whole, then from its start)
      if (seekable && sought === null) this.readMore(next);
      if (sought !== null) dest = sought;
      else if (sampled) {
        dest = this.samplePage(data, csize, usize, v2 ? rl + dl : -1, v2 ? null : levelsOf, count, () => present, ((want - rowsSeen) * total) / Math.max(1, nv * rows));
      } else {
        count();
        dest = this.alloc(present * 8);
        if (enc === 'PLAIN') {
          if (k.plainStrings(vals, valsLen, present, dest) < 0) throw new Error('damaged data page');
        } else this.dictionaryValues(vals, valsLen, present, dict, dest);
        if (seekAt) this.keepSeeks(key, csize, usize, nv, seekAt, dest, present);
      }
      visit(reps, defs, cut, dest, present);
      rowsSeen += begun;
      if (cut < nv) break;
      seen += nv;
    }
  }

  /**
   * Keeps the seek points of a page a scan decoded whole (`at`: the points snappy() recorded, at `points`, and the page's
   * output, at `page`), with, for each block, its first value found among the page's `present` value pairs at `dest`
   * (their lengths lie 4 bytes before them, in increasing order).
   */
  private keepSeeks(key: string, csize: number, usize: number, nv: number, at: { points: number; n: number; page: number }, dest: number, present: number): void {
    const mem = this.k.memory.buffer;
    const ips = new Uint32Array(mem, at.points, at.n).slice();
    const pairs = new Uint32Array(mem, dest, present * 2);
    const firstValue = new Int32Array(at.n).fill(-1);
    const valueOff = new Uint32Array(at.n);
    for (let j = 0; j < at.n; j++) {
      const b = at.page + (j + 1) * SEEK_BLOCK;
      // the first value whose length begins at b or later
      let lo = 0;
      let hi = present;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pairs[2 * mid] - 4 < b) lo = mid + 1;
        else hi = mid;
      }
      if (lo < present) {
        firstValue[j] = lo;
        valueOff[j] = pairs[2 * lo] - 4 - at.page;
      }
    }
    this.seeks.set(key, { csize, usize, nv, ips, firstValue, valueOff });
  }

  /** Reads more of the column chunk readChunk read a prefix of, as far as address `upTo` (its end at most). */
  private readMore(upTo: number): void {
    this.readEnd = Math.max(this.readEnd, this.readAt(this.readEnd, upTo));
  }

  /**
   * Reads bytes [from, to) of the column chunk readChunk read last (addresses where it lies in memory; its end at
   * most) into their places; returns where they end.
   */
  private readAt(from: number, to: number): number {
    const c = this.chunkRead;
    if (!c) return from;
    const end = Math.min(to, c.chunk + c.whole);
    let at = from;
    while (at < end) {
      const n = readSync(this.fd, new Uint8Array(this.k.memory.buffer, at, end - at), 0, end - at, c.start + (at - c.chunk));
      if (n <= 0) throw new Error(`the file ends inside the column chunk (byte ${c.start + (at - c.chunk)})`);
      at += n;
      this.bytesRead += n;
    }
    return at;
  }

  /**
   * The values of the rows keyed again (`only`, of the first `want` that `count` counts) in a v1 Snappy page of PLAIN
   * values of a list leaf, read from the seek points a scan recorded (`seek`, keepSeeks): the levels from a prefix of
   * the page (64 KiB, then 4× more), then each row's values from the block before them, the rest of the page not
   * decompressed; the other values' pairs are (0, 0) (only those rows are read: their keys). Null when the page cannot
   * be read so (no seek point before a row's values, a copy that reaches into an earlier block, damage): samplePage
   * reads it then, from the page's start.
   */
  private seekPage(
    data: number,
    csize: number,
    usize: number,
    seek: PageSeek,
    levelsOf: (at: number, end: number) => number,
    count: () => void,
    counted: () => { cut: number; present: number },
    reps: number,
    defs: number,
    maxDef: number,
    rowsSeen: number,
    want: number,
  ): number | null {
    const k = this.k;
    const only = this.only;
    if (!only) return null;
    const mark = this.top;
    const dst = this.alloc(usize);
    const input = (): number => Math.min(csize, this.readEnd - data);
    // the page's input read past the prefix for a seek: [winFrom, winTo) (offsets from data); returns where what can be
    // read from `from` on ends, once [from, to) is read
    let winFrom = 0;
    let winTo = 0;
    const ensure = (from: number, to: number): number => {
      const upTo = Math.min(csize, to);
      if (from <= input()) {
        this.readMore(data + upTo);
        return input();
      }
      if (from < winFrom || from > winTo) winFrom = winTo = from;
      if (upTo > winTo) winTo = this.readAt(data + winTo, data + upTo) - data;
      return winTo;
    };
    try {
      // the levels, from the page's start
      let valsOff = -1; // where the values begin (their first length), from dst
      for (let prefix = SEEK_BLOCK; prefix < usize && valsOff < 0; prefix *= 4) {
        this.readMore(data + Math.min(csize, Math.ceil(prefix * 1.1) + 64));
        if (k.snappy(data, input(), dst, usize, 8, 0, prefix) === 0) return null;
        try {
          valsOff = levelsOf(dst, dst + (k.walked.value as number)) - dst;
        } catch {
          // levels past the prefix: a longer one
        }
      }
      if (valsOff < 0) return null;
      // the page's first element, after the varint of its decoded length: the seek point of its first block
      let preamble = 1;
      while (preamble < 5 && this.u8[data + preamble - 1] & 0x80) preamble++;
      count();
      const { cut, present } = counted();
      // the values of each row wanted, [a, b): those before its first level, and before the next row's (a row the
      // page goes on with, rowsSeen − 1, from the page's first level)
      const valuesBefore = (row: number): number => {
        if (row < rowsSeen) return 0;
        k.levelsCut(reps, defs, cut, maxDef, row - rowsSeen);
        return k.cutPresent.value as number;
      };
      const ranges: Array<[number, number]> = [];
      for (const row of only) if (row >= rowsSeen - 1 && row < want) ranges.push([valuesBefore(row), valuesBefore(row + 1)]);
      ranges.sort((x, y) => x[0] - y[0]);
      const dest = this.alloc(present * 8);
      this.u8.fill(0, dest, dest + present * 8);
      // the output decompressed so far, in one stretch from a seek point: [floor, op), its input going on at ip
      let seg: { floor: number; ip: number; op: number } | null = null;
      for (const [a, b] of ranges) {
        if (b <= a) continue;
        // the last block whose first value is a or before, with a seek point (the page's first block: its start)
        let at = { start: 0, ip: preamble, first: 0, off: valsOff };
        for (let x = 0; x < seek.ips.length; x++)
          if (seek.ips[x] !== 0xffffffff && seek.firstValue[x] >= 0 && seek.firstValue[x] <= a) at = { start: (x + 1) * SEEK_BLOCK, ip: seek.ips[x], first: seek.firstValue[x], off: seek.valueOff[x] };
        // the stretch decompressed goes on if it holds that block's start; else a new one from its point
        if (!seg || at.start < seg.floor || at.start > seg.op) seg = { floor: at.start, ip: at.ip, op: at.start };
        // values [first, b) located from the block's first, decompressing a block more until they are all out
        while (k.plainStrings(dst + at.off, seg.op - at.off, b - at.first, dest + at.first * 8) < 0) {
          if (seg.op >= usize) return null;
          const readable = ensure(seg.ip, seg.ip + 2 * SEEK_BLOCK + 64);
          const reached = k.snappyFrom(data, readable, seg.ip, dst, usize, seg.op, seg.floor, seg.op + SEEK_BLOCK);
          if (reached < 0 || (reached === seg.op && readable >= csize)) return null;
          seg.ip = k.seekIp.value as number;
          seg.op = reached;
        }
      }
      this.seekPages++;
      return dest;
    } catch {
      this.top = mark;
      return null;
    }
  }

  /**
   * The PLAIN values of a sample's rows in one Snappy page of a list leaf (leafPages), decompressed only as far as they
   * need: a prefix of 64 KiB, then ones of 4× the size until the levels (v1: `levelsOf` reads them from the prefix and
   * says where the values begin;
   * v2: `levels` ≥ 0, the byte length of the levels stored before the compressed values, already read) and the
   * `present()` values that `count` finds for the rows wanted lie inside it; the whole page at most, where damage is an
   * error. Returns the address of their (address, length) pairs.
   */
  private samplePage(
    data: number,
    csize: number,
    usize: number,
    levels: number,
    levelsOf: ((at: number, end: number) => number) | null,
    count: () => void,
    present: () => number,
    share: number,
  ): number {
    const k = this.k;
    const src = data + Math.max(0, levels);
    const srcLen = Math.min(csize, this.readEnd - data) - Math.max(0, levels);
    const size = levels >= 0 ? usize - levels : usize;
    if (levels >= 0) count();
    // the first prefix: 64 KiB, or a quarter more than the rows' share of the page's values (a page with many rows)
    for (let prefix = Math.max(1 << 16, Math.ceil(size * Math.min(1, share * 1.25))); ; prefix *= 4) {
      const whole = prefix >= size;
      const mark = this.top;
      const dst = this.alloc(size);
      const r = k.snappy(src, srcLen, dst, size, 8, 0, whole ? size : prefix);
      if (r === 0) throw new Error('damaged Snappy page');
      const got = k.walked.value as number;
      try {
        let vals = dst;
        if (levelsOf) {
          vals = levelsOf(dst, dst + got);
          count();
        }
        if (vals > dst + got) throw new Error('the values begin past the prefix');
        const out = this.alloc(present() * 8);
        if (k.plainStrings(vals, dst + got - vals, present(), out) < 0) throw new Error('damaged data page');
        return out;
      } catch (e) {
        if (whole) throw e;
        this.top = mark; // a longer prefix, in the same place
      }
    }
  }

  /**
   * A data page's header, v1 or v2 (`v2` set for a v2 page), counted in `pages`; null for a page that holds no values
   * (an index page). A data page without its header is an error.
   */
  private dataPage(h: PageHeader): { v2: PageHeader['data_page_header_v2']; nv: number; enc: string } | null {
    if (h.type !== 'DATA_PAGE' && h.type !== 'DATA_PAGE_V2') return null;
    this.pages++;
    const v2 = h.data_page_header_v2;
    const dh = v2 ?? h.data_page_header;
    if (!dh) throw new Error('data page without its header');
    return { v2, nv: dh.num_values, enc: dh.encoding };
  }

  /**
   * The page at `p` of a column chunk that readChunk put at [chunk, end) (`start`: its offset in the file): its header,
   * where its data begins and where the next page begins. A header that does not parse, or sizes past the chunk, are
   * errors naming the page's byte in the file.
   */
  private pageAt(p: number, chunk: number, end: number, start: number): { h: PageHeader; data: number; next: number } {
    const parse = this.header;
    if (!parse) throw new Error('page header parser not loaded');
    // a view made afresh: the memory may have grown since the last page (alloc)
    const reader = { view: new DataView(this.k.memory.buffer, 0, end), offset: p };
    let h: PageHeader;
    try {
      h = parse(reader);
    } catch (e) {
      throw new Error(`page header at byte ${start + (p - chunk)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const data = reader.offset;
    const usize = h.uncompressed_page_size;
    const csize = h.compressed_page_size;
    // (a prefix of the chunk read for a sample: a page may go on past it, whose bytes are then not read: readEnd)
    if (!(usize >= 0) || !(csize >= 0) || (csize > end - data && !this.prefixOnly)) throw new Error(`page at byte ${start + (data - chunk)}: sizes out of bounds`);
    return { h, data, next: data + csize };
  }

  /** A dictionary page's strings as (address, length) pairs in the arena: where they are and how many. */
  private dictionaryPage(codec: string, h: PageHeader, data: number): { at: number; n: number } {
    this.pages++;
    const dh = h.dictionary_page_header;
    const n = dh?.num_values ?? -1;
    if (dh?.encoding !== 'PLAIN' && dh?.encoding !== 'PLAIN_DICTIONARY') throw new Unsupported(`dictionary encoding ${dh?.encoding}`);
    if (n < 0) throw new Error('dictionary page without its header');
    const page = this.decompress(codec, data, h.compressed_page_size, h.uncompressed_page_size);
    const at = this.alloc(n * 8);
    if (this.k.plainStrings(page, h.uncompressed_page_size, n, at) < 0) throw new Error('damaged dictionary page');
    return { at, n };
  }

  /** The `present` values of a dictionary-encoded page (its indices at [vals, vals + valsLen)) as pairs at `dest`. */
  private dictionaryValues(vals: number, valsLen: number, present: number, dict: { at: number; n: number }, dest: number): void {
    if (present === 0) return;
    if (!dict.at) throw new Error('dictionary-encoded page without a dictionary');
    if (valsLen < 1) throw new Error('damaged data page');
    const bw = this.u8[vals];
    if (bw > 32) throw new Error('damaged data page');
    const idx = this.alloc(present * 4);
    if (!this.k.hybrid(vals + 1, valsLen - 1, bw, present, idx)) throw new Error('damaged dictionary indices');
    if (!this.k.lookup(idx, present, dict.at, dict.n, dest)) throw new Error('dictionary index out of range');
  }

  /** Reads a column chunk into the arena (UNCOMPRESSED: kept) or the scratch area (decompressed page by page). */
  private readChunk(
    meta: NonNullable<ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data']>,
    scratch: number,
    seekable = false,
  ): { chunk: number; end: number; start: number } {
    const dictAt = meta.dictionary_page_offset !== undefined ? Number(meta.dictionary_page_offset) : 0;
    const dataAt = Number(meta.data_page_offset);
    const start = dictAt > 0 && dictAt < dataAt ? dictAt : dataAt;
    const whole = Number(meta.total_compressed_size);
    // a sample's prefix: 64 KiB and four times the sample's share of the chunk (see prefixOnly)
    const cur = this.cur;
    // (rows keyed again, `only`, from a list leaf's chunk (`seekable`): 128 KiB, a first page's header and levels; the
    // rest as leafPages and seekPage reach it, the chunk's end returned as its end)
    const seeking = this.only !== null && seekable && meta.codec === 'SNAPPY';
    const len = seeking ? Math.min(whole, 2 * SEEK_BLOCK) : this.prefixOnly && meta.codec === 'SNAPPY' && cur ? Math.min(whole, (1 << 16) + Math.ceil((4 * whole * cur.rows) / this.pf.rowGroups[cur.g].rows)) : whole;
    const chunk = meta.codec === 'UNCOMPRESSED' ? this.alloc(len) : scratch;
    this.chunkRead = { chunk, start, whole };
    this.readEnd = this.readAt(chunk, chunk + len);
    return { chunk, end: chunk + (seeking ? whole : len), start };
  }

  /**
   * Bytes of a page stored uncompressed (a v2 page with is_compressed false) where they stay: in the chunk itself when
   * the chunk is kept (codec UNCOMPRESSED), else copied out of the scratch area, which the next chunk overwrites.
   */
  private kept(codec: string, at: number, len: number): number {
    if (codec === 'UNCOMPRESSED') return at;
    const dst = this.alloc(len);
    this.u8.copyWithin(dst, at, at + len);
    return dst;
  }

  /** Decompresses a page into the arena (UNCOMPRESSED: the page itself); returns its address. */
  private decompress(codec: string, src: number, csize: number, usize: number, walk = 0, out = 0, maxN = 0): number {
    if (codec === 'UNCOMPRESSED') {
      if (csize !== usize) throw new Error('uncompressed page sizes differ');
      return src;
    }
    if (codec === 'SNAPPY') {
      const dst = this.alloc(usize);
      // 2: stopped once the values wanted were out (walk | 4)
      if (!this.k.snappy(src, Math.min(csize, this.readEnd - src), dst, usize, walk, out, maxN)) throw new Error('damaged Snappy page');
      return dst;
    }
    const input = new Uint8Array(this.k.memory.buffer, src, csize);
    let page: Uint8Array;
    if (codec === 'GZIP') page = zlib().gunzipSync(input);
    else if (codec === 'BROTLI') page = zlib().brotliDecompressSync(input);
    else if (codec === 'ZSTD' && 'zstdDecompressSync' in zlib()) page = (zlib() as unknown as { zstdDecompressSync(b: Uint8Array): Buffer }).zstdDecompressSync(input);
    else {
      const f = this.codecs[codec];
      if (!f) throw new Unsupported(`codec ${codec}`);
      page = f(input, usize);
    }
    if (page.length !== usize) throw new Error(`a page decompresses to ${page.length} bytes, not ${usize}`);
    const dst = this.alloc(usize);
    this.u8.set(page, dst);
    return dst;
  }
}

/**
 * The JSON Lines of row groups [from, to) in pieces of whole lines (views valid until the next piece is taken). A row
 * group that cannot be read becomes blank lines, so that the rows after it keep their numbers, and an error on its
 * first row (numbered from the row group `from`'s first row when `relative`, else from the file's). `lines`: a reader of
 * this file to use (and reuse the memory of).
 */
export async function* linesOf(
  pf: ParquetFile,
  from: number,
  to: number,
  errors: RecordError[],
  opts: { signal?: AbortSignal; relative?: boolean; onRowGroup?: (g: number) => void | Promise<void>; lines?: RowGroupLines } = {},
): AsyncGenerator<Uint8Array> {
  // a reader given is the caller's to close
  const lines = opts.lines ?? new RowGroupLines(pf);
  const base = opts.relative ? pf.rowGroups[from]?.start ?? 0 : 0;
  try {
    for (let g = from; g < to; g++) {
      if (opts.signal?.aborted) throw new CancelledError();
      const { start, rows } = pf.rowGroups[g];
      try {
        await lines.load(g);
      } catch (e) {
        if (!(e instanceof ParquetError)) throw e;
        errors.push({ line: start + 1 - base, rows, message: e.message });
        yield Buffer.alloc(rows, 0x0a);
        continue;
      }
      for (let b = lines.next(); b; b = lines.next()) yield b;
      await opts.onRowGroup?.(g);
    }
  } finally {
    if (!opts.lines) lines.close();
  }
}

/**
 * The first `sample` rows of a Parquet file as JSON values (for formats/detect.ts formatOfSample), read by `lines` (a
 * reader of this file, whose memory the caller may then reuse) or by a reader made for this; only the sample's rows
 * are decoded where the pages allow (RowGroupLines.load `first`). An unreadable row group is skipped (the scan reports
 * it); `unreadable` is the first such error.
 */
export async function parquetSample(pf: ParquetFile, sample = 64, lines?: RowGroupLines): Promise<{ values: unknown[]; unreadable: unknown }> {
  const reader = lines ?? new RowGroupLines(pf);
  const values: unknown[] = [];
  let unreadable: unknown = null;
  try {
    for (let g = 0; g < pf.rowGroups.length && values.length < sample; g++) {
      try {
        await reader.load(g, sample - values.length);
      } catch (e) {
        unreadable ??= e;
        continue;
      }
      for (let b = reader.next(); b && values.length < sample; b = reader.next())
        for (const line of Buffer.from(b).toString('utf8').split('\n')) if (line && values.length < sample) values.push(JSON.parse(line));
    }
  } finally {
    if (!lines) reader.close();
  }
  return { values, unreadable };
}
