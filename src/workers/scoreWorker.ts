/**
 * Worker entry of a scoring job (core/jobs.ts; used by the extension host and anything that must stay responsive):
 * loads the models, scores the records at the given refs (the host's index: no scan) and posts each scored record
 * with its view data, and progress (records/s, tokens/s, ETA). Cancelled by message, it stops between engine
 * rounds (≤ one batch); the records it posted stay valid.
 */
import { serveJob } from '../core/jobs.js';
import type { RecordRefs } from '../core/records.js';
import type { FormatName } from '../core/types.js';
import type { ScoreLine } from '../core/contract.js';
import { ScoringModel, type ProviderChoice } from '../core/engine/model.js';
import { scoreRefs } from '../core/engine/score.js';
import { lossTypeOf } from '../core/engine/folder.js';
import type { LengthLimits } from '../core/tokenize/encoder.js';

export interface ScoreJobSpec {
  file: string;
  /** The records to score: refs into the file, from the host's index. */
  refs: RecordRefs;
  format: FormatName | null;
  policy: string;
  ref: string | null;
  beta: number;
  /** The tokenization: the scoring settings' convention and lengths (host/models.ts limitsOf). */
  limits: LengthLimits;
  provider: ProviderChoice;
  cacheDir?: string;
  threads?: number;
}

export type ScoreJobMessage =
  | { type: 'models'; policy: ModelSummary; ref: ModelSummary | null }
  | { type: 'record'; record: ScoreLine }
  | { type: 'progress'; records: number; total: number; tokens: number; seconds: number; recordsPerSecond: number; tokensPerSecond: number; etaSeconds: number };

export interface ScoreJobResult {
  records: number;
  tokens: number;
  seconds: number;
  device: string;
}

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
  /** The loss type its training config names (engine/folder.ts lossTypeOf), or null. */
  lossType: string | null;
  /** What is odd about the folder but does not stop it (ScoringModel.warnings). */
  warnings: string[];
}

function summary(m: ScoringModel): ModelSummary {
  return {
    dir: m.dir,
    architecture: m.config.architecture,
    parameters: m.parameters,
    vocabSize: m.tokenizer.vocabSize,
    layers: m.config.layers,
    device: m.device,
    deviceNote: m.deviceNote,
    contentHash: m.contentHash,
    k: m.k,
    lossType: lossTypeOf(m.dir),
    warnings: [...m.warnings],
  };
}

serveJob<ScoreJobSpec, ScoreJobMessage, ScoreJobResult>(async (spec, { signal, post }) => {
  const load = { provider: spec.provider, cacheDir: spec.cacheDir, threads: spec.threads };
  const policy = await ScoringModel.load(spec.policy, load);
  // An adapter as policy with no reference: its base, in the same session (what TRL does with a PEFT model).
  const ref = spec.ref ? await ScoringModel.load(spec.ref, load) : policy.baseOf();
  post({ type: 'models', policy: summary(policy), ref: ref ? summary(ref) : null });
  const t0 = performance.now();
  let tokens = 0;
  let records = 0;
  const opts = {
    beta: spec.beta,
    ...spec.limits,
    cacheDir: spec.cacheDir,
    chunk: 8,
    forViewer: true,
    signal,
    onProgress: (p: { records: number; total: number; tokens: number; seconds: number }): void => {
      tokens = p.tokens;
      const rps = p.records / Math.max(p.seconds, 1e-9);
      post({
        type: 'progress',
        records: p.records,
        total: p.total,
        tokens: p.tokens,
        seconds: p.seconds,
        recordsPerSecond: rps,
        tokensPerSecond: p.tokens / Math.max(p.seconds, 1e-9),
        etaSeconds: (p.total - p.records) / Math.max(rps, 1e-9),
      });
    },
  };
  for await (const record of scoreRefs({ file: spec.file, refs: spec.refs, format: spec.format }, policy, ref, opts)) {
    records++;
    post({ type: 'record', record });
  }
  return { records, tokens, seconds: (performance.now() - t0) / 1000, device: policy.device };
});
