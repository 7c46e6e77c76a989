/**
 * The extension host's long-lived worker thread (docs/ARCHITECTURE.md, "Threads"): scanning (indexing + checks; a
 * Parquet file where it lies, as the CLI scans it), reading records (a Parquet file's from its row groups, the last few
 * kept decoded: recordSource.ts), text search, export, the hashes that tell whether scored records changed, the
 * heatmap's token alternatives and the checks of the model folders the settings name run here, so the host thread only
 * routes messages. Large files are split further across scan range jobs by scanFile.
 */
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { detectFormat, type FormatGuess, scanFile, type ScanOptions, type ScanResult, type ScanSummary } from '../core/scan/index.js';
import { InputError } from '../core/errors.js';
import { Answering } from '../core/jobs.js';
import { isParquetFile } from '../core/parquet/parquet.js';
import { type ReadRecord, type RecordIndex, type RecordRefs } from '../core/records.js';
import { openRecordSource, type RecordSource } from '../core/recordSource.js';
import { exportOrdered, exportRecords, type ExportOrder } from '../core/export.js';
import type { SourceKind } from '../core/jsonl/reader.js';
import { rawHash } from '../core/engine/hash.js';
import { type AlternativesQuery, tokenAlternatives } from '../core/engine/alternatives.js';
import { ModelTokenizer } from '../core/tokenize/encoder.js';
import type { Alternative } from '../core/contract.js';
import { checkModels, type ModelCheck } from '../core/engine/check.js';
import type { FormatName } from '../core/types.js';

export type WorkerRequest =
  /** `head`: the first records of about that many bytes come first (a `head` reply), then the whole file's scan. */
  | { id: number; op: 'scan'; path: string; options: Omit<ScanOptions, 'signal' | 'onProgress' | 'workerScript' | 'pause' | 'onHead' | 'headBytes'>; head?: number }
  | { id: number; op: 'search'; path: string; index: RecordIndex; format: FormatName | null; needle: string; subset: Uint32Array | null }
  | { id: number; op: 'hashes'; path: string; refs: RecordRefs; format: FormatName | null }
  | { id: number; op: 'records'; path: string; refs: RecordRefs; format: FormatName | null }
  | { id: number; op: 'export'; path: string; index: RecordIndex; source: SourceKind; dropLines: Uint32Array; target: string; order?: ExportOrder }
  | { id: number; op: 'alternatives'; query: AlternativesQuery; tokenizerDir: string }
  | { id: number; op: 'models'; policy: string | undefined; reference: string | undefined };

export type WorkerReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'head'; result: ScanResult }
  | { id: number; type: 'scan'; result: ScanResult | null }
  | { id: number; type: 'search'; matches: Uint32Array }
  | { id: number; type: 'hashes'; hashes: Array<string | null> }
  | { id: number; type: 'records'; records: ReadRecord[] }
  | { id: number; type: 'export'; written: number; files: string[]; withoutMargin: number }
  | { id: number; type: 'alternatives'; items: Alternative[] | string }
  | { id: number; type: 'models'; policy: ModelCheck | null; reference: ModelCheck | null }
  | { id: number; type: 'error'; message: string; input: boolean };

const port = parentPort;

/** Requests other than scans being answered: a Parquet range scanned on this thread waits for them (scan()). */
const answering = new Answering();

if (port) {
  port.on('message', (req: WorkerRequest) => {
    const answer = handle(req).catch((e: unknown) => {
      port.postMessage({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies WorkerReply);
    });
    void (req.op === 'scan' ? answer : answering.track(answer));
  });
}

const tokenizers = new Map<string, ModelTokenizer>();

async function handle(req: WorkerRequest): Promise<void> {
  if (!port) return;
  switch (req.op) {
    case 'scan':
      return scan(req);
    case 'search':
      return search(req);
    case 'hashes': {
      // sha256 of each record's raw text as it is now (null where it no longer reads): scored records are kept
      // only where it equals the hash they were scored with.
      const src = await source(req.path);
      const hashes: Array<string | null> = [];
      for (let i = 0; i < req.refs.line.length; i++) {
        const r = await src.read(req.refs, i, req.format).catch(() => null);
        hashes.push(r?.record ? rawHash(r.raw) : null);
      }
      port.postMessage({ id: req.id, type: 'hashes', hashes } satisfies WorkerReply);
      return;
    }
    case 'records': {
      // records for the inspector and the hovers: a Parquet file's from its row groups, decoded here
      // (a few: a row group is decoded only as far as they go)
      const src = await source(req.path);
      const records = await src.readFew(req.refs, req.format);
      port.postMessage({ id: req.id, type: 'records', records } satisfies WorkerReply);
      return;
    }
    case 'export': {
      const dropLines = new Set(req.dropLines);
      const onProgress = (done: number, total: number): void => port.postMessage({ id: req.id, type: 'progress', done, total } satisfies WorkerReply);
      if (req.order) {
        // a curriculum: the kept rows in the order of a margin (one file, or stages)
        const got = await exportOrdered(req.path, req.index, req.source, dropLines, req.target, req.order, { onProgress });
        port.postMessage({ id: req.id, type: 'export', written: got?.written ?? 0, files: got?.files ?? [], withoutMargin: got?.withoutMargin ?? 0 } satisfies WorkerReply);
        return;
      }
      const written = await exportRecords(req.path, req.index, req.source, dropLines, req.target, { onProgress });
      port.postMessage({ id: req.id, type: 'export', written: written ?? 0, files: [req.target], withoutMargin: 0 } satisfies WorkerReply);
      return;
    }
    case 'alternatives': {
      let tok = tokenizers.get(req.tokenizerDir);
      if (!tok) {
        tok = ModelTokenizer.load(req.tokenizerDir);
        tokenizers.set(req.tokenizerDir, tok);
      }
      port.postMessage({ id: req.id, type: 'alternatives', items: tokenAlternatives(req.query, tok) } satisfies WorkerReply);
      return;
    }
    case 'models':
      // the model folders of the settings, described and checked here: the host thread loads no tokenizer
      port.postMessage({ id: req.id, type: 'models', ...checkModels(req.policy, req.reference) } satisfies WorkerReply);
      return;
  }
}

async function scan(req: Extract<WorkerRequest, { op: 'scan' }>): Promise<void> {
  if (!port) return;
  // the file is being read again: its records are read afresh too
  closeSource(req.path);
  // a Parquet file is scanned where it lies, as the CLI scans it (no copy is written); its format is detected by the
  // scan with the reader it scans with (one footer parsed, one reader), then kept for the scans of the same version
  const parquet = isParquetFile(req.path);
  const known = parquet && !req.options.format ? await detection(req.path) : null;
  const guess = req.options.format ? null : known ? await known.guess : await detected(req.path);
  if (guess && guess.format === null) {
    port.postMessage({ id: req.id, type: 'scan', result: null } satisfies WorkerReply);
    return;
  }
  let last = 0;
  const result = await scanFile(req.path, {
    ...req.options,
    ...(guess ? { detected: guess } : {}),
    ...(known && !guess ? { onDetected: known.remember } : {}),
    // a huge file's first records first (a Parquet file scanned by the kernel is read once: scanFile onHead)
    ...(req.head !== undefined ? { headBytes: req.head, onHead: (head: ScanSummary) => port.postMessage({ id: req.id, type: 'head', result: head as ScanResult } satisfies WorkerReply, transferIndex(head as ScanResult)) } : {}),
    // a Parquet file's first range is scanned here, as the CLI scans it, instead of in one more worker that loads its
    // script and opens the file again: after each row group it waits until the requests for records and hovers asked
    // meanwhile are answered, so they wait a row group's time at most (about 30 ms on the hub's files)
    inline: parquet,
    pause: () => answering.quiet(),
    workerScript: join(__dirname, 'scanWorker.js'),
    onProgress: (done, total) => {
      const now = Date.now();
      if (now - last > 200) {
        last = now;
        port.postMessage({ id: req.id, type: 'progress', done, total } satisfies WorkerReply);
      }
    },
  });
  port.postMessage({ id: req.id, type: 'scan', result } satisfies WorkerReply, transferIndex(result));
}

/** The buffers of a scan's record index, moved to the extension host rather than copied. */
function transferIndex(result: ScanResult): ArrayBuffer[] {
  const ix = result.index;
  return [ix.line.buffer as ArrayBuffer, ix.offset.buffer as ArrayBuffer, ix.length.buffer as ArrayBuffer, ix.sub.buffer as ArrayBuffer, ix.flags.buffer as ArrayBuffer];
}

/** The format of each file last scanned, by path, for the version of the file it was detected in (size, mtime). */
const detections = new Map<string, { version: string; guess: Promise<FormatGuess> }>();

function keep(path: string, version: string, guess: Promise<FormatGuess>): void {
  if (detections.size >= 8 && !detections.has(path)) detections.delete(detections.keys().next().value as string);
  detections.set(path, { version, guess });
}

/**
 * The format kept for this version of a file (null when there is none), and a way to keep one that a scan detected
 * itself (ScanOptions.onDetected).
 */
async function detection(path: string): Promise<{ guess: Promise<FormatGuess> | null; version: string; remember: (g: FormatGuess) => void }> {
  const st = await stat(path);
  const version = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const had = detections.get(path);
  return { guess: had?.version === version ? had.guess : null, version, remember: (g) => keep(path, version, Promise.resolve(g)) };
}

/**
 * A JSON file's format, detected once per version of the file: the scans of that version (a rescan after a settings
 * change, a two-scan head and whole file: scanFile onHead) share it instead of each detecting it again. (A Parquet
 * file's is detected by its first scan, with the reader it scans with, and kept the same way: `detection`.)
 */
async function detected(path: string): Promise<FormatGuess> {
  const { guess: had, version } = await detection(path);
  if (had) return had;
  const guess = detectFormat(path);
  keep(path, version, guess);
  guess.catch(() => {
    if (detections.get(path)?.guess === guess) detections.delete(path);
  });
  return guess;
}

async function search(req: Extract<WorkerRequest, { op: 'search' }>): Promise<void> {
  if (!port) return;
  const needle = req.needle.toLowerCase();
  const out: number[] = [];
  const src = await source(req.path);
  const n = req.subset ? req.subset.length : req.index.line.length;
  for (let k = 0; k < n; k++) {
    const i = req.subset ? req.subset[k] : k;
    const r = await src.read(req.index, i, req.format).catch(() => null);
    if (!r) continue;
    const rec = r.record;
    const hay = rec ? [rec.prompt, ...rec.candidates.map((c) => c.text)].join('\n').toLowerCase() : r.raw.toLowerCase();
    if (hay.includes(needle)) out.push(i);
    if (k % 5000 === 4999) port.postMessage({ id: req.id, type: 'progress', done: k + 1, total: n } satisfies WorkerReply);
  }
  const matches = Uint32Array.from(out);
  port.postMessage({ id: req.id, type: 'search', matches } satisfies WorkerReply, [matches.buffer]);
}

/** Record sources of the files last read (recordSource.ts: a Parquet file keeps its last row groups decoded). */
const sources = new Map<string, Promise<RecordSource>>();

function source(path: string): Promise<RecordSource> {
  let s = sources.get(path);
  if (!s) {
    // a few files at most: the least recent is closed
    if (sources.size >= 4) closeSource(sources.keys().next().value as string);
    s = openRecordSource(path);
    s.catch(() => sources.delete(path));
    sources.set(path, s);
  } else {
    sources.delete(path);
    sources.set(path, s);
  }
  return s;
}

function closeSource(path: string): void {
  const s = sources.get(path);
  sources.delete(path);
  void s?.then((x) => x.close()).catch(() => undefined);
}
