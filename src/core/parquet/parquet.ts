/**
 * Parquet preference files (docs/ARCHITECTURE.md, "Parquet"), as the Hugging Face hub serves datasets
 * (`train_prefs-00000-of-00001.parquet`): the footer, and rows read with hyparquet, a pure JavaScript reader, one row
 * group at a time (only that row group's column chunks are read from disk), with the compressions hub files use
 * (Snappy built in; ZSTD, gzip, Brotli, LZ4 from hyparquet-compressors). Whole-file reads make rows JSON Lines through
 * the Parquet kernel instead (parquet/rowLines.ts). Records are numbered by row, 1-based, where JSON Lines
 * files number them by line; a row becomes the JSON object its columns make (nested lists and structs as they are,
 * 64-bit integers as numbers, dates as ISO text, null cells left out), which the format normalisers read as they
 * read a JSON line.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { dict } from '../dict.js';
import type { RecordError } from '../types.js';

/** A Parquet file that cannot be read: names the file and the footer, row group or column. */
export class ParquetError extends InputError {}

/** `.parquet`, or the PAR1 magic at the start. */
export function isParquetFile(path: string): boolean {
  if (/\.parquet$/i.test(path)) return true;
  if (!existsSync(path) || statSync(path).size < 12) return false;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return b.toString('latin1') === 'PAR1';
  } finally {
    closeSync(fd);
  }
}

type Hyparquet = typeof import('hyparquet');
export type FileMetaData = Awaited<ReturnType<Hyparquet['parquetMetadataAsync']>>;
type AsyncBuffer = Awaited<ReturnType<Hyparquet['asyncBufferFromFile']>>;

export interface ParquetFile {
  path: string;
  rows: number;
  columns: string[];
  /** The physical type of each top-level column (DOUBLE, BYTE_ARRAY, …; undefined for a nested column), by name
   * (null-prototype: the names come from the file). */
  columnTypes: Record<string, string | undefined>;
  /** Row groups: first row (0-based), row count. */
  rowGroups: Array<{ start: number; rows: number }>;
  /** @internal */
  file: AsyncBuffer;
  /** @internal */
  metadata: FileMetaData;
  /**
   * Columns that could not be decoded (a type the reader does not know, as INTERVAL, or a damaged chunk where the
   * others are whole), by name, with why: they are left out of the rows (decodeRowGroup), and said by the scan.
   */
  unreadable: Map<string, string>;
}

/** The file's unreadable columns (ParquetFile.unreadable) as the scan's warnings. */
export function columnWarnings(pf: ParquetFile): string[] {
  return [...pf.unreadable].map(([name, why]) => `${pf.path}: column ${name}${pf.columnTypes[name] ? ` (${pf.columnTypes[name]})` : ''} cannot be read (${why}): left out of every row`);
}

// hyparquet, and hyparquet-compressors (its decoders of ZSTD, LZ4, …, whose tables take a while to build: loaded only
// for a reader that needs them, not to open a file or to read Snappy pages)
let hyparquet: Promise<Hyparquet> | null = null;
let compressorsLib: Promise<import('hyparquet').Compressors> | null = null;
function hpLib(): Promise<Hyparquet> {
  hyparquet ??= import('hyparquet');
  return hyparquet;
}
async function lib(): Promise<{ hp: Hyparquet; compressors: import('hyparquet').Compressors }> {
  compressorsLib ??= import('hyparquet-compressors').then((c) => c.compressors);
  const [hp, compressors] = await Promise.all([hpLib(), compressorsLib]);
  return { hp, compressors };
}

/**
 * A footer that lies is said before anything is read by it (issue #24): the schema's num_children must describe a
 * tree of exactly its elements, the file's row count must be its row groups', and a row group cannot have more rows
 * than its columns have values (every row has at least one value or null in each column).
 */
function checkFooter(path: string, md: FileMetaData): void {
  const fail = (what: string): never => {
    throw new ParquetError(`${path}: the footer is inconsistent: ${what}`);
  };
  const schema = md.schema;
  let next = 0;
  // the elements a subtree takes, depth first, as readers walk it
  const walk = (depth: number): void => {
    if (next >= schema.length) fail(`the schema's num_children announce more elements than its ${schema.length}`);
    if (depth > 64) fail('the schema nests more than 64 levels');
    const el = schema[next++];
    const n = el.num_children ?? 0;
    if (!Number.isInteger(n) || n < 0) fail(`schema element ${el.name} has num_children ${n}`);
    for (let i = 0; i < n; i++) walk(depth + 1);
  };
  walk(0);
  if (next !== schema.length) fail(`the schema's root announces ${schema[0]?.num_children ?? 0} columns, which take ${next - 1} of its ${schema.length - 1} elements (num_children wrong)`);
  let total = 0n;
  md.row_groups.forEach((g, i) => {
    const rows = BigInt(g.num_rows);
    if (rows < 0n) fail(`row group ${i + 1} has ${rows} rows`);
    const most = g.columns.reduce((m, c) => (c.meta_data && BigInt(c.meta_data.num_values) > m ? BigInt(c.meta_data.num_values) : m), 0n);
    if (g.columns.length && g.columns.every((c) => c.meta_data) && rows > most) fail(`row group ${i + 1} says ${rows.toLocaleString('en-US')} rows, its columns hold at most ${most.toLocaleString('en-US')} values`);
    total += rows;
  });
  if (BigInt(md.num_rows) !== total) fail(`it says ${BigInt(md.num_rows).toLocaleString('en-US')} rows, its row groups hold ${total.toLocaleString('en-US')}`);
}

/** A Parquet file's footer as another thread parsed it, with the file's size then (openParquet). */
export interface KnownFooter {
  metadata: FileMetaData;
  size: number;
}

/**
 * Opens a Parquet file: its footer (schema, row groups), nothing else. `known`: the footer as another thread parsed it
 * (a scan worker's range), taken when the file still has the size it had then.
 */
export async function openParquet(path: string, known?: KnownFooter): Promise<ParquetFile> {
  if (!existsSync(path)) throw new InputError(`${path}: no such file`);
  const hp = await hpLib();
  const file = await hp.asyncBufferFromFile(path);
  let metadata: FileMetaData;
  try {
    // the footer another thread parsed (a scan worker's range: scanFile), unless the file has changed size since
    metadata = known && known.size === file.byteLength ? known.metadata : await hp.parquetMetadataAsync(file);
  } catch (e) {
    throw new ParquetError(`${path}: not a readable Parquet file (footer: ${e instanceof Error ? e.message : String(e)})`);
  }
  checkFooter(path, metadata);
  const children = hp.parquetSchema(metadata).children;
  const columns = children.map((c) => c.element.name);
  const columnTypes = dict(children.map((c) => [c.element.name, c.element.type] as const));
  let start = 0;
  const rowGroups = metadata.row_groups.map((g) => {
    const rows = Number(g.num_rows);
    const out = { start, rows };
    start += rows;
    return out;
  });
  return { path, rows: Number(metadata.num_rows), columns, columnTypes, rowGroups, file, metadata, unreadable: new Map() };
}

type SchemaNode = { element: { name: string; type?: string; converted_type?: string; logical_type?: { type: string }; repetition_type?: string }; children: SchemaNode[] };

/** A value of the shape a schema node holds (a text, a number, a list of structs with their fields…). */
function shapeOf(node: SchemaNode, depth = 0): unknown {
  const el = node.element;
  if (depth > 8) return null;
  if (el.converted_type === 'LIST' || el.logical_type?.type === 'LIST') {
    // list → repeated group → element (or a legacy two-level list)
    const rep = node.children[0];
    const item = rep && rep.children.length === 1 ? rep.children[0] : rep;
    return item ? [shapeOf(item, depth + 1)] : [];
  }
  if (node.children.length) return dict(node.children.map((c) => [c.element.name, shapeOf(c, depth + 1)] as const));
  switch (el.type) {
    case 'BOOLEAN':
      return true;
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      return 0;
    default:
      return 'x';
  }
}

/**
 * A row of the shape the schema describes, every column present (texts "x", numbers 0, lists of one item): what
 * the columns say the file is, for a file whose rows say less (chosen and rejected all null: formats/detect.ts).
 */
export async function schemaRow(pf: ParquetFile): Promise<Record<string, unknown>> {
  const hp = await hpLib();
  const root = hp.parquetSchema(pf.metadata) as unknown as SchemaNode;
  return dict(root.children.map((c) => [c.element.name, shapeOf(c)] as const));
}

/** A cell as JSON would hold it: bigints as numbers (as text beyond 2^53), dates as ISO text, bytes as UTF-8 text. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') {
    const o = dict<unknown>();
    // a null field is one the struct does not have (as at the top level: jsonWriter.ts and rowLines.ts write rows the same way)
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) o[k] = jsonValue(x);
    return o;
  }
  return v;
}

/** Codecs hyparquet decodes with hyparquet-compressors. */
const KNOWN_CODECS = new Set(['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI', 'ZSTD', 'LZ4', 'LZ4_RAW']);

/**
 * The rows of row group g (or of rows [from, to) within it; of some columns) as hyparquet decodes them, texts left as
 * their UTF-8 bytes. An unknown compression or a damaged page is a ParquetError naming the file, the row group and the
 * column.
 */
async function decodeRowGroup(pf: ParquetFile, g: number, from?: number, to?: number, columns?: string[]): Promise<Array<Record<string, unknown>>> {
  const { hp, compressors } = await lib();
  const rg = pf.rowGroups[g];
  for (const c of pf.metadata.row_groups[g].columns) {
    const codec = c.meta_data?.codec ?? 'UNCOMPRESSED';
    if (!KNOWN_CODECS.has(codec)) throw new ParquetError(`${pf.path}: row group ${g + 1}, column ${c.meta_data?.path_in_schema.join('.') ?? '?'}: compression ${codec} is not supported (Snappy, ZSTD, gzip, Brotli, LZ4 are)`);
  }
  // texts (STRING columns too) stay UTF-8 bytes: no JavaScript string is made for them here (hyparquet would make one
  // for every text of the pages it reads, whatever rows are asked for)
  const raw = { utf8: false, parsers: { stringFromBytes: (b: Uint8Array | undefined): unknown => b } };
  // rows as arrays, made into null-prototype objects here: hyparquet's row objects are plain ones, where a column
  // named __proto__ would set the row's prototype instead of being a cell
  const read = (names: string[]): Promise<unknown[][]> =>
    new Promise<unknown[][]>((resolve, reject) => {
      hp.parquetRead({ file: pf.file, metadata: pf.metadata, compressors, rowStart: rg.start + (from ?? 0), rowEnd: rg.start + (to ?? rg.rows), columns: names, rowFormat: 'array', onComplete: (r: unknown[][]) => resolve(r), ...raw }).catch(reject);
    });
  const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  let names = (columns ?? pf.columns).filter((n) => !pf.unreadable.has(n));
  let rows: unknown[][];
  try {
    rows = await read(names);
  } catch (e) {
    // one column the reader cannot decode (an INTERVAL, say) does not make the others unreadable: each column is tried
    // alone, those that fail are left out (and said once, ParquetFile.unreadable); when all fail, the row group is
    const bad = new Map<string, string>();
    if (names.length === 1) bad.set(names[0], message(e));
    else
      for (const n of names)
        await read([n]).catch((err: unknown) => {
          bad.set(n, message(err));
        });
    // nothing of the file readable (or no one column to blame): the row group cannot be read
    if (bad.size === 0 || pf.columns.every((n) => bad.has(n) || pf.unreadable.has(n))) throw new ParquetError(`${pf.path}: row group ${g + 1}: cannot be read (${message(e)})`);
    for (const [n, why] of bad) pf.unreadable.set(n, why);
    names = names.filter((n) => !bad.has(n));
    if (names.length === 0) return Array.from({ length: (to ?? rg.rows) - (from ?? 0) }, () => dict<unknown>());
    try {
      rows = await read(names);
    } catch (e2) {
      throw new ParquetError(`${pf.path}: row group ${g + 1}: cannot be read (${message(e2)})`);
    }
  }
  return rows.map((r) => dict(names.map((n, i) => [n, r[i]] as const)));
}

/** The rows of row group g (or of rows [from, to) within it) as JSON objects (null cells left out). */
export async function readRowGroup(pf: ParquetFile, g: number, from?: number, to?: number): Promise<Array<Record<string, unknown>>> {
  // a null cell is a value the row does not have (a column of another shape of record, as in the key-less lines of
  // a JSON Lines file)
  return (await decodeRowGroup(pf, g, from, to)).map((r) => {
    const o = dict<unknown>();
    for (const [k, v] of Object.entries(r)) if (v !== null && v !== undefined) o[k] = jsonValue(v);
    return o;
  });
}

/**
 * The rows of row group g (or of rows [from, to) within it) as cells in column order, as hyparquet reads them but with
 * texts left as their UTF-8 bytes, copied out of the decompressed pages (a view would keep a whole page alive: DuckDB
 * writes pages of 100 MB): what a Parquet writer takes back, with no JavaScript string made for every text of the
 * pages read (refs.ts writes a file's rows with columns added). `cellsJson` makes a row of them JSON.
 */
export async function readRowGroupCells(pf: ParquetFile, g: number, from: number, to: number): Promise<unknown[][]> {
  const { hp, compressors } = await lib();
  const rg = pf.rowGroups[g];
  try {
    return await new Promise<unknown[][]>((resolve, reject) => {
      hp.parquetRead({ file: pf.file, metadata: pf.metadata, compressors, rowStart: rg.start + from, rowEnd: rg.start + to, columns: pf.columns, rowFormat: 'array', utf8: false, parsers: { stringFromBytes: (b: Uint8Array | undefined): unknown => b?.slice() }, onComplete: (r: unknown[][]) => resolve(r) }).catch(reject);
    });
  } catch (e) {
    throw new ParquetError(`${pf.path}: row group ${g + 1}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A row of `readRowGroupCells` as JSON, as `readRowGroup` makes it (null cells left out, texts as strings). */
export function cellsJson(pf: ParquetFile, row: readonly unknown[]): Record<string, unknown> {
  const o = dict<unknown>();
  pf.columns.forEach((name, c) => {
    const v = row[c];
    if (v !== null && v !== undefined) o[name] = jsonValue(v);
  });
  return o;
}

/** The rows of row group g with their texts as UTF-8 bytes, for writing them as JSON (jsonWriter.ts). */
export function readRowGroupRaw(pf: ParquetFile, g: number): Promise<Array<Record<string, unknown>>> {
  return decodeRowGroup(pf, g);
}

/** Some columns of the rows of row group g, texts as UTF-8 bytes (parquet/rowLines.ts). */
export function readRowGroupColumns(pf: ParquetFile, g: number, columns: string[]): Promise<Array<Record<string, unknown>>> {
  return decodeRowGroup(pf, g, undefined, undefined, columns);
}

/** The decompressors of hyparquet-compressors (ZSTD, LZ4, …), by codec name. */
export async function decompressors(): Promise<Record<string, ((input: Uint8Array, outputLength: number) => Uint8Array) | undefined>> {
  return (await lib()).compressors as Record<string, ((input: Uint8Array, outputLength: number) => Uint8Array) | undefined>;
}

/**
 * The bytes of row group g's column chunks as stored (`compressed`: the unit of a scan's progress) or decoded (how a
 * scan splits the row groups into ranges of about equal work).
 */
export function rowGroupBytes(pf: ParquetFile, g: number, decoded = false): number {
  return pf.metadata.row_groups[g].columns.reduce((s, c) => s + Number((decoded ? c.meta_data?.total_uncompressed_size : c.meta_data?.total_compressed_size) ?? 0), 0);
}

/**
 * The row group (among [from, to)) that holds row `row` (0-based, of the file), and the row's place in it: how records
 * of a Parquet scan, numbered by line, are found again in their row groups.
 */
export function rowGroupOf(pf: ParquetFile, row: number, from = 0, to = pf.rowGroups.length): { g: number; r: number } {
  let g = to - 1;
  while (g > from && pf.rowGroups[g].start > row) g--;
  return { g, r: row - pf.rowGroups[g].start };
}

/** Rows [first, last] (1-based, inclusive) as JSON objects with their row numbers, reading only their row groups. */
export async function* rowsOf(pf: ParquetFile, first = 1, last = pf.rows, onUnreadable?: (e: RecordError) => void): AsyncGenerator<{ row: number; value: Record<string, unknown> }> {
  for (let g = 0; g < pf.rowGroups.length; g++) {
    const { start, rows } = pf.rowGroups[g];
    if (start + rows < first || start + 1 > last) continue;
    const from = Math.max(0, first - 1 - start);
    const to = Math.min(rows, last - start);
    let values: Array<Record<string, unknown>>;
    try {
      values = await readRowGroup(pf, g, from, to);
    } catch (e) {
      // a row group that cannot be read: its rows reported (when asked), the next row groups read
      if (!(e instanceof ParquetError) || !onUnreadable) throw e;
      onUnreadable({ line: start + from + 1, rows: to - from, message: e.message });
      continue;
    }
    for (let i = 0; i < values.length; i++) yield { row: start + from + i + 1, value: values[i] };
  }
}
