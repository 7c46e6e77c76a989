/**
 * Scanning a preference file (docs/ARCHITECTURE.md, "Scanning a file"): format detection, then the file's byte
 * ranges scanned in parallel (one worker job per range; the CLI scans the first range on its own thread) and merged:
 * format, every check, length statistics and the record index (line, byte offset, length of every record).
 */
import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type CheckOptions, DEFAULT_CHECK_OPTIONS } from '../checks/record.js';
import { CancelledError, InputError } from '../errors.js';
import { jobFailure, Prestarted, startJob } from '../jobs.js';
import { nextLineStart, withFile } from '../jsonl/reader.js';
import { detectFormat } from './detect.js';
import { crossRangeCandidates, merge } from './merge.js';
import { exactKeysOf } from './builder.js';
import { scanRange } from './jsonRange.js';
import { scanParquetRange } from './parquetRange.js';
import { loadTokenCounter } from './rangeScan.js';
import { fastParseAvailable, KeyKernel, ScanKernel } from './kernel.js';
import type { RangeResult, RangeTask, ScanOptions, ScanResult, ScanSummary } from './types.js';
import { isParquetFile, openParquet, type ParquetFile, rowGroupBytes, rowGroupOf } from '../parquet/parquet.js';
import { RowGroupLines } from '../parquet/rowLines.js';
import { FORMAT_NAMES, type FormatName } from '../types.js';

/**
 * The scan worker's script: beside this module in the bundles (dist/scanWorker.js), else src/workers/scanWorker.ts
 * transpiled (out/src/workers/scanWorker.js, for the tests).
 */
export function defaultWorkerScript(): string {
  const beside = join(__dirname, 'scanWorker.js');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'workers', 'scanWorker.js');
}

type ScanWorker = Prestarted<RangeTask, number, RangeResult>;

/** Scans one range in a worker job (on a prestarted worker when one is given); its progress messages are bytes done. */
async function scanInWorker(script: string, task: RangeTask, onProgress: (bytes: number) => void, signal?: AbortSignal, worker?: ScanWorker): Promise<RangeResult> {
  const opts = { onMessage: onProgress, signal, cancel: 'terminate' as const };
  const end = await (worker ? worker.run(task, opts) : startJob<RangeTask, number, RangeResult>(script, task, opts));
  if (end.type !== 'done') throw jobFailure(end);
  return end.result;
}

/** Scans a whole file. Throws InputError for unreadable or empty files. */
export async function scanFile(path: string, options: ScanOptions & { index: false }): Promise<ScanSummary>;
export async function scanFile(path: string, options?: ScanOptions): Promise<ScanResult>;
export async function scanFile(path: string, options: ScanOptions = {}): Promise<ScanSummary> {
  const t0 = performance.now();
  if (!existsSync(path)) throw new InputError(`${path}: no such file`);
  const st = statSync(path);
  if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a preference file`);
  if (st.size === 0) throw new InputError(`${path}: the file is empty`);
  const { onHead, ...rest } = options;
  if (onHead && (options.headBytes === undefined || st.size <= options.headBytes)) return scanFile(path, rest);
  const parquet = isParquetFile(path);
  // (a Parquet file the kernel reads is scanned in one pass, head included: scanParquetFile)
  const onePass = parquet && !options.tokenizerDir && !options.exactOnly;
  if (onHead && !onePass) {
    // the head (quick: no model tokenizer, the kernel where it reads the records), then the whole file: two scans
    onHead(await scanFile(path, { ...rest, tokenizerDir: undefined, exactOnly: undefined }));
    return scanFile(path, { ...rest, headBytes: undefined });
  }
  if (parquet) return scanParquetFile(path, st.size, options, t0);
  const guess = options.detected ?? (await detectFormat(path));
  if (!options.detected) options.onDetected?.(guess);
  const format = options.format ?? guess.format;
  const opts: CheckOptions = { ...DEFAULT_CHECK_OPTIONS, ...options.checks };
  const maxErrors = options.maxErrors ?? 10000;
  const base: Omit<RangeTask, 'start' | 'end'> = {
    path,
    kind: guess.kind,
    bomLength: guess.bomLength,
    format,
    strict: options.format !== undefined,
    opts,
    tokenizerDir: options.tokenizerDir,
    maxErrors,
    exactOnly: options.exactOnly,
  };
  const nWorkers = options.workers ?? availableParallelism();
  const threshold = options.parallelThreshold ?? 16 << 20;
  let ranges: RangeResult[];
  if (options.headBytes !== undefined && guess.kind === 'jsonl' && st.size > options.headBytes) {
    const end = withFile(path, (fd, size) => nextLineStart(fd, options.headBytes ?? 0, size));
    const head = scanRange({ ...base, start: 0, end }, null);
    const res = merge(path, [head], format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir, options.index !== false);
    res.partial = true;
    res.scannedBytes = end;
    res.seconds = (performance.now() - t0) / 1000;
    return res;
  }
  if (guess.kind !== 'jsonl' || nWorkers <= 1 || st.size < threshold) {
    const tok = options.tokenizerDir ? await loadTokenCounter(options.tokenizerDir) : null;
    if (options.signal?.aborted) throw new CancelledError();
    ranges = [scanRange({ ...base, start: 0, end: st.size }, tok, (b) => options.onProgress?.(b, st.size))];
  } else {
    const bounds = withFile(path, (fd, size) => {
      const b = [0];
      for (let i = 1; i < nWorkers; i++) b.push(nextLineStart(fd, Math.floor((size * i) / nWorkers), size));
      b.push(size);
      return b;
    });
    const done = new Array<number>(nWorkers).fill(0);
    const progress = (i: number, b: number): void => {
      done[i] = b;
      options.onProgress?.(
        done.reduce((s, x) => s + x, 0),
        st.size,
      );
    };
    const script = options.workerScript ?? defaultWorkerScript();
    // With `inline`, this thread scans the first range itself while the workers start up.
    const first = options.inline ? 1 : 0;
    const running = bounds.slice(first, -1).map((start, j) => {
      const i = j + first;
      return scanInWorker(script, { ...base, start, end: bounds[i + 1] }, (b) => progress(i, b), options.signal);
    });
    const tok = options.inline && options.tokenizerDir ? await loadTokenCounter(options.tokenizerDir) : null;
    const own = options.inline ? [scanRange({ ...base, start: 0, end: bounds[1] }, tok, (b) => progress(0, b))] : [];
    ranges = [...own, ...(await Promise.all(running))];
  }
  const res = merge(path, ranges, format, options.format ? 'override' : 'detected', guess.kind, st.size, options.tokenizerDir, options.index !== false);
  res.seconds = (performance.now() - t0) / 1000;
  if (res.records === 0 && res.errorCount === 0) throw new InputError(`${path}: no records (the file holds only blank lines)`);
  return res;
}


/**
 * A Parquet file (docs/ARCHITECTURE.md, "Parquet"): its row groups split into consecutive stretches of about equal
 * decoded size, one per worker (the first on this thread with `inline`) or, when the scan kernel reads the rows, one
 * per pair of workers that meet in it, one reading from each end; each range's row groups are decoded one at a
 * time and scanned in memory (range.ts scanParquetRange: the texts where they lie, else the rows as JSON Lines), its
 * duplicate candidates keyed from their row groups; records that meet a record of another range are keyed here
 * (keyAcrossRanges). Nothing is written anywhere. The result names the Parquet file, numbers records by row, and lists
 * the row groups that could not be read. A schema that is not preference-shaped is refused, naming its columns, before
 * anything is read. The index's byte offsets are not bytes of anything: only its rows (`line`) and flags are
 * meaningful: records are read again by row (recordSource.ts).
 */
async function scanParquetFile(path: string, size: number, options: ScanOptions, t0: number): Promise<ScanSummary> {
  // A head first, then the rest (onHead): the workers for the rest start loading now, and start scanning from the end
  // of the file while the head is scanned (those it turns out not to need are ended unused). Without a head they are
  // started when their ranges are known: started sooner, they slowed this thread's opening of the file as much as they
  // gained (README, "Hub-shaped data").
  const parallel = options.onHead && size >= (options.parallelThreshold ?? 16 << 20) ? (options.workers ?? availableParallelism()) : 1;
  const script = options.workerScript ?? defaultWorkerScript();
  const prestarted: ScanWorker[] = Array.from({ length: parallel > 1 ? parallel - (options.inline ? 1 : 0) : 0 }, () => new Prestarted(script));
  let lines: RowGroupLines | null = null;
  try {
    const pf = await openParquet(path);
    if (pf.rows === 0) throw new InputError(`${path}: no records (the Parquet file has no rows)`);
    // one reader of the file on this thread: for the format, then for the range scanned here
    lines = new RowGroupLines(pf);
    const guess = options.format ? null : (options.detected ?? (await detectFormat(path, { pf, lines })));
    if (guess && !options.detected) options.onDetected?.(guess);
    const format = options.format ?? (guess?.format as FormatName);
    return await scanParquetRanges(pf, lines, format, size, options, t0, options.format !== undefined || guess?.fromSchema === true, prestarted);
  } finally {
    for (const w of prestarted) w.drop();
    lines?.close();
  }
}

async function scanParquetRanges(pf: ParquetFile, lines: RowGroupLines, format: FormatName, size: number, options: ScanOptions, t0: number, strict: boolean, prestarted: ScanWorker[] = []): Promise<ScanSummary> {
  const path = pf.path;
  // a head scan: the first row groups (at least one) whose column chunks hold about headBytes, on this thread; with
  // onHead, its result is given there and the scan goes on from the next row group, the head one of its ranges
  let head: RangeResult | null = null;
  let headTo = 0; // the head's row groups: [0, headTo)
  let headDone = 0; // the head's compressed bytes (its progress)
  if (options.headBytes !== undefined && size > options.headBytes && pf.rowGroups.length > 1) {
    headTo = 1;
    for (let acc = 0; headTo < pf.rowGroups.length; headTo++) {
      acc += rowGroupBytes(pf, headTo - 1);
      if (acc >= options.headBytes) break;
    }
  }
  /** The head's range (one of the whole scan's ranges) and its own result. */
  const scanHead = async (): Promise<{ range: RangeResult; res: ScanSummary }> => {
    const opts = { ...DEFAULT_CHECK_OPTIONS, ...options.checks };
    const task: RangeTask = { path, kind: 'jsonl', bomLength: 0, start: 0, end: 0, format, strict, opts, maxErrors: options.maxErrors ?? 10000, parquet: { from: 0, to: headTo } };
    const range = await scanParquetRange(task, null, undefined, { pf, lines, pause: options.pause });
    // (the merge marks duplicates in its ranges' flags: the head's own are kept for the whole scan's merge)
    const res = merge(path, [options.onHead ? { ...range, flags: range.flags.slice() } : range], format, options.format ? 'override' : 'detected', 'parquet', size, undefined, options.index !== false);
    res.partial = true;
    for (let g = 0; g < headTo; g++) headDone += rowGroupBytes(pf, g);
    res.scannedBytes = headDone;
    res.seconds = (performance.now() - t0) / 1000;
    return { range, res };
  };
  if (headTo > 0 && !options.onHead) return (await scanHead()).res;
  const from = headTo;
  const groups = pf.rowGroups.length - from;
  const decoded = pf.rowGroups.map((_, g) => rowGroupBytes(pf, g, true));
  const total = decoded.slice(from).reduce((a, b) => a + b, 0);
  const nRanges = Math.max(1, Math.min(groups, total < (options.parallelThreshold ?? 16 << 20) ? 1 : (options.workers ?? availableParallelism())));
  const opts = { ...DEFAULT_CHECK_OPTIONS, ...options.checks };
  // When the scan kernel reads the rows (no model tokenizer), ranges go in pairs that share a stretch of row groups and
  // meet in it, one reading from each end (RangeTask.parquet `claims`): a thread slowed by others on a shared machine
  // leaves more to its pair. Else each range has its own stretch.
  const paired = nRanges >= 2 && !options.tokenizerDir && !options.exactOnly && fastParseAvailable(format, opts);
  const stretches = paired ? Math.ceil(nRanges / 2) : nRanges;
  // consecutive row groups, about total / stretches decoded bytes each
  const bounds = [from];
  for (let g = from, acc = 0; g < pf.rowGroups.length && bounds.length < stretches; g++) {
    acc += decoded[g];
    if (acc >= (total * bounds.length) / stretches && g + 1 < pf.rowGroups.length) bounds.push(g + 1);
  }
  bounds.push(pf.rowGroups.length);
  const inline = nRanges === 1 || options.inline;
  const base: Omit<RangeTask, 'parquet'> = {
    path,
    kind: 'jsonl',
    bomLength: 0,
    start: 0,
    end: 0,
    format,
    strict,
    opts,
    tokenizerDir: options.tokenizerDir,
    maxErrors: options.maxErrors ?? 10000,
    exactOnly: options.exactOnly,
  };
  const claims = paired ? new SharedArrayBuffer(4 * stretches) : undefined;
  const tasks: RangeTask[] = [];
  // (the footer parsed here goes with each range: a worker does not parse it again)
  const footer = { metadata: pf.metadata, size };
  for (let i = 0; i + 1 < bounds.length && groups > 0; i++) {
    const stretch = { from: bounds[i], to: bounds[i + 1], footer };
    if (!paired) tasks.push({ ...base, parquet: stretch });
    else {
      tasks.push({ ...base, parquet: { ...stretch, claims, slot: i } });
      if (tasks.length < nRanges) tasks.push({ ...base, parquet: { ...stretch, claims, slot: i, backward: true } });
    }
  }
  const done = new Array<number>(tasks.length).fill(0);
  const progress = (i: number, b: number): void => {
    done[i] = b;
    options.onProgress?.(
      headDone + done.reduce((s, x) => s + x, 0),
      size,
    );
  };
  const first = inline && tasks.length > 0 ? 1 : 0;
  const script = options.workerScript ?? defaultWorkerScript();
  // The workers start on the rest of the file now, before a head is scanned here (it is given to onHead, then this
  // thread goes on with its own range): a worker's first row groups overlap the head instead of waiting for it. A
  // failure here (the head, this thread's range) stops them.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const running = tasks.slice(first).map((t, j) => scanInWorker(script, t, (b) => progress(j + first, b), stop.signal, prestarted[j]));
  let ranges: RangeResult[];
  try {
    if (headTo > 0 && options.onHead) {
      const h = await scanHead();
      head = h.range;
      options.onHead(h.res);
      if (options.signal?.aborted) throw new CancelledError();
    }
    const own = first ? [await scanParquetRange(tasks[0], options.tokenizerDir ? await loadTokenCounter(options.tokenizerDir) : null, (b) => progress(0, b), { pf, lines, pause: options.pause })] : [];
    if (options.signal?.aborted) throw new CancelledError();
    ranges = [...(head ? [head] : []), ...own, ...(await Promise.all(running))];
  } catch (e) {
    stop.abort();
    await Promise.allSettled(running);
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const res = await mergeParquetRanges(pf, lines, ranges, format, size, options);
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

/**
 * The scan of a Parquet file from its ranges' results, in file order (scanParquetRange): the records that meet one of
 * another range keyed (keyAcrossRanges), then the merge. `lines`: a reader of the file on this thread.
 */
export async function mergeParquetRanges(pf: ParquetFile, lines: RowGroupLines, ranges: RangeResult[], format: FormatName, size: number, options: ScanOptions): Promise<ScanSummary> {
  // (the key routines share the reader's instance: its memory is grown and touched already)
  const kk = new KeyKernel(lines.shared());
  const across = await keyAcrossRanges(pf, lines, ranges, kk);
  return merge(pf.path, ranges, format, options.format ? 'override' : 'detected', 'parquet', size, options.tokenizerDir, options.index !== false, across, kk);
}

/**
 * Exact keys of the records of Parquet ranges that meet a record of another range (merge.ts crossRangeCandidates) and
 * were not keyed by their range: their row groups read again on this thread, the keys added to their ranges' `exact`.
 * Returns those records (by global index), for the merge.
 */
async function keyAcrossRanges(pf: ParquetFile, lines: RowGroupLines, ranges: RangeResult[], kk: KeyKernel): Promise<Uint8Array | undefined> {
  if (ranges.length < 2) return undefined;
  const total = ranges.reduce((s, p) => s + p.count, 0);
  const cross = new Uint8Array(total);
  crossRangeCandidates(ranges, new Uint8Array(total), kk, cross);
  let at = 0;
  let kernel: ScanKernel | null = null;
  for (let w = 0; w < ranges.length; w++) {
    const p = ranges[w];
    const have = new Set<number>();
    for (let e = 0; e < p.exact.length; e += 4) have.add(p.exact[e]);
    const need: number[] = [];
    for (let j = cross.indexOf(1, at); j >= 0 && j < at + p.count; j = cross.indexOf(1, j + 1)) if (!have.has(j - at)) need.push(j - at);
    at += p.count;
    if (need.length === 0) continue;
    // a kernel sharing the reader's memory: it keys conversational rows from their tables
    kernel ??= new ScanKernel(null, DEFAULT_CHECK_OPTIONS, { batch: () => undefined, big: () => undefined }, lines.shared());
    // the row groups the range read (paired ranges met where their threads' speeds put the boundary)
    const read = p.rowGroups;
    if (!read) throw new Error('a Parquet range without its row groups');
    const first = pf.rowGroups[read.from].start;
    const added: number[][] = [];
    // by row group, each read as far as its last row needed (the rest of its pages not decompressed)
    const byGroup = new Map<number, Array<{ j: number; r: number }>>();
    for (const j of need) {
      const { g, r } = rowGroupOf(pf, first + p.line[j] - 1, read.from, read.to);
      const list = byGroup.get(g);
      if (list) list.push({ j, r });
      else byGroup.set(g, [{ j, r }]);
    }
    for (const [g, list] of [...byGroup].sort((x, y) => x[0] - y[0])) {
      // (a row group this thread scanned: those rows' pages decompressed from their seek points, RowGroupLines.loadRows)
      await lines.loadRows(g, list.map((x) => x.r));
      const raw = lines.rawTables();
      for (const { j, r } of list) {
        let k = raw && 'conv' in raw && FORMAT_NAMES[p.format[j]] === 'trl-conversational' ? kernel.exactKeysConv(raw.conv, r) : undefined;
        if (!k) {
          await lines.complete();
          k = exactKeysOf(lines.line(r), p, j, kernel) ?? undefined;
        }
        added.push([j, k ? k.recordHash : -2, k ? k.pairKey : -2, k ? k.swappedKey : -2]);
      }
    }
    const all: number[][] = [];
    for (let e = 0; e < p.exact.length; e += 4) all.push([p.exact[e], p.exact[e + 1], p.exact[e + 2], p.exact[e + 3]]);
    p.exact = Float64Array.from([...all, ...added].sort((x, y) => x[0] - y[0]).flat());
  }
  return cross;
}

