/** What the dataset checks need of a tokenizer: counts and ids (tokenize/hf.ts, or the word-level fallback). */

/** Counts tokens; the default is the word-level fallback, `--tokenizer DIR` plugs in a model tokenizer. */
export interface TokenCounter {
  readonly name: string;
  count(s: string): number;
  ids(s: string): ArrayLike<number>;
  /** Special tokens the trainer adds: the tokenizer's own before a text (BOS) and the EOS after a response. */
  readonly special?: { prompt: number; response: number };
}
