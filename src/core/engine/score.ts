/**
 * Scoring pipeline: records → TRL tokenization → cached or computed per-token statistics of the policy and the
 * reference → per-token rewards, sums, pair metrics and flags (DESIGN section 5), in record order.
 */
import { createHash } from 'node:crypto';
import { scanFile, InputError } from '../scan.js';
import { readRecord } from '../records.js';
import type { FormatName, PreferenceRecord } from '../types.js';
import type { ScoringModel } from './model.js';
import { ModelError, defaultCacheDir } from './model.js';
import { ScoreCache } from './cache.js';
import { runJobs, type SeqJob, type SeqStats, CancelledError } from './scorer.js';
import { pairOut, responseOut, type PairOut, type ResponseOut } from '../metrics/pair.js';
import type { EncodedRecord } from '../tokenize/encoder.js';

export interface ScoreOptions {
  beta: number;
  maxPromptLength: number | null;
  maxCompletionLength: number | null;
  /** 1-based inclusive line range */
  lines?: [number, number];
  /** [I, N]: records whose index (among the selected) mod N = I */
  shard?: [number, number];
  format?: FormatName;
  cacheDir?: string;
  noCache?: boolean;
  /** Records per engine round (default 32). */
  chunk?: number;
  tokenBudget?: number;
  signal?: AbortSignal;
  onProgress?: (p: ScoreProgress) => void;
  withRawHash?: boolean;
}

export interface ScoreProgress {
  records: number;
  total: number;
  tokens: number;
  seconds: number;
}

export interface CandidateOut extends ResponseOut {
  role: string;
  rank?: number;
  score?: number;
  label?: boolean;
}

export interface ScoredRecord {
  line: number;
  format: FormatName;
  chosen?: ResponseOut;
  rejected?: ResponseOut;
  candidates?: CandidateOut[];
  margin?: number;
  dpo_loss?: number;
  implicit_accuracy?: boolean;
  ipo_loss?: number;
  orpo_log_odds_ratio?: number;
  /** Reference-free (SimPO-style) margin: mean logp of chosen − mean logp of rejected. */
  mean_logp_margin?: number;
  flags: string[];
  /** sub-record of a line (OpenAssistant trees) */
  sub?: number;
  /** sha256 of the record's raw text (with ScoreOptions.withRawHash): lets a viewer discard numbers of records that changed */
  raw_sha256?: string;
}

export interface ScoreSummary {
  records: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  device: string;
  cacheHits: number;
  cacheMisses: number;
}

export function rawHash(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

/** Checks that policy and reference can be compared. */
export function checkPair(policy: ScoringModel, ref: ScoringModel | null): void {
  if (ref && ref.tokenizer.hash !== policy.tokenizer.hash)
    throw new ModelError(`policy (${policy.dir}) and reference (${ref.dir}) use different tokenizers (tokenizer.json/tokenizer_config.json differ): their log-probabilities cannot be compared`);
}

function buildJobs(enc: EncodedRecord, model: ScoringModel, line: number): SeqJob[] {
  const prompt = model.tokenizer.promptContext(enc.promptIds);
  return enc.responses.map((r, i) => {
    const ids = [...prompt, ...r.ids];
    const np = model.config.nPositions;
    if (np && ids.length > np)
      throw new InputError(
        `line ${line}: prompt + ${i === 0 ? 'first' : `response ${i + 1}`} = ${ids.length} tokens, more than the ${np} positions of ${model.dir}; set --max-prompt-length / --max-completion-length (TRL truncation)`,
      );
    return { ids, respStart: prompt.length };
  });
}

async function statsFor(model: ScoringModel, cache: ScoreCache | null, jobs: SeqJob[], opts: ScoreOptions, onTokens: (n: number) => void): Promise<SeqStats[]> {
  const out = new Array<SeqStats | null>(jobs.length).fill(null);
  const todo: number[] = [];
  jobs.forEach((j, i) => {
    const hit = cache?.get(j) ?? null;
    if (hit) out[i] = hit;
    else todo.push(i);
  });
  if (todo.length) {
    const res = await runJobs(model, todo.map((i) => jobs[i]), { tokenBudget: opts.tokenBudget, signal: opts.signal, onBatch: onTokens });
    todo.forEach((i, q) => {
      out[i] = res[q];
      cache?.put(jobs[i], res[q]);
    });
  }
  return out as SeqStats[];
}

/** Scores a list of already-read records. */
export async function scoreRecords(records: PreferenceRecord[], policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions, counters = { tokens: 0 }): Promise<ScoredRecord[]> {
  checkPair(policy, ref);
  const limits = { maxPromptLength: opts.maxPromptLength, maxCompletionLength: opts.maxCompletionLength };
  const tok = policy.tokenizer;
  const encs = records.map((r) => tok.encodeRecord(r, limits));
  const jobs: SeqJob[] = encs.flatMap((e, i) => buildJobs(e, policy, records[i].line));
  const pc = opts.noCache ? null : new ScoreCache(opts.cacheDir ?? defaultCacheDir(), policy.contentHash, policy.k);
  const rc = ref && !opts.noCache ? new ScoreCache(opts.cacheDir ?? defaultCacheDir(), ref.contentHash, ref.k) : null;
  const pStats = await statsFor(policy, pc, jobs, opts, (n) => (counters.tokens += n));
  const rStats = ref ? await statsFor(ref, rc, jobs, opts, () => undefined) : null;
  let q = 0;
  return records.map((rec, i) => {
    const enc = encs[i];
    const resps: ResponseOut[] = enc.responses.map((r) => {
      const s = pStats[q];
      const rs = rStats ? rStats[q].logp : null;
      q++;
      const tokens = r.ids.map((id, t) => ({ id, text: r.pieces[t], start: r.starts[t], end: r.ends[t] }));
      return responseOut(tokens, s.logp, s.entropy, s.rank, s.topkMass, s.topkEntropy, rs, opts.beta, r.truncated);
    });
    const out: ScoredRecord = { line: rec.line, format: rec.format, flags: [] };
    if (rec.sub !== undefined) out.sub = rec.sub;
    if (rec.kind === 'pair' && resps.length === 2) {
      out.chosen = resps[0];
      out.rejected = resps[1];
      const p: PairOut | null = pairOut(resps[0], resps[1], opts.beta);
      if (p) Object.assign(out, p);
      out.mean_logp_margin = resps[0].mean_logp - resps[1].mean_logp;
    } else {
      out.candidates = resps.map((r, j) => {
        const c = rec.candidates[j];
        const co: CandidateOut = { role: c.role, ...r };
        if (c.rank !== undefined) co.rank = c.rank;
        if (c.score !== undefined) co.score = c.score;
        if (rec.label !== undefined) co.label = rec.label;
        return co;
      });
    }
    // Contract order: line, format, responses, pair numbers, flags.
    const { flags, ...rest } = out;
    const final: ScoredRecord = { ...rest, flags };
    if (opts.withRawHash && rec.raw !== undefined) final.raw_sha256 = rawHash(rec.raw);
    return final;
  });
}

/** Scores the selected records of a file, yielding them in file order, `chunk` records per engine round. */
export async function* scoreFile(path: string, policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions): AsyncGenerator<ScoredRecord> {
  checkPair(policy, ref);
  const scan = await scanFile(path, { format: opts.format });
  const idx: number[] = [];
  for (let i = 0; i < scan.records; i++) {
    const line = scan.index.line[i];
    if (opts.lines && (line < opts.lines[0] || line > opts.lines[1])) continue;
    idx.push(i);
  }
  const selected = opts.shard ? idx.filter((_, j) => j % opts.shard![1] === opts.shard![0]) : idx;
  const chunk = opts.chunk ?? 32;
  const t0 = performance.now();
  const counters = { tokens: 0 };
  for (let s = 0; s < selected.length; s += chunk) {
    if (opts.signal?.aborted) throw new CancelledError();
    const recs: PreferenceRecord[] = [];
    for (const i of selected.slice(s, s + chunk)) {
      const r = readRecord(path, scan.index, i, scan.format);
      if (!r.record) throw new InputError(`${path}: line ${scan.index.line[i]}: ${r.error ?? 'cannot read the record'}`);
      recs.push(r.record);
    }
    const scored = await scoreRecords(recs, policy, ref, opts, counters);
    for (const r of scored) yield r;
    opts.onProgress?.({ records: Math.min(selected.length, s + chunk), total: selected.length, tokens: counters.tokens, seconds: (performance.now() - t0) / 1000 });
  }
}
