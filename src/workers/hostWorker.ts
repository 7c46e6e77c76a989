/**
 * The extension host's long-lived worker thread (docs/ARCHITECTURE.md, "Threads"): scanning (indexing + checks; a
 * Parquet file through its JSON Lines mirror),
 * text search, the hashes that tell whether scored records changed, the heatmap's token alternatives and the checks of
 * the model folders the settings name run here,
 * so the host thread only routes messages. Large files are split further across scan range jobs by scanFile.
 */
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { detectFormat, scanFile, type ScanOptions, type ScanResult, withRowGroupErrors } from '../core/scan/index.js';
import { InputError } from '../core/errors.js';
import { isParquetFile, openParquet } from '../core/parquet/parquet.js';
import { parquetMirror } from '../core/parquet/mirror.js';
import { readRecordFd, type RecordIndex, type RecordRefs } from '../core/records.js';
import { withFile } from '../core/jsonl/reader.js';
import { rawHash } from '../core/engine/hash.js';
import { type AlternativesQuery, tokenAlternatives } from '../core/engine/alternatives.js';
import { ModelTokenizer } from '../core/tokenize/encoder.js';
import type { Alternative } from '../core/contract.js';
import { checkModels, type ModelCheck } from '../core/engine/check.js';
import type { FormatName, RecordError } from '../core/types.js';

export type WorkerRequest =
  | { id: number; op: 'scan'; path: string; options: Omit<ScanOptions, 'signal' | 'onProgress' | 'workerScript'> }
  | { id: number; op: 'search'; path: string; index: RecordIndex; format: FormatName | null; needle: string; subset: Uint32Array | null }
  | { id: number; op: 'hashes'; path: string; refs: RecordRefs; format: FormatName | null }
  | { id: number; op: 'alternatives'; query: AlternativesQuery; tokenizerDir: string }
  | { id: number; op: 'models'; policy: string | undefined; reference: string | undefined };

export type WorkerReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'scan'; result: ScanResult | null }
  | { id: number; type: 'search'; matches: Uint32Array }
  | { id: number; type: 'hashes'; hashes: Array<string | null> }
  | { id: number; type: 'alternatives'; items: Alternative[] | string }
  | { id: number; type: 'models'; policy: ModelCheck | null; reference: ModelCheck | null }
  | { id: number; type: 'error'; message: string; input: boolean };

const port = parentPort;
if (port) {
  port.on('message', (req: WorkerRequest) => {
    void handle(req).catch((e: unknown) => {
      port.postMessage({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies WorkerReply);
    });
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
      const hashes = withFile(req.path, (fd) =>
        Array.from(req.refs.line, (_, i) => {
          const r = readRecordFd(fd, req.refs, i, req.format);
          return r.record ? rawHash(r.raw) : null;
        }),
      );
      port.postMessage({ id: req.id, type: 'hashes', hashes } satisfies WorkerReply);
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

async function scan(req0: Extract<WorkerRequest, { op: 'scan' }>): Promise<void> {
  if (!port) return;
  let req = req0;
  // A Parquet file is scanned as its JSON Lines mirror (line N = row N), which the host then reads records from.
  let mirrorOf: string | undefined;
  let mirrorErrors: RecordError[] = [];
  let schemaFormat = false;
  if (isParquetFile(req.path)) {
    if (!req.options.mirrorDir) throw new InputError(`${req.path}: Parquet files need a mirror folder`);
    mirrorOf = req.path;
    // a schema that is not preference-shaped is said before the whole file is converted
    const pf = await openParquet(req.path);
    const parquetGuess = req.options.format ? null : await detectFormat(req.path, { pf });
    const mirror = await parquetMirror(pf, req.options.mirrorDir, { onProgress: (done, total) => port.postMessage({ id: req.id, type: 'progress', done: done / 2, total } satisfies WorkerReply) });
    mirrorErrors = mirror.errors;
    // a format the schema implies (rows that say less than the columns) is the mirror's too, read strictly
    schemaFormat = parquetGuess?.fromSchema === true && parquetGuess.format !== null;
    req = { ...req, path: mirror.path, options: schemaFormat && parquetGuess?.format ? { ...req.options, format: parquetGuess.format } : req.options };
  }
  const guess = req.options.format ? null : await detectFormat(req.path);
  if (guess && guess.format === null) {
    port.postMessage({ id: req.id, type: 'scan', result: null } satisfies WorkerReply);
    return;
  }
  let last = 0;
  const result = await scanFile(req.path, {
    ...req.options,
    workerScript: join(__dirname, 'scanWorker.js'),
    onProgress: (done, total) => {
      const now = Date.now();
      if (now - last > 200) {
        last = now;
        port.postMessage({ id: req.id, type: 'progress', done, total } satisfies WorkerReply);
      }
    },
  });
  if (mirrorOf) {
    // the unreadable row groups, by row, among the errors (the mirror keeps the result's `file` and index)
    withRowGroupErrors(result, mirrorErrors);
    result.mirrorOf = mirrorOf;
    if (schemaFormat) result.formatSource = 'detected';
  }
  const ix = result.index;
  port.postMessage({ id: req.id, type: 'scan', result } satisfies WorkerReply, [
    ix.line.buffer as ArrayBuffer,
    ix.offset.buffer as ArrayBuffer,
    ix.length.buffer as ArrayBuffer,
    ix.sub.buffer as ArrayBuffer,
    ix.flags.buffer as ArrayBuffer,
  ]);
}

function search(req: Extract<WorkerRequest, { op: 'search' }>): void {
  if (!port) return;
  const needle = req.needle.toLowerCase();
  const out: number[] = [];
  withFile(req.path, (fd) => {
    const n = req.subset ? req.subset.length : req.index.line.length;
    for (let k = 0; k < n; k++) {
      const i = req.subset ? req.subset[k] : k;
      const r = readRecordFd(fd, req.index, i, req.format);
      const rec = r.record;
      const hay = rec ? [rec.prompt, ...rec.candidates.map((c) => c.text)].join('\n').toLowerCase() : r.raw.toLowerCase();
      if (hay.includes(needle)) out.push(i);
      if (k % 5000 === 4999) port.postMessage({ id: req.id, type: 'progress', done: k + 1, total: n } satisfies WorkerReply);
    }
  });
  const matches = Uint32Array.from(out);
  port.postMessage({ id: req.id, type: 'search', matches } satisfies WorkerReply, [matches.buffer]);
}
