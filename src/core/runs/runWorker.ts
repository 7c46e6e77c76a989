/** Worker thread for the heavy run work of the extension: SPINAL traces of several models, checkpoint comparison. */
import { parentPort, workerData } from 'node:worker_threads';
import { scanFile } from '../scan.js';
import { readRecord } from '../records.js';
import { spinalTrace, type SpinalTrace } from '../spinal/spinal.js';
import { compareCheckpoints, type Comparison } from './compare.js';
import { parseRun } from './runs.js';
import type { PreferenceRecord } from '../types.js';
import type { ProviderChoice } from '../engine/model.js';

export type RunJob =
  | { kind: 'spinal'; file: string; lines: [number, number]; models: Array<{ label: string; dir: string }>; maxPromptLength: number | null; maxCompletionLength: number | null; provider: ProviderChoice; cacheDir: string; hiddenStates?: string[] }
  | { kind: 'compare'; file: string; lines: [number, number]; run: string; reference: string; beta: number; maxPromptLength: number | null; maxCompletionLength: number | null; provider: ProviderChoice; cacheDir: string };

export type RunJobMessage =
  | { type: 'progress'; message: string; fraction: number }
  | { type: 'spinal'; traces: Array<{ label: string; trace: SpinalTrace }> }
  | { type: 'compare'; comparison: Comparison }
  | { type: 'error'; message: string };

async function recordsOf(file: string, lines: [number, number]): Promise<PreferenceRecord[]> {
  const scan = await scanFile(file);
  const out: PreferenceRecord[] = [];
  for (let i = 0; i < scan.records; i++) {
    const line = scan.index.line[i];
    if (line < lines[0] || line > lines[1]) continue;
    const r = readRecord(file, scan.index, i, scan.format);
    if (r.record) out.push(r.record);
  }
  if (!out.length) throw new Error(`${file}: no records on lines ${lines[0]}–${lines[1]}`);
  return out;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const job = workerData as RunJob;
  try {
    const recs = await recordsOf(job.file, job.lines);
    if (job.kind === 'spinal') {
      const traces: Array<{ label: string; trace: SpinalTrace }> = [];
      for (let i = 0; i < job.models.length; i++) {
        const m = job.models[i];
        port.postMessage({ type: 'progress', message: `SPINAL trace of ${m.label} (${i + 1}/${job.models.length})`, fraction: i / job.models.length } satisfies RunJobMessage);
        traces.push({ label: m.label, trace: await spinalTrace(m.dir, recs, { maxPromptLength: job.maxPromptLength, maxCompletionLength: job.maxCompletionLength, provider: job.provider, cacheDir: job.cacheDir, hiddenStates: job.hiddenStates }) });
      }
      port.postMessage({ type: 'spinal', traces } satisfies RunJobMessage);
    } else {
      const run = parseRun(job.run);
      const comparison = await compareCheckpoints(run, job.reference, recs, {
        beta: job.beta,
        maxPromptLength: job.maxPromptLength,
        maxCompletionLength: job.maxCompletionLength,
        provider: job.provider,
        cacheDir: job.cacheDir,
        onStep: (i, n) => port.postMessage({ type: 'progress', message: `scoring checkpoint ${i + 1}/${n}`, fraction: i / n } satisfies RunJobMessage),
      });
      port.postMessage({ type: 'compare', comparison } satisfies RunJobMessage);
    }
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies RunJobMessage);
  }
}

void main();
