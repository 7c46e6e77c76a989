/**
 * Test code: a minimal Parquet writer for the layouts DuckDB does not write but pyarrow and other writers do: REQUIRED
 * text columns, column chunks of many small pages, dictionary pages followed by PLAIN pages in one chunk (pyarrow's
 * fallback when a dictionary grows too large), data pages v2 with PLAIN values. Flat BYTE_ARRAY (UTF-8) columns
 * (writeMiniParquet), or list<struct<content, role>> columns with v1 pages that split rows (writeMiniListParquet);
 * pages UNCOMPRESSED or Snappy (a valid Snappy stream of literals, which every decoder must read). Written from
 * the Parquet format specification (parquet.thrift, Thrift compact protocol), independent of the readers under test.
 */
import { writeFileSync } from 'node:fs';

/** Thrift compact protocol, the subset of it Parquet metadata uses. */
class Compact {
  private out: number[] = [];
  private last: number[] = [0];
  private varint(v: number): void {
    let x = v;
    while (x >= 0x80) {
      this.out.push((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.out.push(x);
  }
  private zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  private field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1];
    if (delta > 0 && delta <= 15) this.out.push((delta << 4) | type);
    else {
      this.out.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }
  i32(id: number, v: number): this {
    this.field(id, 5);
    this.zigzag(v);
    return this;
  }
  i64(id: number, v: number): this {
    this.field(id, 6);
    this.zigzag(v);
    return this;
  }
  bool(id: number, v: boolean): this {
    this.field(id, v ? 1 : 2);
    return this;
  }
  string(id: number, s: string): this {
    this.field(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    for (const x of b) this.out.push(x);
    return this;
  }
  struct(id: number, body: (c: Compact) => void): this {
    this.field(id, 12);
    this.last.push(0);
    body(this);
    this.out.push(0);
    this.last.pop();
    return this;
  }
  private listHeader(n: number, type: number): void {
    if (n < 15) this.out.push((n << 4) | type);
    else {
      this.out.push(0xf0 | type);
      this.varint(n);
    }
  }
  listI32(id: number, vs: number[]): this {
    this.field(id, 9);
    this.listHeader(vs.length, 5);
    for (const v of vs) this.zigzag(v);
    return this;
  }
  listString(id: number, vs: string[]): this {
    this.field(id, 9);
    this.listHeader(vs.length, 8);
    for (const s of vs) {
      const b = Buffer.from(s, 'utf8');
      this.varint(b.length);
      for (const x of b) this.out.push(x);
    }
    return this;
  }
  listStruct(id: number, items: Array<(c: Compact) => void>): this {
    this.field(id, 9);
    this.listHeader(items.length, 12);
    for (const body of items) {
      this.last.push(0);
      body(this);
      this.out.push(0);
      this.last.pop();
    }
    return this;
  }
  /** The bytes of a top-level struct (its stop byte added). */
  end(): Buffer {
    return Buffer.from([...this.out, 0]);
  }
}

/**
 * A Snappy stream of literals only (60 bytes or fewer each, or longer with a 2-byte length); with `blocks`, none runs
 * across a 64 KiB block of the output (as the reference compressor writes each block on its own).
 */
function snappyLiterals(data: Buffer, blocks = false): Buffer {
  const parts: Buffer[] = [];
  const pre: number[] = [];
  let n = data.length;
  while (n >= 0x80) {
    pre.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  pre.push(n);
  parts.push(Buffer.from(pre));
  for (let at = 0, k = 0; at < data.length; k++) {
    // alternate short literals (length in the tag) and long ones (length in 2 bytes after it)
    const len = Math.min(data.length - at, k % 2 ? 1000 : 60, blocks ? 65536 - (at % 65536) : Infinity);
    if (len <= 60) parts.push(Buffer.from([(len - 1) << 2]));
    else parts.push(Buffer.from([61 << 2, (len - 1) & 0xff, (len - 1) >> 8]));
    parts.push(data.subarray(at, at + len));
    at += len;
  }
  return Buffer.concat(parts);
}

/** The RLE/bit-packed hybrid of values of bitWidth bits, as bit-packed runs of 8 values. */
function hybrid(values: number[], bitWidth: number): Buffer {
  const groups = Math.ceil(values.length / 8);
  const bytes: number[] = [];
  let h = (groups << 1) | 1;
  while (h >= 0x80) {
    bytes.push((h & 0x7f) | 0x80);
    h >>>= 7;
  }
  bytes.push(h);
  let acc = 0;
  let have = 0;
  for (let i = 0; i < groups * 8; i++) {
    acc += (values[i] ?? 0) * 2 ** have;
    have += bitWidth;
    while (have >= 8) {
      bytes.push(acc % 256);
      acc = Math.floor(acc / 256);
      have -= 8;
    }
  }
  return Buffer.from(bytes);
}

const plain = (vs: string[]): Buffer => Buffer.concat(vs.flatMap((v) => {
  const b = Buffer.from(v, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return [n, b];
}));

export interface ColumnSpec {
  name: string;
  required: boolean;
  /** Rows per data page. */
  pageRows: number;
  /** The first `dictionaryPages` data pages use a dictionary (RLE_DICTIONARY), the rest PLAIN. */
  dictionaryPages: number;
}

/**
 * Writes rows (null: no value) of the given text columns as one row group per `groupRows` rows, pages v1 or v2,
 * UNCOMPRESSED or SNAPPY.
 */
export function writeMiniParquet(file: string, columns: ColumnSpec[], rows: Array<Record<string, string | null>>, opts: { groupRows: number; v2: boolean; snappy: boolean }): void {
  const chunks: Buffer[] = [Buffer.from('PAR1')];
  let pos = 4;
  const groups: Array<(c: Compact) => void> = [];
  const codec = opts.snappy ? 1 : 0;
  const compress = (b: Buffer): Buffer => (opts.snappy ? snappyLiterals(b) : b);
  for (let g0 = 0; g0 < rows.length; g0 += opts.groupRows) {
    const groupRows = rows.slice(g0, g0 + opts.groupRows);
    const metas: Array<(c: Compact) => void> = [];
    for (const col of columns) {
      const start = pos;
      let dictAt = -1;
      let uncompressed = 0;
      const values = groupRows.map((r) => r[col.name] ?? null);
      // the dictionary: the distinct values of the pages that use it
      const dictRows = values.slice(0, col.dictionaryPages * col.pageRows).filter((v): v is string => v !== null);
      const dict = [...new Set(dictRows)];
      const page = (header: Buffer, body: Buffer): void => {
        chunks.push(header, body);
        pos += header.length + body.length;
      };
      if (dict.length > 0) {
        dictAt = pos;
        const raw = plain(dict);
        const body = compress(raw);
        uncompressed += raw.length;
        page(new Compact().i32(1, 2).i32(2, raw.length).i32(3, body.length).struct(7, (c) => c.i32(1, dict.length).i32(2, 0)).end(), body);
      }
      const dataAt = pos;
      for (let p = 0, k = 0; p < values.length; p += col.pageRows, k++) {
        const vs = values.slice(p, p + col.pageRows);
        const present = vs.filter((v): v is string => v !== null);
        const useDict = k < col.dictionaryPages && dict.length > 0;
        const bw = Math.max(1, Math.ceil(Math.log2(dict.length)));
        const encoded = useDict ? Buffer.concat([Buffer.from([bw]), hybrid(present.map((v) => dict.indexOf(v)), bw)]) : plain(present);
        const levels = col.required ? Buffer.alloc(0) : hybrid(vs.map((v) => (v === null ? 0 : 1)), 1);
        const encoding = useDict ? 8 : 0;
        if (opts.v2) {
          const body = compress(encoded);
          uncompressed += levels.length + encoded.length;
          const h = new Compact()
            .i32(1, 3)
            .i32(2, levels.length + encoded.length)
            .i32(3, levels.length + body.length)
            .struct(8, (c) => c.i32(1, vs.length).i32(2, vs.length - present.length).i32(3, vs.length).i32(4, encoding).i32(5, levels.length).i32(6, 0).bool(7, opts.snappy))
            .end();
          page(h, Buffer.concat([levels, body]));
        } else {
          const lenPrefix = Buffer.alloc(4);
          lenPrefix.writeUInt32LE(levels.length);
          const raw = col.required ? encoded : Buffer.concat([lenPrefix, levels, encoded]);
          const body = compress(raw);
          uncompressed += raw.length;
          const h = new Compact().i32(1, 0).i32(2, raw.length).i32(3, body.length).struct(5, (c) => c.i32(1, vs.length).i32(2, encoding).i32(3, 3).i32(4, 3)).end();
          page(h, body);
        }
      }
      const size = pos - start;
      metas.push((c) =>
        c.i64(2, start).struct(3, (m) => {
          m.i32(1, 6).listI32(2, dict.length ? [0, 3, 8] : [0, 3]).listString(3, [col.name]).i32(4, codec).i64(5, values.length).i64(6, uncompressed).i64(7, size).i64(9, dataAt);
          if (dictAt >= 0) m.i64(11, dictAt);
        }),
      );
    }
    const n = groupRows.length;
    groups.push((c) => c.listStruct(1, metas).i64(2, 0).i64(3, n));
  }
  const schema: Array<(c: Compact) => void> = [(c) => c.string(4, 'schema').i32(5, columns.length)];
  for (const col of columns) schema.push((c) => c.i32(1, 6).i32(3, col.required ? 0 : 1).string(4, col.name).i32(6, 0));
  const footer = new Compact().i32(1, 1).listStruct(2, schema).i64(3, rows.length).listStruct(4, groups).string(6, 'preflens test writer').end();
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  chunks.push(footer, len, Buffer.from('PAR1'));
  writeFileSync(file, Buffer.concat(chunks));
}

/** A message of a list column: null, or a role and a content (each may be null). */
export type ListMessage = { role: string | null; content: string | null } | null;

/**
 * Writes rows of list<struct<content, role>> columns (a row's cell: null, or a list of messages) as one row group: the
 * hub's 3-level lists (an OPTIONAL LIST group, a REPEATED group, an OPTIONAL element struct, OPTIONAL UTF-8 fields;
 * definition levels 0 null list, 1 empty list, 2 null message, 3 null field, 4 a value). Each leaf is written in pages
 * of `pageLevels` levels: v1 pages end wherever that falls, inside a row too (the specification allows it); v2 pages
 * (which must begin at a row) hold whole rows of at least that many levels. `blocks`: Snappy literals that never run
 * across a 64 KiB block of a page's output (seek points at every block: RowGroupLines.seekPage).
 */
export function writeMiniListParquet(file: string, names: string[], rows: Array<Record<string, ListMessage[] | null>>, opts: { pageLevels: number; v2: boolean; snappy: boolean; blocks?: boolean }): void {
  const chunks: Buffer[] = [Buffer.from('PAR1')];
  let pos = 4;
  const codec = opts.snappy ? 1 : 0;
  const compress = (b: Buffer): Buffer => (opts.snappy ? snappyLiterals(b, opts.blocks) : b);
  const metas: Array<(c: Compact) => void> = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  for (const name of names)
    for (const field of ['content', 'role'] as const) {
      // the leaf's levels and values, row by row
      const reps: number[] = [];
      const defs: number[] = [];
      const vals: Array<string | null> = [];
      const rowStart: boolean[] = [];
      for (const row of rows) {
        const cell = row[name] ?? null;
        if (cell === null || cell.length === 0) {
          reps.push(0);
          defs.push(cell === null ? 0 : 1);
          vals.push(null);
          continue;
        }
        cell.forEach((msg, i) => {
          reps.push(i === 0 ? 0 : 1);
          const v = msg === null ? null : msg[field];
          defs.push(msg === null ? 2 : v === null ? 3 : 4);
          vals.push(v);
        });
      }
      for (const r of reps) rowStart.push(r === 0);
      const start = pos;
      let uncompressed = 0;
      for (let p = 0; p < reps.length; ) {
        let q = Math.min(reps.length, p + opts.pageLevels);
        if (opts.v2) while (q < reps.length && !rowStart[q]) q++;
        const present = vals.slice(p, q).filter((v, i): v is string => defs[p + i] === 4);
        const encoded = plain(present);
        const rl = hybrid(reps.slice(p, q), 1);
        const dl = hybrid(defs.slice(p, q), 3);
        const n = q - p;
        if (opts.v2) {
          const body = compress(encoded);
          uncompressed += rl.length + dl.length + encoded.length;
          const rowsIn = rowStart.slice(p, q).filter((x) => x).length;
          const h = new Compact()
            .i32(1, 3)
            .i32(2, rl.length + dl.length + encoded.length)
            .i32(3, rl.length + dl.length + body.length)
            .struct(8, (c) => c.i32(1, n).i32(2, n - present.length).i32(3, rowsIn).i32(4, 0).i32(5, dl.length).i32(6, rl.length).bool(7, opts.snappy))
            .end();
          chunks.push(h, rl, dl, body);
          pos += h.length + rl.length + dl.length + body.length;
        } else {
          const raw = Buffer.concat([u32(rl.length), rl, u32(dl.length), dl, encoded]);
          const body = compress(raw);
          uncompressed += raw.length;
          const h = new Compact().i32(1, 0).i32(2, raw.length).i32(3, body.length).struct(5, (c) => c.i32(1, n).i32(2, 0).i32(3, 3).i32(4, 3)).end();
          chunks.push(h, body);
          pos += h.length + body.length;
        }
        p = q;
      }
      const size = pos - start;
      const levels = reps.length;
      metas.push((c) =>
        c.i64(2, start).struct(3, (m) => {
          m.i32(1, 6).listI32(2, [0, 3]).listString(3, [name, 'list', 'element', field]).i32(4, codec).i64(5, levels).i64(6, uncompressed).i64(7, size).i64(9, start);
        }),
      );
    }
  const schema: Array<(c: Compact) => void> = [(c) => c.string(4, 'schema').i32(5, names.length)];
  for (const name of names) {
    schema.push((c) => c.i32(3, 1).string(4, name).i32(5, 1).i32(6, 3));
    schema.push((c) => c.i32(3, 2).string(4, 'list').i32(5, 1));
    schema.push((c) => c.i32(3, 1).string(4, 'element').i32(5, 2));
    for (const field of ['content', 'role']) schema.push((c) => c.i32(1, 6).i32(3, 1).string(4, field).i32(6, 0));
  }
  const groups: Array<(c: Compact) => void> = [(c) => c.listStruct(1, metas).i64(2, 0).i64(3, rows.length)];
  const footer = new Compact().i32(1, 1).listStruct(2, schema).i64(3, rows.length).listStruct(4, groups).string(6, 'preflens test writer').end();
  chunks.push(footer, u32(footer.length), Buffer.from('PAR1'));
  writeFileSync(file, Buffer.concat(chunks));
}
