/**
 * The policy's top alternatives at one position of a scored response (the heatmap's hover card), read from the
 * score cache under the key the scored response carries (contract.ts ResponseOut.seq_key): the numbers were
 * computed with the record, so this never runs a model, and the viewer needs no tokenizer of its own.
 */
import type { Alternative } from '../contract.js';
import { ScoreCache } from './cache.js';
import type { ModelTokenizer } from '../tokenize/encoder.js';

export interface AlternativesQuery {
  cacheDir: string;
  /** The scoring model's content hash and top-k (ModelSummary). */
  contentHash: string;
  k: number;
  /** The response's score-cache key and token count. */
  seqKey: string;
  tokens: number;
  /** 0-based position in the response. */
  token: number;
  count?: number;
}

/** The alternatives (most likely first), or why there are none. */
export function tokenAlternatives(q: AlternativesQuery, tokenizer: ModelTokenizer): Alternative[] | string {
  const cache = new ScoreCache(q.cacheDir, q.contentHash, q.k);
  const st = cache.getByKey(q.seqKey, q.tokens);
  if (!st || q.token >= st.logp.length) return `not in the score cache (re-score the record) [${cache.dir}]`;
  const out: Alternative[] = [];
  for (let j = 0; j < Math.min(q.count ?? 5, q.k); j++) {
    const id = st.topkIds[q.token * q.k + j];
    out.push({ id, text: tokenizer.hf.tokenizer.decode([id]), prob: Math.exp(st.topkLogp[q.token * q.k + j]) });
  }
  return out;
}
