/**
 * Scoring pipeline (docs/ARCHITECTURE.md, "Data flow of a scoring"): records at known places of a file → TRL
 * tokenization → cached or computed per-token statistics of the policy and the reference → per-token rewards, sums,
 * pair metrics and flags ("Metric conventions"), in record order. Records come by reference (line, byte offset,
 * length, sub): the extension passes those of its index, the CLI finds them by reading the file up to the last
 * selected line, so scoring never rescans a file.
 */
import { CancelledError, InputError } from '../errors.js';
import { type LineRange, locateOnLines, recordsOfValue, type RecordRefs } from '../records.js';
import { isParquetFile, openParquet, rowsOf } from '../parquet/parquet.js';
import { openRecordSource } from '../recordSource.js';
import { detectFormat } from '../scan/detect.js';
import type { FormatName, PreferenceRecord, RecordError } from '../types.js';
import type { CandidateOut, FailedRecord, ResponseOut, ScoredRecord, ScoreLine, SkippedRecord } from '../contract.js';
import type { ScoringModel } from './model.js';
import { ModelError } from './model.js';
import { ScoreCache } from './cache.js';
import { defaultCacheDir } from '../files.js';
import { runJobs, type SeqJob, type SeqStats } from './scorer.js';
import { pairOut, responseOut, simpoLoss, type PairOut } from '../metrics/pair.js';
import type { EncodedRecord, LengthLimits } from '../tokenize/encoder.js';
import { rawHash } from './hash.js';

/** TRL CPOConfig's default simpo_gamma. */
export const SIMPO_GAMMA = 0.5;

export type { CandidateOut, ScoredRecord, ScoreLine, SkippedRecord };
export { rawHash };

export interface ScoreOptions extends LengthLimits {
  beta: number;
  /** TRL label_smoothing ε (cDPO / robust DPO); 0 by default. */
  labelSmoothing?: number;
  /** SimPO's target margin γ (TRL CPOConfig simpo_gamma, 0.5 by default). */
  simpoGamma?: number;
  /** 1-based inclusive line range */
  lines?: LineRange;
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
  /** Lines of the selection that hold no record (they are not scored). */
  onSkipped?: (e: RecordError) => void;
  /**
   * For a viewer: each record carries its raw text's sha256 and the prompt as the model saw it, each response its
   * score-cache key (where the token alternatives are read), so that the viewer needs neither the file nor a
   * tokenizer to show them.
   */
  forViewer?: boolean;
}

export interface ScoreProgress {
  records: number;
  total: number;
  tokens: number;
  seconds: number;
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


/** Checks that policy and reference can be compared. */
export function checkPair(policy: ScoringModel, ref: ScoringModel | null): void {
  if (ref && ref.tokenizer.hash !== policy.tokenizer.hash)
    throw new ModelError(`policy (${policy.dir}) and reference (${ref.dir}) use different tokenizers (tokenizer.json/tokenizer_config.json differ): their log-probabilities cannot be compared`);
}

function buildJobs(enc: EncodedRecord, model: ScoringModel, line: number): SeqJob[] {
  if (enc.skipped) return [];
  return enc.responses.map((r, i) => {
    const { ids, respStart } = model.tokenizer.sequence(enc.convention, r);
    const np = model.config.nPositions;
    if (np && ids.length > np)
      throw new InputError(
        `line ${line}: prompt + ${i === 0 ? 'first' : `response ${i + 1}`} = ${ids.length} tokens, more than the ${np} positions of ${model.dir}; set --max-prompt-length / --max-completion-length (TRL truncation)`,
      );
    return { ids, respStart };
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
      // non-finite numbers are an error of their record, recomputed (never kept) when it is scored again
      if (res[q].logp.every(Number.isFinite)) cache?.put(jobs[i], res[q]);
    });
  }
  return out as SeqStats[];
}

/** Scores a list of already-read records. */
export async function scoreRecords(records: PreferenceRecord[], policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions, counters = { tokens: 0 }): Promise<ScoreLine[]> {
  checkPair(policy, ref);
  const tok = policy.tokenizer;
  const encs = records.map((r) => tok.encodeRecord(r, opts));
  const jobs: SeqJob[] = encs.flatMap((e, i) => buildJobs(e, policy, records[i].line));
  const pc = opts.noCache ? null : new ScoreCache(opts.cacheDir ?? defaultCacheDir(), policy.contentHash, policy.k);
  const rc = ref && !opts.noCache ? new ScoreCache(opts.cacheDir ?? defaultCacheDir(), ref.contentHash, ref.k) : null;
  const pStats = await statsFor(policy, pc, jobs, opts, (n) => (counters.tokens += n));
  const rStats = ref ? await statsFor(ref, rc, jobs, opts, () => undefined) : null;
  let q = 0;
  return records.map((rec, i): ScoreLine => {
    const enc = encs[i];
    if (enc.skipped) {
      const skipped: SkippedRecord = { line: rec.line, skipped: enc.skipped };
      if (rec.sub !== undefined) skipped.sub = rec.sub;
      return skipped;
    }
    // the ids each response was scored after: the record's prompt, and a response's own where it differs
    const contexts: number[][] = [];
    const resps: ResponseOut[] = enc.responses.map((r, k) => {
      const s = pStats[q];
      const rs = rStats ? rStats[q].logp : null;
      const key = opts.forViewer ? ScoreCache.keyOf(jobs[q]) : undefined;
      contexts.push(jobs[q].ids.slice(0, jobs[q].respStart));
      q++;
      const tokens = r.ids.map((id, t) => ({ id, text: r.pieces[t], start: r.starts[t], end: r.ends[t] }));
      const out = responseOut(tokens, s.logp, s.entropy, s.rank, s.topkMass, s.topkEntropy, rs, opts.beta, r.truncated);
      if (key) out.seq_key = key;
      const ctx = contexts[k];
      const same = ctx.length === contexts[0].length && ctx.every((id, j) => id === contexts[0][j]);
      return same ? out : { prompt_ids: ctx, ...out };
    });
    // A non-finite log-probability is an error for this record (named), never a silent null in the output.
    const bad = nonFinite(resps, enc, rec, policy, ref);
    if (bad) {
      const failed: FailedRecord = { line: rec.line, error: bad };
      if (rec.sub !== undefined) failed.sub = rec.sub;
      return failed;
    }
    const out: ScoredRecord = { line: rec.line, format: rec.format, prompt: { ids: contexts[0] ?? [] }, flags: [] };
    if (rec.sub !== undefined) out.sub = rec.sub;
    if (rec.kind === 'pair' && resps.length === 2) {
      out.chosen = resps[0];
      out.rejected = resps[1];
      const p: PairOut | null = pairOut(resps[0], resps[1], opts.beta, opts.labelSmoothing ?? 0);
      if (p) Object.assign(out, p);
      out.mean_logp_margin = resps[0].mean_logp - resps[1].mean_logp;
      out.simpo_loss = simpoLoss(resps[0].mean_logp, resps[1].mean_logp, opts.beta, opts.simpoGamma ?? SIMPO_GAMMA);
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
    // Contract order: line, format, prompt, responses, pair numbers, warning, flags.
    const { flags, ...rest } = out;
    const final: ScoredRecord = { ...rest, ...(enc.warning ? { warning: enc.warning } : {}), flags };
    if (opts.forViewer) {
      if (rec.raw !== undefined) final.raw_sha256 = rawHash(rec.raw);
      final.prompt = { ids: final.prompt?.ids ?? [], text: enc.promptText };
      final.convention = enc.convention;
    }
    return final;
  });
}

/**
 * The first token whose log-probability under the policy or the reference is not finite, as a message naming the
 * model, the response and the token; null when every one is finite.
 */
function nonFinite(resps: ResponseOut[], enc: EncodedRecord, rec: PreferenceRecord, policy: ScoringModel, ref: ScoringModel | null): string | null {
  for (let k = 0; k < resps.length; k++) {
    const role = rec.candidates[k]?.role ?? `response ${k + 1}`;
    const toks = resps[k].tokens;
    for (let t = 0; t < toks.length; t++) {
      const tk = toks[t];
      const which = !Number.isFinite(tk.logp) ? { m: policy, v: tk.logp, what: 'policy' } : tk.ref_logp !== undefined && !Number.isFinite(tk.ref_logp) && ref ? { m: ref, v: tk.ref_logp, what: 'reference' } : null;
      if (!which) continue;
      void enc;
      return `the ${which.what} ${which.m.dir} gives ${which.v} as the log-probability of token ${t + 1} of the ${role} response (id ${tk.id}, ${JSON.stringify(tk.text)}): its output is not finite (NaN or infinite weights, or an overflow in its computation); this record is not scored`;
    }
  }
  return null;
}

/** Records to score: where they are in a file, and the format to read them in. */
export interface ScoreSource {
  file: string;
  refs: RecordRefs;
  format: FormatName | null;
}

/** Scores the records at `src.refs`, yielding them in that order, `chunk` records per engine round. */
export async function* scoreRefs(src: ScoreSource, policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions): AsyncGenerator<ScoreLine> {
  const n = src.refs.line.length;
  const chunk = opts.chunk ?? 32;
  const unit = isParquetFile(src.file) ? 'row' : 'line';
  // JSON by byte range, Parquet by row (its row groups decoded as they are met: recordSource.ts)
  const records = await openRecordSource(src.file);
  async function* batches(): AsyncGenerator<PreferenceRecord[]> {
    for (let s = 0; s < n; s += chunk) {
      const out: PreferenceRecord[] = [];
      for (let i = s; i < Math.min(n, s + chunk); i++) {
        const r = await records.read(src.refs, i, src.format);
        if (!r.record) throw new InputError(`${src.file}: ${unit} ${src.refs.line[i]}: ${r.error ?? 'cannot read the record'}`);
        out.push(r.record);
      }
      yield out;
    }
  }
  try {
    yield* scoreBatches(batches(), n, policy, ref, opts);
  } finally {
    records.close();
  }
}

/** Scores batches of records (one engine round each), yielding them in order; `total` is for progress. */
export async function* scoreBatches(batches: Iterable<PreferenceRecord[]> | AsyncIterable<PreferenceRecord[]>, total: number, policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions): AsyncGenerator<ScoreLine> {
  checkPair(policy, ref);
  const t0 = performance.now();
  const counters = { tokens: 0 };
  let done = 0;
  for await (const recs of batches) {
    if (opts.signal?.aborted) throw new CancelledError();
    const scored = await scoreRecords(recs, policy, ref, opts, counters);
    for (const r of scored) yield r;
    done += recs.length;
    opts.onProgress?.({ records: done, total, tokens: counters.tokens, seconds: (performance.now() - t0) / 1000 });
  }
}

/** Every `N`-th ref from the `I`-th (`--shard I/N`). */
export function shardRefs(refs: RecordRefs, [i, n]: [number, number]): RecordRefs {
  const keep = (_: number, j: number): boolean => j % n === i;
  return { line: refs.line.filter(keep), offset: refs.offset.filter(keep), length: refs.length.filter(keep), sub: refs.sub.filter(keep) };
}

/**
 * Scores the records on `opts.lines` of a file that has no index (the CLI): they are found by reading the file only
 * up to the last selected line (records.ts locateOnLines), so scoring line 5 costs the same in any file.
 */
export async function* scoreFile(path: string, policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions): AsyncGenerator<ScoreLine> {
  checkPair(policy, ref);
  if (isParquetFile(path)) {
    yield* scoreParquet(path, policy, ref, opts);
    return;
  }
  const { refs, format } = locateOnLines(path, opts.lines, { format: opts.format, strict: opts.format !== undefined, onSkipped: opts.onSkipped });
  if (refs.line.length === 0) throw new InputError(`${path}: no records${opts.lines ? ` on lines ${opts.lines[0]}–${opts.lines[1]}` : ''}`);
  yield* scoreRefs({ file: path, refs: opts.shard ? shardRefs(refs, opts.shard) : refs, format }, policy, ref, opts);
}

/**
 * The rows `opts.lines` (1-based rows) of a Parquet file, read only from their row groups (core/parquet); a row that
 * holds no record is skipped and reported (`onSkipped`), as a line is in a JSON Lines file.
 */
async function* scoreParquet(path: string, policy: ScoringModel, ref: ScoringModel | null, opts: ScoreOptions): AsyncGenerator<ScoreLine> {
  const pf = await openParquet(path);
  const format = opts.format ?? ((await detectFormat(path, { pf })).format as FormatName);
  const [first, last] = opts.lines ? [opts.lines[0], Math.min(opts.lines[1], pf.rows)] : [1, pf.rows];
  if (first > pf.rows) throw new InputError(`${path}: no records on rows ${first}–${opts.lines?.[1]} (the file has ${pf.rows} rows)`);
  const chunk = opts.chunk ?? 32;
  const total = Math.ceil((last - first + 1) / (opts.shard?.[1] ?? 1));
  let position = 0;
  async function* batches(): AsyncGenerator<PreferenceRecord[]> {
    let batch: PreferenceRecord[] = [];
    for await (const { row, value } of rowsOf(pf, first, last, (e) => opts.onSkipped?.(e))) {
      if (opts.shard && position++ % opts.shard[1] !== opts.shard[0]) continue;
      const got = recordsOfValue(value, { index: row - 1, line: row, offset: row - 1 }, format, opts.format !== undefined);
      if ('error' in got) {
        opts.onSkipped?.(got.error);
        continue;
      }
      batch.push(...got.records);
      if (batch.length >= chunk) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  yield* scoreBatches(batches(), total, policy, ref, opts);
}
