/** Per-record checks (DESIGN section 4) and the compact summary that workers send to the aggregator. */
import { CHECK_BITS, type FormatName, FORMAT_NAMES, type PreferenceRecord } from '../types.js';
import { analyzeText, boundedEditDistance, combineHashes } from './text.js';
import { wordTokenHashes } from '../tokenize/words.js';

/** Counts tokens; the default is the word-level fallback, `--tokenizer DIR` plugs in a model tokenizer. */
export interface TokenCounter {
  readonly name: string;
  count(s: string): number;
  ids(s: string): ArrayLike<number>;
}

export interface CheckOptions {
  /** TRL DPOConfig defaults: max_prompt_length 512, max_length 1024, max_completion_length unset. */
  maxPromptLength: number;
  maxCompletionLength: number | null;
  maxLength: number;
  /** Low separation: token edit distance ≤ this (TAB-PO uses 3). */
  lowSeparationMaxEdits: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  maxPromptLength: 512,
  maxCompletionLength: null,
  maxLength: 1024,
  lowSeparationMaxEdits: 3,
};

export const KIND_CODES = ['pair', 'unpaired', 'ranked', 'group'] as const;

/** Fields of one record in a packed summary row. */
export const S = {
  line: 0,
  offset: 1,
  length: 2,
  sub: 3,
  flags: 4,
  kind: 5,
  format: 6,
  promptHash: 7,
  recordHash: 8,
  chosenHash: 9,
  rejectedHash: 10,
  promptChars: 11,
  promptTokens: 12,
  c1Chars: 13,
  c1Tokens: 14,
  c2Chars: 15,
  c2Tokens: 16,
  extra: 17,
  label: 18,
} as const;
export const STRIDE = 19;

export interface RecordSummaryExtra {
  /** chars and tokens of candidates beyond the first two (ranked lists, groups), flattened. */
  extraLengths: number[];
}

/** Computes record-local flags and the summary row for one record. `extraOut` collects extra candidate lengths. */
export function summarizeRecord(
  rec: PreferenceRecord,
  byteLength: number,
  opts: CheckOptions,
  tok: TokenCounter | null,
  row: Float64Array,
  at: number,
  extraOut: number[],
): void {
  let flags = 0;
  const p = analyzeText(rec.prompt);
  const infos = rec.candidates.map((c) => analyzeText(c.text));
  const tokens = (s: string, words: number): number => (tok ? tok.count(s) : words);
  const promptTokens = tokens(rec.prompt, p.words);
  const candTokens = rec.candidates.map((c, i) => tokens(c.text, infos[i].words));
  if (p.encoding || infos.some((t) => t.encoding) || (rec.rejectedPrompt !== undefined && analyzeText(rec.rejectedPrompt).encoding))
    flags |= CHECK_BITS.encoding;
  if (rec.candidates.some((c) => c.text.trim() === '')) flags |= CHECK_BITS.emptyResponse;
  if (rec.rejectedPrompt !== undefined) flags |= CHECK_BITS.promptMismatch;
  // Truncation risk (TRL semantics: prompt keeps its end, completion its start, total ≤ max_length).
  for (const t of candTokens) {
    if (promptTokens > opts.maxPromptLength) flags |= CHECK_BITS.truncationRisk;
    if (opts.maxCompletionLength !== null && t > opts.maxCompletionLength) flags |= CHECK_BITS.truncationRisk;
    if (promptTokens + t > opts.maxLength) flags |= CHECK_BITS.truncationRisk;
  }
  if (rec.candidates.length === 0 && promptTokens > opts.maxPromptLength) flags |= CHECK_BITS.truncationRisk;
  if (rec.kind === 'pair' && rec.candidates.length === 2) {
    const [c, r] = rec.candidates;
    if (c.text === r.text) flags |= CHECK_BITS.identical;
    else if (Math.abs(candTokens[0] - candTokens[1]) <= opts.lowSeparationMaxEdits) {
      const a = tok ? tok.ids(c.text) : wordTokenHashes(c.text);
      const b = tok ? tok.ids(r.text) : wordTokenHashes(r.text);
      const d = boundedEditDistance(a, b, opts.lowSeparationMaxEdits);
      if (d <= opts.lowSeparationMaxEdits) flags |= CHECK_BITS.lowSeparation;
    }
    if (c.score !== undefined && r.score !== undefined) {
      if (c.score === r.score) flags |= CHECK_BITS.scoreTie;
      else if (c.score < r.score) flags |= CHECK_BITS.scoreInversion;
    }
    if (rec.tie) flags |= CHECK_BITS.scoreTie;
  } else if (rec.kind === 'ranked') {
    const seen = new Set<string>();
    for (const c of rec.candidates) {
      if (seen.has(c.text)) flags |= CHECK_BITS.identical;
      seen.add(c.text);
    }
    const scores = rec.candidates.map((c) => c.score).filter((s): s is number => s !== undefined);
    if (scores.length === rec.candidates.length && new Set(scores).size < scores.length) flags |= CHECK_BITS.scoreTie;
    const ranks = rec.candidates.map((c) => c.rank).filter((s): s is number => s !== undefined);
    if (ranks.length === rec.candidates.length && new Set(ranks).size < ranks.length) flags |= CHECK_BITS.scoreTie;
    // Ranked best-first by rank but scored the other way round.
    if (ranks.length === rec.candidates.length && scores.length === rec.candidates.length) {
      for (let i = 1; i < rec.candidates.length; i++) {
        const a = rec.candidates[i - 1];
        const b = rec.candidates[i];
        if ((a.rank ?? 0) < (b.rank ?? 0) && (a.score ?? 0) < (b.score ?? 0)) flags |= CHECK_BITS.scoreInversion;
      }
    }
  } else if (rec.kind === 'group') {
    const totals = rec.candidates.map((c) => Object.values(c.rewards ?? {}).reduce((s, x) => s + x, 0));
    if (totals.length > 0 && totals.every((t) => t === totals[0])) flags |= CHECK_BITS.zeroVarianceGroup;
  }
  const candHashes = infos.map((t) => t.hash);
  const o = at * STRIDE;
  row[o + S.line] = rec.line;
  row[o + S.offset] = rec.offset;
  row[o + S.length] = byteLength;
  row[o + S.sub] = rec.sub ?? 0;
  row[o + S.flags] = flags;
  row[o + S.kind] = KIND_CODES.indexOf(rec.kind);
  row[o + S.format] = (FORMAT_NAMES as readonly FormatName[]).indexOf(rec.format);
  row[o + S.promptHash] = p.hash;
  row[o + S.recordHash] = combineHashes([p.hash, ...candHashes, rec.label === undefined ? 2 : rec.label ? 1 : 0]);
  row[o + S.chosenHash] = rec.kind === 'pair' ? candHashes[0] : -1;
  row[o + S.rejectedHash] = rec.kind === 'pair' ? candHashes[1] : -1;
  row[o + S.promptChars] = p.chars;
  row[o + S.promptTokens] = promptTokens;
  row[o + S.c1Chars] = infos[0]?.chars ?? -1;
  row[o + S.c1Tokens] = candTokens[0] ?? -1;
  row[o + S.c2Chars] = infos[1]?.chars ?? -1;
  row[o + S.c2Tokens] = candTokens[1] ?? -1;
  row[o + S.extra] = Math.max(0, rec.candidates.length - 2);
  row[o + S.label] = rec.label === undefined ? -1 : rec.label ? 1 : 0;
  for (let i = 2; i < rec.candidates.length; i++) extraOut.push(infos[i].chars, candTokens[i]);
}
