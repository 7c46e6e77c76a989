/** A token sequence to score and its per-position statistics (scorer.ts computes them, cache.ts keeps them). */

export interface SeqJob {
  /** prompt + response token ids */
  ids: number[];
  /** index of the first response token in `ids` (≥ 1: the first token of a sequence is never predicted) */
  respStart: number;
}

export interface SeqStats {
  logp: Float32Array;
  entropy: Float32Array;
  rank: Float32Array;
  topkMass: Float32Array;
  topkEntropy: Float32Array;
  /** n × k, best first */
  topkLogp: Float32Array;
  topkIds: Int32Array;
}
