/**
 * Worker thread for the extension host: scanning (indexing + checks) and text search run here so the host thread
 * only routes messages. Large files are split further across scan workers by scanFile.
 */
import { parentPort } from 'node:worker_threads';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { detectFileFormat, scanFile, InputError, type RecordIndex, type ScanOptions } from '../core/scan.js';
import { readRecordFd } from '../core/records.js';
import type { FormatName } from '../core/types.js';

export type WorkerRequest =
  | { id: number; op: 'scan'; path: string; options: Omit<ScanOptions, 'signal' | 'onProgress' | 'workerScript'> }
  | { id: number; op: 'search'; path: string; index: RecordIndex; format: FormatName | null; needle: string; subset: Uint32Array | null };

export type WorkerReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'scan'; result: import('../core/scan.js').ScanResult | null }
  | { id: number; type: 'search'; matches: Uint32Array }
  | { id: number; type: 'error'; message: string; input: boolean };

const port = parentPort;
if (port) {
  port.on('message', (req: WorkerRequest) => {
    void handle(req).catch((e: unknown) => {
      port.postMessage({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies WorkerReply);
    });
  });
}

async function handle(req: WorkerRequest): Promise<void> {
  if (!port) return;
  if (req.op === 'scan') {
    const guess = req.options.format ? null : detectFileFormat(req.path);
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
    const ix = result.index;
    port.postMessage({ id: req.id, type: 'scan', result } satisfies WorkerReply, [
      ix.line.buffer as ArrayBuffer,
      ix.offset.buffer as ArrayBuffer,
      ix.length.buffer as ArrayBuffer,
      ix.sub.buffer as ArrayBuffer,
      ix.flags.buffer as ArrayBuffer,
    ]);
  } else {
    const needle = req.needle.toLowerCase();
    const fd = openSync(req.path, 'r');
    const out: number[] = [];
    try {
      const n = req.subset ? req.subset.length : req.index.line.length;
      for (let k = 0; k < n; k++) {
        const i = req.subset ? req.subset[k] : k;
        const r = readRecordFd(fd, req.index, i, req.format);
        const rec = r.record;
        const hay = rec ? [rec.prompt, ...rec.candidates.map((c) => c.text)].join('\n').toLowerCase() : r.raw.toLowerCase();
        if (hay.includes(needle)) out.push(i);
        if (k % 5000 === 4999) port.postMessage({ id: req.id, type: 'progress', done: k + 1, total: n } satisfies WorkerReply);
      }
    } finally {
      closeSync(fd);
    }
    const matches = Uint32Array.from(out);
    port.postMessage({ id: req.id, type: 'search', matches } satisfies WorkerReply, [matches.buffer]);
  }
}
