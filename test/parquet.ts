/**
 * Test code: Parquet files written by DuckDB (@duckdb/node-api, a dev dependency), an independent writer, since
 * pandas with pyarrow is not installable on this machine (no PyPI). The files carry what pandas/pyarrow files carry
 * that a reader can trip on: the `pandas` key-value metadata, nested list<struct> columns for conversational
 * prompts, dictionary-encoded strings, Snappy or ZSTD pages, several row groups.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { openParquet, readRowGroupRaw, type ParquetFile } from '../src/core/parquet/parquet.js';
import { RowGroupLines } from '../src/core/parquet/rowLines.js';
import { object, Out } from '../src/core/parquet/jsonWriter.js';

/** Runs COPY (query) TO file with the options given (e.g. `COMPRESSION zstd, ROW_GROUP_SIZE 2048`). */
export async function writeParquet(file: string, query: string, options = 'COMPRESSION snappy'): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const pandas = JSON.stringify({ index_columns: [], column_indexes: [], columns: [], creator: { library: 'pyarrow', version: '17.0.0' }, pandas_version: '2.2.2' }).replace(/'/g, "''");
    await c.run(`COPY (${query}) TO '${file.replace(/'/g, "''")}' (FORMAT parquet, ${options}, KV_METADATA {pandas: '${pandas}'})`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** SQL string literal. */
export const sql = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * Rewrites the compression codec of every column chunk in the footer from UNCOMPRESSED to LZO (which no JavaScript
 * reader decodes): in the Thrift compact footer, ColumnMetaData's codec (field 4, i32) follows path_in_schema
 * (field 3) as the bytes 0x15 0x00 and precedes num_values (field 5, an i64: 0x16). `limit`: only the first that
 * many column chunks (those of the first row groups, in footer order).
 */
export function markLzo(file: string, limit = Infinity): number {
  const b = readFileSync(file);
  const footerLen = b.readUInt32LE(b.length - 8);
  const start = b.length - 8 - footerLen;
  let n = 0;
  for (let i = start; i < b.length - 10; i++)
    if (n < limit && b[i] === 0x15 && b[i + 1] === 0x00 && b[i + 2] === 0x16) {
      b[i + 1] = 0x06; // zigzag(3): LZO
      n++;
    }
  writeFileSync(file, b);
  return n;
}

/**
 * Rewrites a file's footer: parsed by hyparquet, changed by `edit`, written again by hyparquet-writer's Thrift writer
 * (the data pages kept as they are), for footers that lie (a row count of 2⁴⁰), or patched as bytes after (`patch`: what the writer itself refuses, a wrong num_children).
 */
export async function editFooter(file: string, edit: (md: import('hyparquet').FileMetaData) => void, patch?: (footer: Buffer) => void): Promise<void> {
  const { parquetMetadata } = await import('hyparquet');
  const { writeMetadata } = await import('hyparquet-writer/src/metadata.js');
  const { ByteWriter } = await import('hyparquet-writer');
  const b = readFileSync(file);
  const footerLen = b.readUInt32LE(b.length - 8);
  const md = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  edit(md);
  const w = new ByteWriter();
  writeMetadata(w, md as unknown as Parameters<typeof writeMetadata>[1]);
  const footer = Buffer.from(w.getBuffer());
  patch?.(footer);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.length, 0);
  tail.write('PAR1', 4, 'latin1');
  writeFileSync(file, Buffer.concat([b.subarray(0, b.length - 8 - footerLen), footer, tail]));
}

/** Patches the root schema element's num_children (Thrift compact: its name, then field 5 as 0x15 and a zigzag varint). */
export function rootChildren(n: number): (footer: Buffer) => void {
  return (footer) => {
    const at = footer.indexOf('duckdb_schema', 0, 'latin1') + 'duckdb_schema'.length;
    if (footer[at] !== 0x15 || footer[at + 1] >= 0x80 || n * 2 >= 0x80) throw new Error('not the layout expected');
    footer[at + 1] = n * 2;
  };
}

/** The JavaScript writer's lines of row group g. */
export async function jsLines(pf: ParquetFile, g: number): Promise<Buffer> {
  const o = new Out();
  for (const r of await readRowGroupRaw(pf, g)) {
    object(o, r);
    o.ascii('\n');
  }
  return Buffer.from(o.buf.subarray(0, o.pos));
}

/** Compares the kernel's lines with the JavaScript writer's for every row group; returns the reader's counters. */
export async function sameLines(file: string): Promise<{ pages: number; fallbacks: number; groups: number }> {
  const pf = await openParquet(file);
  const lines = new RowGroupLines(pf);
  try {
    for (let g = 0; g < pf.rowGroups.length; g++) {
      await lines.load(g);
      const parts: Buffer[] = [];
      for (let b = lines.next(); b; b = lines.next()) parts.push(Buffer.from(b));
      const got = Buffer.concat(parts);
      const want = await jsLines(pf, g);
      if (!got.equals(want)) {
        let i = 0;
        while (got[i] === want[i]) i++;
        assert.fail(`${file}, row group ${g + 1}: differs at byte ${i}: ${JSON.stringify(got.subarray(Math.max(0, i - 30), i + 30).toString('latin1'))} vs ${JSON.stringify(want.subarray(Math.max(0, i - 30), i + 30).toString('latin1'))}`);
      }
      assert.equal(got.toString('latin1').split('\n').length - 1, pf.rowGroups[g].rows, 'one line per row');
    }
    return { pages: lines.pages, fallbacks: lines.fallbacks, groups: pf.rowGroups.length };
  } finally {
    lines.close();
  }
}


/** The lines a reader gives for the row group it loaded, one string per row. */
export function loadedLines(r: RowGroupLines): string[] {
  const out: string[] = [];
  for (let b = r.next(); b; b = r.next()) out.push(...Buffer.from(b).toString('utf8').split('\n').filter((l) => l));
  return out;
}

/**
 * Asserts that a sample of row group 1's first rows (`load(0, first)`, as format detection reads them) gives the whole
 * row group's first lines, for each of `firsts`, and that the whole row group read after a sample is whole again.
 * Returns the row group's lines and how many column chunks the samples left to hyparquet (the most of any sample).
 */
export async function sameSamples(file: string, firsts: number[]): Promise<{ all: string[]; fallbacks: number }> {
  const pf = await openParquet(file);
  const full = new RowGroupLines(pf);
  await full.load(0);
  const all = loadedLines(full);
  full.close();
  let fallbacks = 0;
  for (const first of firsts) {
    const part = new RowGroupLines(pf);
    try {
      await part.load(0, first);
      assert.deepEqual(loadedLines(part), all.slice(0, first), `${file}: the first ${first} rows`);
      fallbacks = Math.max(fallbacks, part.fallbacks);
      await part.load(0);
      assert.deepEqual(loadedLines(part), all, `${file}: the whole row group after a sample`);
    } finally {
      part.close();
    }
  }
  return { all, fallbacks };
}
