/**
 * Runs token sequences through a ScoringModel in batches of right-padded sequences sorted by length, and returns
 * the in-graph statistics for each sequence's response positions. Only one batch of statistics is alive at a
 * time; logits never leave onnxruntime.
 */
import { CancelledError } from '../errors.js';
import * as ort from 'onnxruntime-node';
import type { ScoringModel } from './model.js';
import type { SeqJob, SeqStats } from './seq.js';

export type { SeqJob, SeqStats };

export interface RunOptions {
  /** Upper bound on batch × padded length (default: defaultTokenBudget of the model's vocabulary). */
  tokenBudget?: number;
  maxBatch?: number;
  signal?: AbortSignal;
  onBatch?: (tokens: number) => void;
}


/**
 * The inputs of a decoder graph for B right-padded sequences of length T: ids and mask, positions 0..T−1, empty
 * past key/values and `use_cache_branch` = false for with-past exports, plus `extra` inputs of PrefLens' own.
 */
export function inputFeeds(
  names: readonly string[],
  ids: BigInt64Array,
  mask: BigInt64Array,
  B: number,
  T: number,
  pastShape: (name: string) => number[],
  extra: Record<string, ort.Tensor>,
  modelDir: string,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of names) {
    if (name in extra) feeds[name] = extra[name];
    else if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', ids, [B, T]);
    else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', mask, [B, T]);
    else if (name === 'position_ids') {
      const pos = new BigInt64Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = BigInt(t);
      feeds[name] = new ort.Tensor('int64', pos, [B, T]);
    } else if (name.startsWith('past_key_values')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), pastShape(name));
    else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', new Uint8Array([0]), [1]);
    else throw new Error(`${modelDir}: the model asks for an input PrefLens does not know how to fill: "${name}"`);
  }
  return feeds;
}

/**
 * Tokens per batch: 4096, fewer for large vocabularies so that one vocabulary-wide float32 tensor of a batch
 * (log-softmax, its exp, …) stays near 256 MB — 441 tokens for Qwen's 151,936, 1,335 for GPT-2's 50,257.
 */
export function defaultTokenBudget(vocab: number): number {
  return Math.max(256, Math.min(4096, Math.floor(2 ** 26 / Math.max(1, vocab))));
}

export async function runJobs(model: ScoringModel, jobs: SeqJob[], opts: RunOptions = {}): Promise<SeqStats[]> {
  const budget = opts.tokenBudget ?? defaultTokenBudget(model.config.vocabSize);
  const maxBatch = opts.maxBatch ?? 32;
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].ids.length - jobs[a].ids.length);
  const out = new Array<SeqStats>(jobs.length);
  const k = model.k;
  const names = model.inputNames;
  let i = 0;
  while (i < order.length) {
    if (opts.signal?.aborted) throw new CancelledError();
    const T = jobs[order[i]].ids.length;
    let B = 1;
    while (i + B < order.length && B < maxBatch && (B + 1) * T <= budget) B++;
    const batch = order.slice(i, i + B);
    i += B;
    const ids = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * T);
    const targets = new BigInt64Array(B * T);
    batch.forEach((j, b) => {
      const s = jobs[j].ids;
      for (let t = 0; t < s.length; t++) {
        ids[b * T + t] = BigInt(s[t]);
        mask[b * T + t] = 1n;
        if (t + 1 < s.length) targets[b * T + t] = BigInt(s[t + 1]);
      }
    });
    const feeds = inputFeeds(names, ids, mask, B, T, (name) => model.pastShape(name, B), { ...model.feeds, pl_targets: new ort.Tensor('int64', targets, [B, T]) }, model.dir);
    const res = await model.session.run(feeds);
    const get = (n: string): Float32Array => res[n].data as Float32Array;
    const lp = get('pl_logp');
    const en = get('pl_entropy');
    const rk = get('pl_rank');
    const tm = get('pl_topk_mass');
    const te = get('pl_topk_entropy');
    const tl = get('pl_topk_logp');
    const ti = res.pl_topk_ids.data as BigInt64Array;
    batch.forEach((j, b) => {
      const job = jobs[j];
      const n = job.ids.length - job.respStart;
      const st: SeqStats = {
        logp: new Float32Array(n),
        entropy: new Float32Array(n),
        rank: new Float32Array(n),
        topkMass: new Float32Array(n),
        topkEntropy: new Float32Array(n),
        topkLogp: new Float32Array(n * k),
        topkIds: new Int32Array(n * k),
      };
      for (let r = 0; r < n; r++) {
        const t = b * T + job.respStart - 1 + r; // position predicting response token r
        st.logp[r] = lp[t];
        st.entropy[r] = en[t];
        st.rank[r] = rk[t];
        st.topkMass[r] = tm[t];
        st.topkEntropy[r] = te[t];
        for (let q = 0; q < k; q++) {
          st.topkLogp[r * k + q] = tl[t * k + q];
          st.topkIds[r * k + q] = Number(ti[t * k + q]);
        }
      }
      out[j] = st;
    });
    for (const v of Object.values(res)) v.dispose?.();
    opts.onBatch?.(batch.reduce((s, j) => s + jobs[j].ids.length, 0));
  }
  return out;
}
