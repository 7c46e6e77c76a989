/**
 * Worker-thread entry for scoring (used by the extension host and by anything that must stay responsive): loads
 * the models, scores the selected records of a file and posts each record, progress (records/s, tokens/s, ETA)
 * and a summary back. A 'cancel' message stops it between engine rounds (≤ one batch).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ScoringModel, type ProviderChoice } from './model.js';
import { scoreFile, type ScoredRecord } from './score.js';
import { CancelledError } from './scorer.js';
import type { FormatName } from '../types.js';

export interface ScoreJobSpec {
  file: string;
  policy: string;
  ref: string | null;
  beta: number;
  maxPromptLength: number | null;
  maxCompletionLength: number | null;
  lines?: [number, number];
  format?: FormatName;
  provider: ProviderChoice;
  cacheDir?: string;
  threads?: number;
}

export type ScoreWorkerMessage =
  | { type: 'models'; policy: ModelSummary; ref: ModelSummary | null }
  | { type: 'record'; record: ScoredRecord }
  | { type: 'progress'; records: number; total: number; tokens: number; seconds: number; recordsPerSecond: number; tokensPerSecond: number; etaSeconds: number }
  | { type: 'done'; records: number; tokens: number; seconds: number; device: string }
  | { type: 'cancelled'; records: number }
  | { type: 'error'; message: string };

export interface ModelSummary {
  dir: string;
  architecture: string;
  parameters: number;
  vocabSize: number;
  layers: number;
  device: string;
  deviceNote: string;
  contentHash: string;
  k: number;
}

function summary(m: ScoringModel): ModelSummary {
  return { dir: m.dir, architecture: m.config.architecture, parameters: m.parameters, vocabSize: m.tokenizer.vocabSize, layers: m.config.layers, device: m.device, deviceNote: m.deviceNote, contentHash: m.contentHash, k: m.k };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const spec = workerData as ScoreJobSpec;
  const ac = new AbortController();
  port.on('message', (m: { type: string }) => {
    if (m.type === 'cancel') ac.abort();
  });
  let n = 0;
  try {
    const policy = await ScoringModel.load(spec.policy, { provider: spec.provider, cacheDir: spec.cacheDir, threads: spec.threads });
    const ref = spec.ref ? await ScoringModel.load(spec.ref, { provider: spec.provider, cacheDir: spec.cacheDir, threads: spec.threads }) : null;
    port.postMessage({ type: 'models', policy: summary(policy), ref: ref ? summary(ref) : null } satisfies ScoreWorkerMessage);
    const t0 = performance.now();
    let tokens = 0;
    for await (const record of scoreFile(spec.file, policy, ref, {
      beta: spec.beta,
      maxPromptLength: spec.maxPromptLength,
      maxCompletionLength: spec.maxCompletionLength,
      lines: spec.lines,
      format: spec.format,
      cacheDir: spec.cacheDir,
      chunk: 8,
      withRawHash: true,
      signal: ac.signal,
      onProgress: (p) => {
        tokens = p.tokens;
        const rps = p.records / Math.max(p.seconds, 1e-9);
        port.postMessage({
          type: 'progress',
          records: p.records,
          total: p.total,
          tokens: p.tokens,
          seconds: p.seconds,
          recordsPerSecond: rps,
          tokensPerSecond: p.tokens / Math.max(p.seconds, 1e-9),
          etaSeconds: (p.total - p.records) / Math.max(rps, 1e-9),
        } satisfies ScoreWorkerMessage);
      },
    })) {
      n++;
      port.postMessage({ type: 'record', record } satisfies ScoreWorkerMessage);
    }
    port.postMessage({ type: 'done', records: n, tokens, seconds: (performance.now() - t0) / 1000, device: policy.device } satisfies ScoreWorkerMessage);
  } catch (e) {
    if (e instanceof CancelledError) port.postMessage({ type: 'cancelled', records: n } satisfies ScoreWorkerMessage);
    else port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies ScoreWorkerMessage);
  }
}

void main();
