/**
 * Test code: Parquet files written by DuckDB (@duckdb/node-api, a dev dependency), an independent writer, since
 * pandas with pyarrow is not installable on this machine (no PyPI). The files carry what pandas/pyarrow files carry
 * that a reader can trip on: the `pandas` key-value metadata, nested list<struct> columns for conversational
 * prompts, dictionary-encoded strings, Snappy or ZSTD pages, several row groups.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';

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
