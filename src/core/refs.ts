/**
 * Reference log-probabilities computed once, in TRL's own columns (issue #23; docs/ARCHITECTURE.md, "Reference
 * log-probabilities"): every row of a preference file, every original column kept, plus `ref_chosen_logps` and
 * `ref_rejected_logps` (float64 sums over the response tokens under the trainer's tokenization and truncation, as
 * `score` computes them with only a reference), `ref_margin` (their difference: PrefLens' name) and
 * `preflens_skipped` (why a row has no numbers: TRL drops it, it is not a pair, it does not read). TRL's collator passes
 * the first two to the loss when `precompute_ref_log_probs=True` (README, "Reference log-probabilities for TRL").
 *
 * Output: JSON Lines (a JSON Lines row keeps its bytes, the four fields appended) or Parquet written by
 * hyparquet-writer (a Parquet input's schema, four columns appended; a JSON input's inferred). Shards (`part`) are
 * contiguous row ranges written as `part-0000I-of-0000N.<ext>` in a folder, so that parts concatenate in row order.
 * Each output is written to a temporary name and renamed when complete, with a description beside it
 * (`<name>.preflens.json`: the data, the model's content hash, the convention and lengths, the rows), which `--check`
 * reads and which keeps a finished part from being computed again, or a part of other data or another model from
 * being overwritten.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { InputError } from './errors.js';
import { decodeUtf8, iterateArrayElements, iterateLines, oversizeMessage, type RawItem, sniffSource, wholeItem, withFile } from './jsonl/reader.js';
import { cellsJson, isParquetFile, openParquet, type ParquetFile, readRowGroupCells } from './parquet/parquet.js';
import { recordsOfValue } from './records.js';
import { detectFormat } from './scan/detect.js';
import { scoreRecords, type ScoreOptions } from './engine/score.js';
import type { ScoringModel } from './engine/model.js';
import { isFailed, isSkipped, type ScoreLine } from './contract.js';
import type { FormatName, PreferenceRecord } from './types.js';

export class RefsError extends InputError {}

/** The columns a refs output adds. */
export const REF_COLUMNS = ['ref_chosen_logps', 'ref_rejected_logps', 'ref_margin', 'preflens_skipped'] as const;

/** One row's added values. */
export interface RefValues {
  ref_chosen_logps: number | null;
  ref_rejected_logps: number | null;
  ref_margin: number | null;
  preflens_skipped: string | null;
}

/** What an output (or a part) was computed from: compared when a part exists already, and by `--check`. */
export interface RefsMeta {
  preflens: 'refs';
  version: 1;
  data: { name: string; size: number; mtimeMs: number };
  model: { dir: string; hash: string };
  convention: string;
  limits: { maxPromptLength: number | null; maxCompletionLength: number | null; maxLength: number | null; truncationMode: string | null };
  /** [I, N] for a part, null for a whole output. */
  part: [number, number] | null;
  /** The input rows it holds: [from, to), 0-based among the file's rows (non-blank lines, array elements, Parquet rows). */
  rows: [number, number];
  totalRows: number;
  format: FormatName | null;
}

export interface RefsOptions extends Pick<ScoreOptions, 'convention' | 'maxPromptLength' | 'maxCompletionLength' | 'maxLength' | 'truncationMode' | 'tokenBudget' | 'signal'> {
  format?: FormatName;
  /** [I, N]: the part written (OUT is then a folder); none: the whole file to OUT. */
  part?: [number, number];
  /** Records per engine round (default 32). */
  chunk?: number;
  onProgress?: (p: { rows: number; total: number; tokens: number; seconds: number }) => void;
  /** Before computing: the output already finished (same data, model and settings) is kept as it is. */
  onKept?: (path: string) => void;
}

export interface RefsResult {
  path: string;
  rows: number;
  scored: number;
  skipped: number;
  tokens: number;
  seconds: number;
  /** The output existed, finished with the same inputs: nothing was computed. */
  kept: boolean;
}

/** Where a part of an output folder goes. */
export function partName(i: number, n: number, ext: string): string {
  const pad = (x: number): string => String(x).padStart(5, '0');
  return `part-${pad(i)}-of-${pad(n)}${ext}`;
}

/** The output format: OUT's extension, or the input's kind. */
export function outputKind(data: string, out: string): '.parquet' | '.jsonl' {
  const e = extname(out).toLowerCase();
  if (e === '.parquet') return '.parquet';
  if (e === '.jsonl' || e === '.json' || e === '.ndjson') return '.jsonl';
  return isParquetFile(data) ? '.parquet' : '.jsonl';
}

const metaPath = (out: string): string => `${out}.preflens.json`;

function dataIdentity(path: string): RefsMeta['data'] {
  const st = statSync(path);
  return { name: basename(path), size: st.size, mtimeMs: Math.round(st.mtimeMs) };
}

/** The rows of a JSON file (non-blank lines, or array elements), counted. */
function jsonRows(path: string): number {
  return withFile(path, (fd, size) => {
    const { kind, bomLength } = sniffSource(fd, path);
    let n = 0;
    const items: Iterable<RawItem> = kind === 'jsonl' ? iterateLines(fd, bomLength, size, 1) : kind === 'json-array' ? iterateArrayElements(fd, bomLength, () => undefined) : [{ line: 1, offset: 0, bytes: Buffer.from('{}') }];
    for (const it of items) if (it.oversize !== undefined || !isBlank(it.bytes)) n++;
    return n;
  });
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  return true;
}

/** A row's values from its record's scoring under the reference (a pair's sums; otherwise why there are none). */
function valuesOf(line: ScoreLine): RefValues {
  if (isSkipped(line)) return { ref_chosen_logps: null, ref_rejected_logps: null, ref_margin: null, preflens_skipped: line.skipped };
  if (isFailed(line)) return { ref_chosen_logps: null, ref_rejected_logps: null, ref_margin: null, preflens_skipped: line.error };
  if (!line.chosen || !line.rejected) return none('not a preference pair: TRL reads reference log-probabilities for chosen and rejected responses only');
  return { ref_chosen_logps: line.chosen.logp, ref_rejected_logps: line.rejected.logp, ref_margin: line.chosen.logp - line.rejected.logp, preflens_skipped: null };
}

function none(why: string): RefValues {
  return { ref_chosen_logps: null, ref_rejected_logps: null, ref_margin: null, preflens_skipped: why };
}

/** A row of the input: its position, its record (when it holds one pair), or why it has no numbers. */
interface Row {
  /** 0-based among the file's rows. */
  k: number;
  /** 1-based line (JSON) or row (Parquet). */
  line: number;
  record: PreferenceRecord | null;
  why: string | null;
  /** JSON input: the row's bytes (an object's, to which the columns are appended), or null when it is not an object. */
  bytes?: Buffer | null;
  /** Parquet input: the row as JSON (for a JSON Lines output) and its cells as hyparquet reads them (for Parquet). */
  json?: Record<string, unknown>;
  cells?: unknown[];
}

/** The record a row's parsed value holds: one pair, or a reason. */
function recordOf(value: unknown, line: number, k: number, format: FormatName | null, strict: boolean): { record: PreferenceRecord | null; why: string | null } {
  const got = recordsOfValue(value, { index: k, line, offset: 0 }, format, strict);
  if ('error' in got) return { record: null, why: got.error.message };
  if (got.records.length !== 1 || got.records[0].kind !== 'pair' || got.records[0].candidates.length !== 2) return { record: null, why: 'not a preference pair: TRL reads reference log-probabilities for chosen and rejected responses only' };
  for (const c of REF_COLUMNS)
    if (value && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, c)) throw new RefsError(`line ${line}: the row already has a "${c}" column (an output of preflens refs?): refs reads the original data`);
  return { record: got.records[0], why: null };
}

/** The rows [from, to) of a JSON file, with their records, in order, in batches of `chunk` pair records. */
async function* jsonRowBatches(path: string, from: number, to: number, format: FormatName | null, strict: boolean, chunk: number): AsyncGenerator<Row[]> {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const { kind, bomLength } = sniffSource(fd, path);
    const items: Iterable<RawItem> =
      kind === 'jsonl' ? iterateLines(fd, bomLength, size, 1) : kind === 'json-array' ? iterateArrayElements(fd, bomLength, () => undefined) : [wholeItem(fd, bomLength, size)];
    let k = 0;
    let batch: Row[] = [];
    let pairs = 0;
    for (const it of items) {
      if (it.oversize === undefined && isBlank(it.bytes)) continue;
      const here = k++;
      if (here < from) continue;
      if (here >= to) break;
      if (it.oversize !== undefined) {
        batch.push({ k: here, line: it.line, record: null, why: oversizeMessage(it.oversize), bytes: null });
        continue;
      }
      const { text } = decodeUtf8(it.bytes);
      let value: unknown;
      let row: Row;
      try {
        value = JSON.parse(text);
        const r = recordOf(value, it.line, here, format, strict);
        row = { k: here, line: it.line, ...r, bytes: value && typeof value === 'object' && !Array.isArray(value) ? Buffer.from(it.bytes) : null };
      } catch (e) {
        if (e instanceof RefsError) throw e;
        row = { k: here, line: it.line, record: null, why: `not valid JSON (${e instanceof Error ? e.message : String(e)})`, bytes: null };
      }
      batch.push(row);
      if (row.record) pairs++;
      if (pairs >= chunk) {
        yield batch;
        batch = [];
        pairs = 0;
      }
    }
    if (batch.length) yield batch;
  } finally {
    closeSync(fd);
  }
}


/** The rows [from, to) of a Parquet file, row group by row group, with their records and cells. */
async function* parquetRowBatches(pf: ParquetFile, from: number, to: number, format: FormatName | null, strict: boolean): AsyncGenerator<Row[]> {
  for (let g = 0; g < pf.rowGroups.length; g++) {
    const { start, rows } = pf.rowGroups[g];
    if (start + rows <= from || start >= to) continue;
    // a row group SLICE_ROWS rows at a time: DuckDB writes 122,880 rows per group, which as JavaScript values (texts,
    // cells, records) took 2.4 GB whole; each slice is also a row group of a Parquet output
    for (let a = Math.max(0, from - start), end = Math.min(rows, to - start); a < end; a += SLICE_ROWS) {
      let cells: unknown[][];
      try {
        cells = await readRowGroupCells(pf, g, a, Math.min(end, a + SLICE_ROWS));
      } catch (e) {
        // a row group that cannot be read: its rows have no numbers, and no cells to write
        throw new RefsError(`${e instanceof Error ? e.message : String(e)}: its rows cannot be written`);
      }
      yield cells.map((row, i) => {
        const k = start + a + i;
        const value = cellsJson(pf, row);
        return { k, line: k + 1, ...recordOf(value, k + 1, k, format, strict), json: value, cells: row };
      });
    }
  }
}

/** The most rows of a Parquet input held at once (and the most rows of an output row group). */
const SLICE_ROWS = 10_000;

/**
 * Computes the reference's log-probabilities for the rows of `data` (the part `opts.part` of them) and writes them to
 * `out` (a file; for a part, the part's file in the folder `out`). Returns what was written.
 */
export async function writeRefs(data: string, ref: ScoringModel, out: string, opts: RefsOptions): Promise<RefsResult> {
  const t0 = performance.now();
  if (!existsSync(data)) throw new InputError(`${data}: no such file`);
  const kind = outputKind(data, out);
  const parquetIn = isParquetFile(data);
  const pf = parquetIn ? await openParquet(data) : null;
  const totalRows = pf ? pf.rows : jsonRows(data);
  const [i, n] = opts.part ?? [0, 1];
  const from = Math.floor((totalRows * i) / n);
  const to = Math.floor((totalRows * (i + 1)) / n);
  const target = opts.part ? join(out, partName(i, n, kind)) : out;
  const guess = opts.format ? null : await detectFormat(data, pf ? { pf } : {});
  const format = opts.format ?? guess?.format ?? null;
  const strict = opts.format !== undefined || guess?.fromSchema === true;
  const meta: RefsMeta = {
    preflens: 'refs',
    version: 1,
    data: dataIdentity(data),
    model: { dir: ref.dir, hash: ref.contentHash },
    convention: opts.convention ?? 'trl-legacy',
    limits: { maxPromptLength: opts.maxPromptLength, maxCompletionLength: opts.maxCompletionLength, maxLength: opts.maxLength ?? null, truncationMode: opts.truncationMode ?? null },
    part: opts.part ?? null,
    rows: [from, to],
    totalRows,
    format,
  };
  // an output that exists: kept when it is this computation finished, refused when it is anything else
  if (existsSync(target)) {
    const why = sameComputation(target, meta);
    if (why === null) {
      opts.onKept?.(target);
      return { path: target, rows: to - from, scored: 0, skipped: 0, tokens: 0, seconds: 0, kept: true };
    }
    throw new RefsError(`${target} exists and ${why}: PrefLens does not overwrite it (remove it, or choose another --out)`);
  }
  // the temporary files of this output left by a job that was killed: it is rewritten whole
  const dir = dirname(target);
  for (const f of readdirSync(dir)) if (f.startsWith(`${basename(target)}.`) && f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
  const tmp = `${target}.${process.pid}.tmp`;
  const counters = { tokens: 0 };
  let rows = 0;
  let scored = 0;
  const scoreOpts: ScoreOptions = { beta: 0.1, convention: opts.convention, maxPromptLength: opts.maxPromptLength, maxCompletionLength: opts.maxCompletionLength, maxLength: opts.maxLength, truncationMode: opts.truncationMode, tokenBudget: opts.tokenBudget, signal: opts.signal, noCache: true };
  const score = async (batch: Row[]): Promise<RefValues[]> => {
    const recs = batch.filter((r) => r.record).map((r) => r.record as PreferenceRecord);
    const lines = recs.length ? await scoreRecords(recs, ref, null, scoreOpts, counters) : [];
    let q = 0;
    const out = batch.map((r) => (r.record ? valuesOf(lines[q++]) : none(r.why ?? 'no record')));
    rows += batch.length;
    scored += out.filter((v) => v.ref_chosen_logps !== null).length;
    opts.onProgress?.({ rows, total: to - from, tokens: counters.tokens, seconds: (performance.now() - t0) / 1000 });
    return out;
  };
  const chunk = opts.chunk ?? 32;
  const sink = kind === '.parquet' ? await parquetSink(tmp, pf, meta) : jsonSink(tmp);
  try {
    const batches = pf ? parquetRowBatches(pf, from, to, format, strict) : jsonRowBatches(data, from, to, format, strict, chunk);
    for await (const rowsIn of batches) {
      // Parquet row groups are scored in engine rounds of `chunk` pairs
      for (let s = 0; s < rowsIn.length; ) {
        let e = s;
        let pairs = 0;
        while (e < rowsIn.length && pairs < chunk) if (rowsIn[e++].record) pairs++;
        const part = rowsIn.slice(s, e);
        await sink.add(part, await score(part));
        s = e;
      }
      await sink.flush();
    }
    await sink.close();
    writeFileSync(metaPath(target), JSON.stringify({ ...meta, written: { rows, scored, tokens: counters.tokens } }, null, 1) + '\n');
    renameSync(tmp, target);
  } catch (e) {
    sink.abort();
    rmSync(tmp, { force: true });
    throw e;
  }
  if (rows !== to - from) throw new RefsError(`${data}: ${rows} rows read where ${to - from} were expected (the file changed while it was read?)`);
  return { path: target, rows, scored, skipped: rows - scored, tokens: counters.tokens, seconds: (performance.now() - t0) / 1000, kept: false };
}

/** Why an existing output is not this computation finished (null: it is). */
function sameComputation(target: string, meta: RefsMeta): string | null {
  let have: RefsMeta;
  try {
    have = JSON.parse(readFileSync(metaPath(target), 'utf8')) as RefsMeta;
  } catch {
    return 'is not a finished output of preflens refs (no readable description beside it)';
  }
  if (have.preflens !== 'refs') return 'is not an output of preflens refs';
  if (JSON.stringify(have.data) !== JSON.stringify(meta.data)) return `was computed from other data (${have.data.name}, ${have.data.size} bytes)`;
  if (have.model.hash !== meta.model.hash) return `was computed with another model (${have.model.dir})`;
  if (have.convention !== meta.convention || JSON.stringify(have.limits) !== JSON.stringify(meta.limits)) return `was computed under another convention or lengths (${have.convention}, ${JSON.stringify(have.limits)})`;
  if (JSON.stringify(have.part) !== JSON.stringify(meta.part) || JSON.stringify(have.rows) !== JSON.stringify(meta.rows)) return `holds other rows (${JSON.stringify(have.rows)})`;
  return null;
}

interface Sink {
  add(rows: Row[], values: RefValues[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  abort(): void;
}

/** JSON Lines: a JSON row's own bytes with the four fields appended; a Parquet row as compact JSON with them. */
function jsonSink(tmp: string): Sink {
  const fd = openSync(tmp, 'w');
  let pending: Buffer[] = [];
  let size = 0;
  const put = (b: Buffer): void => {
    pending.push(b);
    size += b.length;
    if (size > 1 << 20) flushNow();
  };
  const flushNow = (): void => {
    if (!pending.length) return;
    writeSync(fd, Buffer.concat(pending));
    pending = [];
    size = 0;
  };
  const fields = (v: RefValues): string => REF_COLUMNS.map((c) => `${JSON.stringify(c)}:${JSON.stringify(v[c])}`).join(',');
  return {
    async add(rows, values) {
      rows.forEach((r, j) => {
        const v = values[j];
        if (r.json) put(Buffer.from(JSON.stringify({ ...r.json, ...v }) + '\n'));
        else if (r.bytes) {
          // the object's own bytes, up to its closing brace, then the columns
          let e = r.bytes.length;
          while (e > 0 && r.bytes[e - 1] !== 0x7d) e--;
          const body = r.bytes.subarray(0, e - 1);
          let p = body.length;
          while (p > 0 && (body[p - 1] === 0x20 || body[p - 1] === 0x09 || body[p - 1] === 0x0d)) p--;
          const empty = body.subarray(0, p).toString('latin1').trimEnd().endsWith('{');
          put(Buffer.concat([body.subarray(0, p), Buffer.from(`${empty ? '' : ','}${fields(v)}}\n`)]));
        } else put(Buffer.from(`{${fields(v)}}\n`));
      });
    },
    async flush() {
      flushNow();
    },
    async close() {
      flushNow();
      closeSync(fd);
    },
    abort() {
      try {
        closeSync(fd);
      } catch {
        /* closed */
      }
    },
  };
}

/**
 * Parquet written by hyparquet-writer, one row group per input row group (JSON input: every 10,000 rows): a Parquet
 * input's schema and cells with the four columns appended; a JSON input's columns inferred from its first rows.
 */
async function parquetSink(tmp: string, pf: ParquetFile | null, meta: RefsMeta): Promise<Sink> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];
  const added: SchemaElement[] = [
    { name: 'ref_chosen_logps', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'ref_rejected_logps', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'ref_margin', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'preflens_skipped', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  ];
  let writer: InstanceType<typeof ParquetWriter> | null = null;
  let names: string[] = [];
  let kinds = new Map<string, ColumnKind>();
  let buffered: { rows: Row[]; values: RefValues[] } = { rows: [], values: [] };
  const kv = [{ key: 'preflens.refs', value: JSON.stringify(meta) }];
  const open = (schema: SchemaElement[]): void => {
    writer = new ParquetWriter({ writer: fileWriter(tmp), schema, kvMetadata: kv, createdBy: 'preflens refs (hyparquet-writer)' });
  };
  if (pf) {
    const schema = pf.metadata.schema as unknown as SchemaElement[];
    names = pf.columns;
    open([{ ...schema[0], num_children: (schema[0].num_children ?? 0) + added.length }, ...schema.slice(1), ...added]);
  }
  const write = (): void => {
    const { rows, values } = buffered;
    if (!rows.length) return;
    if (!writer) {
      // a JSON input: its columns from the rows buffered so far
      const inferred = inferSchema(rows.map((r) => (r.bytes ? (JSON.parse(r.bytes.toString('utf8')) as Record<string, unknown>) : {})));
      names = inferred.names;
      kinds = inferred.kinds;
      open([{ name: 'root', num_children: inferred.elements.filter((e) => e.depth === 0).length + added.length }, ...inferred.elements.map(({ depth: _d, ...e }) => e as unknown as SchemaElement), ...added]);
    }
    const objs = pf ? null : rows.map((r) => (r.bytes ? (JSON.parse(r.bytes.toString('utf8')) as Record<string, unknown>) : {}));
    // a JSON row after the first 10,000 with a column they do not have, or a value of another kind: said, not dropped
    if (objs)
      objs.forEach((o, j) => {
        for (const [key, v] of Object.entries(o)) {
          if ((REF_COLUMNS as readonly string[]).includes(key)) continue;
          const kind = kinds.get(key);
          if (kind === undefined || !fitsKind(kind, v))
            throw new RefsError(
              `${meta.data.name}: line ${rows[j].line}: column "${key}" ${kind === undefined ? 'is not one of the columns of the first rows' : `holds a value that is not ${kind === 'strings' ? 'a list of strings' : kind === 'messages' ? 'a list of messages' : `a ${kind}`} as in the first rows`} (the Parquet schema is taken from the first 10,000 rows): write JSON Lines (--out ….jsonl)`,
            );
        }
      });
    const columnData = [
      ...names.map((name, c) => ({ name, data: rows.map((r, j) => (pf ? (r.cells?.[c] ?? null) : (objs?.[j]?.[name] ?? null))) })),
      ...REF_COLUMNS.map((name) => ({ name, data: values.map((v) => v[name]) })),
    ];
    (writer as unknown as InstanceType<typeof ParquetWriter>).write({ columnData, rowGroupSize: rows.length });
    buffered = { rows: [], values: [] };
  };
  return {
    async add(rows, values) {
      buffered.rows.push(...rows);
      buffered.values.push(...values);
      if (!pf && buffered.rows.length >= 10_000) write();
    },
    async flush() {
      if (pf) write();
    },
    async close() {
      write();
      if (!writer) open([{ name: 'root', num_children: added.length }, ...added]);
      (writer as unknown as InstanceType<typeof ParquetWriter>).finish();
    },
    abort() {
      /* the temporary file is removed by the caller */
    },
  };
}


/**
 * The Parquet columns of JSON rows, as the hub's files hold them: strings, numbers (DOUBLE), booleans, lists of
 * messages (list<struct<…>> of their string fields), lists of strings; other values (objects, mixed lists) as JSON text.
 */
export function inferSchema(rows: Array<Record<string, unknown>>): { names: string[]; elements: Array<Record<string, unknown> & { depth: number }>; kinds: Map<string, ColumnKind> } {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k) && !(REF_COLUMNS as readonly string[]).includes(k)) {
    seen.add(k);
    names.push(k);
  }
  const elements: Array<Record<string, unknown> & { depth: number }> = [];
  const kinds = new Map<string, ColumnKind>();
  for (const name of names) {
    const vals = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined);
    const kind = COLUMN_KINDS.find((k) => vals.every((v) => fitsKind(k, v)));
    if (kind) kinds.set(name, kind);
    if (vals.every((v) => typeof v === 'string')) elements.push({ depth: 0, name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    else if (vals.every((v) => typeof v === 'number')) elements.push({ depth: 0, name, type: 'DOUBLE', repetition_type: 'OPTIONAL' });
    else if (vals.every((v) => typeof v === 'boolean')) elements.push({ depth: 0, name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
    else if (vals.every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      elements.push({ depth: 0, name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' });
      elements.push({ depth: 1, name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      elements.push({ depth: 2, name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    } else if (vals.every((v) => Array.isArray(v) && v.every((x) => x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every((f) => typeof f === 'string')))) {
      const fields: string[] = [];
      for (const v of vals as unknown[][]) for (const x of v as Array<Record<string, unknown>>) for (const f of Object.keys(x)) if (!fields.includes(f)) fields.push(f);
      elements.push({ depth: 0, name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' });
      elements.push({ depth: 1, name: 'list', repetition_type: 'REPEATED', num_children: 1 });
      elements.push({ depth: 2, name: 'element', repetition_type: 'OPTIONAL', num_children: fields.length });
      for (const f of fields) elements.push({ depth: 3, name: f, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    } else throw new RefsError(`column "${name}" holds values PrefLens does not write to Parquet (${[...new Set(vals.map((v) => (Array.isArray(v) ? 'list' : typeof v)))].join(', ')}): write JSON Lines (--out ….jsonl)`);
  }
  return { names, elements, kinds };
}

/** The kinds of JSON column inferSchema writes to Parquet (in the order it tries them). */
const COLUMN_KINDS = ['string', 'number', 'boolean', 'strings', 'messages'] as const;
type ColumnKind = (typeof COLUMN_KINDS)[number];

function fitsKind(kind: ColumnKind, v: unknown): boolean {
  if (v === null || v === undefined) return true;
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'messages':
      return Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x) && Object.values(x as object).every((f) => typeof f === 'string'));
  }
}

/** What `--check` finds: the parts of an output folder (or one output file) against the data. */
export interface RefsCheck {
  ok: boolean;
  problems: string[];
  parts: number;
  rows: number;
}

/**
 * Verifies a finished output against the data: every part present and finished (its description beside it), of
 * this data, one model and convention, their row ranges contiguous and covering the file, each holding its rows.
 */
export async function checkRefs(data: string, out: string): Promise<RefsCheck> {
  const problems: string[] = [];
  if (!existsSync(data)) throw new InputError(`${data}: no such file`);
  if (!existsSync(out)) throw new InputError(`${out}: no such file or folder`);
  const id = dataIdentity(data);
  const files = statSync(out).isDirectory()
    ? readdirSync(out).filter((f) => /^part-\d{5}-of-\d{5}\.(jsonl|parquet)$/.test(f)).sort().map((f) => join(out, f))
    : [out];
  if (!files.length) return { ok: false, problems: [`${out}: no part-NNNNN-of-NNNNN files`], parts: 0, rows: 0 };
  const metas: RefsMeta[] = [];
  for (const f of files) {
    try {
      metas.push(JSON.parse(readFileSync(metaPath(f), 'utf8')) as RefsMeta);
    } catch {
      problems.push(`${f}: no description beside it (${basename(metaPath(f))}): not a finished part`);
    }
  }
  if (problems.length) return { ok: false, problems, parts: files.length, rows: 0 };
  const total = metas[0].totalRows;
  const n = metas[0].part?.[1] ?? 1;
  if (metas.some((m) => JSON.stringify(m.data) !== JSON.stringify(id))) problems.push(`parts computed from other data than ${data} (${[...new Set(metas.map((m) => `${m.data.name} ${m.data.size} bytes`))].join(', ')})`);
  if (new Set(metas.map((m) => m.model.hash)).size > 1) problems.push(`parts of different models: ${[...new Set(metas.map((m) => m.model.dir))].join(', ')}`);
  if (new Set(metas.map((m) => `${m.convention} ${JSON.stringify(m.limits)}`)).size > 1) problems.push('parts of different conventions or lengths');
  if (metas.length !== n) {
    const have = new Set(metas.map((m) => m.part?.[0] ?? 0));
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !have.has(i));
    problems.push(`${metas.length} of ${n} parts: missing ${missing.map((i) => partName(i, n, extname(files[0]))).join(', ')}`);
  }
  let at = 0;
  let rows = 0;
  for (const [j, m] of metas.entries()) {
    if (m.rows[0] !== at) problems.push(`${basename(files[j])} starts at row ${m.rows[0] + 1}, not ${at + 1}: rows missing or out of order`);
    at = m.rows[1];
    const got = await countRows(files[j]);
    rows += got;
    if (got !== m.rows[1] - m.rows[0]) problems.push(`${basename(files[j])} holds ${got} rows, not ${m.rows[1] - m.rows[0]}`);
  }
  if (!problems.length && at !== total) problems.push(`the parts end at row ${at}, the file has ${total}`);
  const now = isParquetFile(data) ? (await openParquet(data)).rows : jsonRows(data);
  if (now !== total) problems.push(`${data} has ${now} rows now, ${total} when the output was computed`);
  return { ok: problems.length === 0, problems, parts: files.length, rows };
}

async function countRows(file: string): Promise<number> {
  if (isParquetFile(file)) return (await openParquet(file)).rows;
  return jsonRows(file);
}
