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
import * as zlib from 'node:zlib';
import { CancelledError } from '../errors.js';
import type { RecordError } from '../types.js';
import { align, kernelModule, PAGE, SCAN_REGION, type SharedKernels } from '../kernels/module.js';
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
  rows(cols: number, ncols: number, from: number, to: number, out: number, cap: number): number;
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

/** Where a row group's prompt (0: none), chosen and rejected texts are: see RowGroupLines.rawTables. */
export type RawTables = { prompt: number; chosen: number; rejected: number };

type Column = { name: string; key: Buffer; kind: 'text' | 'json'; optional: boolean; index: number };

/** Columns the kernel decodes: top-level, not repeated, BYTE_ARRAY that hyparquet would give as bytes or text. */
function columnsOf(pf: ParquetFile): Column[] {
  const schema = pf.metadata.schema;
  const out: Column[] = [];
  let i = 1;
  for (let c = 0; c < (schema[0].num_children ?? 0); c++) {
    const el = schema[i];
    const leaf = !el.num_children;
    const text =
      leaf &&
      el.type === 'BYTE_ARRAY' &&
      el.repetition_type !== 'REPEATED' &&
      (el.converted_type === undefined || el.converted_type === 'UTF8') &&
      (el.logical_type === undefined || el.logical_type.type === 'STRING');
    out.push({ name: el.name, key: keyBytes(el.name), kind: text ? 'text' : 'json', optional: el.repetition_type === 'OPTIONAL', index: c });
    // skip the element and its descendants
    let pending = 1;
    while (pending > 0) pending += (schema[i++].num_children ?? 0) - 1;
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
  private cur: { rows: number; next: number; cols: number; out: number; cap: number; raw: RawTables | null } | null = null;
  private js: { bytes: Uint8Array; given: boolean; starts: number[] | null } | null = null;
  /** The row group decoded in memory (-1: none). */
  private loaded = -1;
  /** Column chunks decoded by hyparquet although they are text (a page or encoding the kernel does not read). */
  fallbacks = 0;
  /** Pages the kernel has decoded (dictionary and data pages). */
  pages = 0;
  private codecs: Awaited<ReturnType<typeof decompressors>> = {};
  private header: ((reader: { view: DataView; offset: number }) => PageHeader) | null = null;

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
    const have = this.k.memory.buffer.byteLength;
    if (have < this.top) this.k.memory.grow(Math.ceil((this.top - have) / PAGE));
    return r;
  }
  private get u8(): Uint8Array {
    return new Uint8Array(this.k.memory.buffer);
  }

  /**
   * Reads row group g; its lines then come from next(). Throws ParquetError for a row group that cannot be read. With
   * `first`, only its first rows are wanted (a sample): a Snappy page of PLAIN values is decompressed only as far as
   * they go, later pages are not read, and the row group then holds those rows alone (a later load decodes it again).
   */
  async load(g: number, first?: number): Promise<void> {
    if (g === this.loaded) {
      // read again from its first row (the format sample, then the scan): decoded once
      if (this.cur) this.cur.next = 0;
      if (this.js) this.js.given = false;
      return;
    }
    this.loaded = -1;
    this.cur = null;
    this.js = null;
    this.top = this.base;
    const text = this.columns.filter((c) => c.kind === 'text');
    if (text.length === 0) return this.loadJs(g);
    this.codecs = await decompressors();
    this.header = await pageHeaderParser();
    try {
      await this.loadFast(g, first);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      this.top = this.base;
      await this.loadJs(g);
    }
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

  private async loadFast(g: number, first?: number): Promise<void> {
    const rg = this.pf.metadata.row_groups[g];
    const rows = this.pf.rowGroups[g].rows;
    // the rows decoded: all, or the first ones of a sample
    const want = first !== undefined && first >= 0 && first < rows ? first : rows;
    const metas = this.columns.map((c) => {
      const m = rg.columns[c.index]?.meta_data;
      if (!m || rg.columns[c.index].file_path) throw new Unsupported('column chunk in another file');
      return m;
    });
    // the compressed chunks of text columns pass through one scratch area (their decoded pages stay)
    let scratchSize = 0;
    this.columns.forEach((c, i) => {
      if (c.kind === 'text' && metas[i].codec !== 'UNCOMPRESSED') scratchSize = Math.max(scratchSize, Number(metas[i].total_compressed_size));
    });
    const scratch = this.alloc(scratchSize);
    const tables: number[] = [];
    // per column: decoded here ('text'), or by hyparquet ('json': not a text column, or a page the kernel does not read)
    const kinds = this.columns.map((c) => c.kind);
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i];
      const table = this.alloc(rows * 8);
      tables.push(table);
      if (c.kind !== 'text') continue;
      try {
        this.textColumn(c, metas[i], rows, want, table, scratch);
      } catch (e) {
        if (!(e instanceof Unsupported)) throw new ParquetError(`${this.pf.path}: row group ${g + 1}, column ${c.name}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
        kinds[i] = 'json';
        this.fallbacks++;
      }
    }
    const other = this.columns.filter((c, i) => kinds[i] === 'json');
    if (other.length > 0) {
      const objs = await readRowGroupColumns(this.pf, g, other.map((c) => c.name));
      const o = new Out();
      const at = other.map(() => new Float64Array(rows * 2));
      for (let r = 0; r < want; r++) {
        const row = objs[r];
        other.forEach((c, j) => {
          const v = row?.[c.name];
          if (v === null || v === undefined) {
            at[j][2 * r + 1] = NULL_LEN;
            return;
          }
          const s = o.pos;
          value(o, v);
          at[j][2 * r] = s;
          at[j][2 * r + 1] = o.pos - s;
        });
      }
      const json = this.alloc(o.pos);
      this.u8.set(o.buf.subarray(0, o.pos), json);
      other.forEach((c, j) => {
        const t = new Uint32Array(this.k.memory.buffer, tables[c.index], rows * 2);
        const a = at[j];
        for (let r = 0; r < want; r++) {
          t[2 * r] = json + a[2 * r];
          t[2 * r + 1] = a[2 * r + 1];
        }
      });
    }
    const keys = this.columns.map((c) => {
      const p = this.alloc(c.key.length);
      this.u8.set(c.key, p);
      return p;
    });
    const cols = this.alloc(this.columns.length * 16);
    const d = new Uint32Array(this.k.memory.buffer, cols, this.columns.length * 4);
    this.columns.forEach((c, i) => {
      d.set([keys[i], c.key.length, kinds[i] === 'text' ? 0 : 1, tables[i]], i * 4);
    });
    const out = this.alloc(OUT);
    // the texts for the scan kernel: exactly the columns chosen, rejected (and prompt), each decoded here
    let raw: RawTables | null = null;
    const names = this.columns.map((c) => c.name).sort().join(',');
    if (names === 'chosen,rejected' || names === 'chosen,prompt,rejected') {
      const table = (name: string): number => {
        const i = this.columns.findIndex((c) => c.name === name);
        return kinds[i] === 'text' ? tables[i] : -1;
      };
      const t = { prompt: names.includes('prompt') ? table('prompt') : 0, chosen: table('chosen'), rejected: table('rejected') };
      if (t.prompt >= 0 && t.chosen >= 0 && t.rejected >= 0) raw = t;
    }
    this.cur = { rows: want, next: 0, cols, out, cap: OUT, raw };
    this.loaded = want === rows ? g : -1;
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
    const dictAt = meta.dictionary_page_offset !== undefined ? Number(meta.dictionary_page_offset) : 0;
    const dataAt = Number(meta.data_page_offset);
    const start = dictAt > 0 && dictAt < dataAt ? dictAt : dataAt;
    const len = Number(meta.total_compressed_size);
    const codec = meta.codec;
    const chunk = codec === 'UNCOMPRESSED' ? this.alloc(len) : scratch;
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, new Uint8Array(this.k.memory.buffer, chunk + got, len - got), 0, len - got, start + got);
      if (n <= 0) throw new Error(`the file ends inside the column chunk (byte ${start + got})`);
      got += n;
    }
    const end = chunk + len;
    let p = chunk;
    let done = 0;
    let dict = 0;
    let dictN = 0;
    const k = this.k;
    const parse = this.header;
    if (!parse) throw new Error('page header parser not loaded');
    while (done < want) {
      if (p >= end) throw new Error(`the column chunk ends after ${done} of ${rows} rows`);
      const reader = { view: new DataView(k.memory.buffer, 0, end), offset: p };
      let h: PageHeader;
      try {
        h = parse(reader);
      } catch (e) {
        throw new Error(`page header at byte ${start + (p - chunk)}: ${e instanceof Error ? e.message : String(e)}`);
      }
      p = reader.offset;
      const usize = h.uncompressed_page_size;
      const csize = h.compressed_page_size;
      if (!(usize >= 0) || !(csize >= 0) || csize > end - p) throw new Error(`page at byte ${start + (p - chunk)}: sizes out of bounds`);
      const data = p;
      p += csize;
      if (h.type === 'DICTIONARY_PAGE') {
        this.pages++;
        const dh = h.dictionary_page_header;
        const n = dh?.num_values ?? -1;
        if (dh?.encoding !== 'PLAIN' && dh?.encoding !== 'PLAIN_DICTIONARY') throw new Unsupported(`dictionary encoding ${dh?.encoding}`);
        if (n < 0) throw new Error('dictionary page without its header');
        const page = this.decompress(codec, data, csize, usize);
        dict = this.alloc(n * 8);
        dictN = n;
        if (k.plainStrings(page, usize, n, dict) < 0) throw new Error('damaged dictionary page');
        continue;
      }
      if (h.type !== 'DATA_PAGE' && h.type !== 'DATA_PAGE_V2') continue; // index pages
      this.pages++;
      const v2 = h.data_page_header_v2;
      const dh = v2 ?? h.data_page_header;
      if (!dh) throw new Error('data page without its header');
      const nv = dh.num_values;
      const enc = dh.encoding;
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
        if (v2.repetition_levels_byte_length > 0) throw new Unsupported('repetition levels');
        const dl = Math.max(0, v2.definition_levels_byte_length);
        if (dl > csize) throw new Error('definition levels out of bounds');
        if (c.optional) {
          defs = this.alloc(nv * 4);
          if (!k.hybrid(data, dl, 1, nv, defs)) throw new Error('damaged definition levels');
        }
        valsLen = usize - dl;
        const compressed = v2.is_compressed !== false;
        located = walk && compressed ? (defs ? this.alloc(nv * 8) : table + done * 8) : 0;
        vals = compressed ? this.decompress(codec, data + dl, csize - dl, valsLen, located ? 1 | early : 0, located, here) : data + dl;
      } else {
        located = walk ? (c.optional ? this.alloc(nv * 8) : table + done * 8) : 0;
        const page = this.decompress(codec, data, csize, usize, located ? (c.optional ? 2 : 1) | early : 0, located, here);
        vals = page;
        valsLen = usize;
        if (c.optional) {
          if (h.data_page_header?.definition_level_encoding !== 'RLE') throw new Unsupported('definition level encoding');
          if (valsLen < 4) throw new Error('damaged definition levels');
          const dl = new DataView(k.memory.buffer).getUint32(page, true);
          if (dl > valsLen - 4) throw new Error('definition levels out of bounds');
          defs = this.alloc(nv * 4);
          if (!k.hybrid(page + 4, dl, 1, nv, defs)) throw new Error('damaged definition levels');
          vals = page + 4 + dl;
          valsLen -= 4 + dl;
        }
      }
      // the values of the page's first `here` rows (all of them but in a sample's last page)
      let present = here;
      if (defs) {
        present = 0;
        const lv = new Uint32Array(k.memory.buffer, defs, nv);
        for (let i = 0; i < here; i++) present += lv[i] === 1 ? 1 : 0;
      }
      // values located during decompression are used when they are exactly the page's (at least those wanted, in a
      // sample's last page); else PLAIN values are read here
      const walked = k.walked.value as number;
      const ready = located !== 0 && (cut ? walked >= present : walked === present);
      const dest = ready ? located : defs ? this.alloc(present * 8) : table + done * 8;
      if (enc === 'PLAIN') {
        if (!ready && k.plainStrings(vals, valsLen, present, dest) < 0) throw new Error('damaged data page');
      } else if (present > 0) {
        if (!dict) throw new Error('dictionary-encoded page without a dictionary');
        if (valsLen < 1) throw new Error('damaged data page');
        const bw = this.u8[vals];
        if (bw > 32) throw new Error('damaged data page');
        const idx = this.alloc(present * 4);
        if (!k.hybrid(vals + 1, valsLen - 1, bw, present, idx)) throw new Error('damaged dictionary indices');
        if (!k.lookup(idx, present, dict, dictN, dest)) throw new Error('dictionary index out of range');
      }
      if (defs && !k.spread(defs, here, 1, dest, present, table + done * 8)) throw new Error('damaged definition levels');
      done += here;
    }
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
      if (!this.k.snappy(src, csize, dst, usize, walk, out, maxN)) throw new Error('damaged Snappy page');
      return dst;
    }
    const input = new Uint8Array(this.k.memory.buffer, src, csize);
    let page: Uint8Array;
    if (codec === 'GZIP') page = zlib.gunzipSync(input);
    else if (codec === 'BROTLI') page = zlib.brotliDecompressSync(input);
    else if (codec === 'ZSTD' && 'zstdDecompressSync' in zlib) page = (zlib as unknown as { zstdDecompressSync(b: Uint8Array): Buffer }).zstdDecompressSync(input);
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
  opts: { signal?: AbortSignal; relative?: boolean; onRowGroup?: (g: number) => void; lines?: RowGroupLines } = {},
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
      opts.onRowGroup?.(g);
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
