/** Per-record checks (docs/ARCHITECTURE.md, "Checks") and the compact summary that workers send to the aggregator. */
import { CHECK_BITS } from './table.js';
import { own } from '../dict.js';
import { type FormatName, FORMAT_NAMES, type PreferenceRecord } from '../types.js';
import {
  ROW_F_OFFSET, ROW_F_RECORD_KEY, ROW_F_STRIDE, ROW_F_SWAPPED_KEY, ROW_I_C1_CHARS, ROW_I_C1_TOKENS, ROW_I_C2_CHARS, ROW_I_C2_TOKENS,
  ROW_I_EXTRA, ROW_I_FLAGS, ROW_I_FORMAT, ROW_I_KIND, ROW_I_LABEL, ROW_I_LENGTH, ROW_I_LINE, ROW_I_PROMPT_CHARS, ROW_I_PROMPT_TOKENS,
  ROW_I_STRIDE, ROW_I_SUB,
} from '../kernels/layout.js';
import { analyzeText, boundedEditDistance, combineHashes, normalizedHash } from './text.js';
import { wordTokenHashes } from '../tokenize/words.js';
import type { TokenCounter } from '../tokenize/counter.js';

export type { TokenCounter };

/**
 * The truncation check follows the scoring convention (docs/ARCHITECTURE.md, "Checks"): `trl-legacy` flags a prompt
 * over max_prompt_length, a response (with its EOS) over max_completion_length, or prompt + response over max_length;
 * `trl` (TRL ≥ 0.29, no prompt/completion limits) flags prompt + response with the special tokens the trainer adds
 * over max_length. Prompt-only records (GRPO's input) are held to max_prompt_length in both.
 */
export interface CheckOptions {
  convention: 'trl' | 'trl-legacy';
  /** TRL ≤ 0.28 DPOConfig defaults: max_prompt_length 512, max_length 1024, max_completion_length unset. */
  maxPromptLength: number;
  maxCompletionLength: number | null;
  maxLength: number;
  /** Special tokens the trainer adds: before the prompt (BOS, `trl` only) and after a non-conversational response (EOS). */
  promptSpecialTokens: number;
  responseSpecialTokens: number;
  /** Low separation: token edit distance ≤ this (TAB-PO uses 3). */
  lowSeparationMaxEdits: number;
  /**
   * GRPO's reward_weights by reward-function name (TRL's GRPOConfig.reward_weights, which TRL aligns with
   * reward_funcs in order; here by the names the data carries). A name not given weighs 1, as in TRL's default.
   */
  rewardWeights?: Record<string, number>;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  convention: 'trl-legacy',
  maxPromptLength: 512,
  maxCompletionLength: null,
  maxLength: 1024,
  promptSpecialTokens: 0,
  responseSpecialTokens: 1,
  lowSeparationMaxEdits: 3,
};

/** The limits the kernel and the JavaScript path apply: one place turns the convention into numbers. */
export function truncationLimits(o: CheckOptions): { maxPrompt: number; maxCompletion: number | null; maxLength: number; promptExtra: number; responseExtra: number } {
  const trl = o.convention === 'trl';
  return {
    maxPrompt: trl ? 0x7fffffff : o.maxPromptLength,
    maxCompletion: trl ? null : o.maxCompletionLength,
    maxLength: o.maxLength,
    promptExtra: trl ? o.promptSpecialTokens : 0,
    responseExtra: o.responseSpecialTokens,
  };
}

export const KIND_CODES = ['pair', 'unpaired', 'ranked', 'group', 'prompt', 'completion', 'stepwise'] as const;

/**
 * A record's summary row (the JavaScript path's; the scan kernel writes the same fields itself): byte offset and
 * signature keys (see signatureKeys) in a Float64Array (RowFloat fields), small integers in an Int32Array (RowInt
 * fields). The layout is the kernel's (scan/kernelLayout.ts).
 */
export const RowFloat = { offset: ROW_F_OFFSET, recordHash: ROW_F_RECORD_KEY, swappedKey: ROW_F_SWAPPED_KEY } as const;
export const ROW_FLOATS = ROW_F_STRIDE;
export const RowInt = {
  line: ROW_I_LINE,
  length: ROW_I_LENGTH,
  sub: ROW_I_SUB,
  flags: ROW_I_FLAGS,
  kind: ROW_I_KIND,
  format: ROW_I_FORMAT,
  promptChars: ROW_I_PROMPT_CHARS,
  promptTokens: ROW_I_PROMPT_TOKENS,
  c1Chars: ROW_I_C1_CHARS,
  c1Tokens: ROW_I_C1_TOKENS,
  c2Chars: ROW_I_C2_CHARS,
  c2Tokens: ROW_I_C2_TOKENS,
  extra: ROW_I_EXTRA,
  label: ROW_I_LABEL,
} as const;
export const ROW_INTS = ROW_I_STRIDE;

export interface SummaryChunk {
  f: Float64Array;
  i: Int32Array;
}

export interface RecordSummaryExtra {
  /** chars and tokens of candidates beyond the first two (ranked lists, groups), flattened. */
  extraLengths: number[];
}

export interface RecordKeys {
  /** Duplicates: the same prompt, responses and label. */
  recordHash: number;
  /** Pairs: (prompt, chosen, rejected); -1 for other kinds. */
  pairKey: number;
  /** Pairs: (prompt, rejected, chosen), to find contradictions; -1 when there is none to find. */
  swappedKey: number;
}

const labelCode = (rec: PreferenceRecord): number => (rec.label === undefined ? 2 : rec.label ? 1 : 0);

/**
 * Exact duplicate/contradiction keys of one record, from exact normalised hashes: they decide. (The scan keeps
 * signature keys only, and computes these for the candidates the signatures nominate.)
 */
export function exactRecordKeys(rec: PreferenceRecord): RecordKeys {
  const p = normalizedHash(rec.prompt);
  const cands = rec.candidates.map((c) => normalizedHash(c.text));
  const pair = rec.kind === 'pair' && cands.length === 2;
  return {
    recordHash: combineHashes([p, ...cands, labelCode(rec)]),
    pairKey: pair ? combineHashes([p, cands[0], cands[1]]) : -1,
    // Contradictions need distinct responses: chosen ≈ rejected (after normalising) has no swapped twin.
    swappedKey: pair && cands[0] !== cands[1] ? combineHashes([p, cands[1], cands[0]]) : -1,
  };
}

/**
 * Signature keys of a record (from analyzeText's `sig`): the record key, and for pairs the record key the pair
 * would have with its responses swapped (a contradiction candidate when another record has it). Equal records
 * have equal signature keys; the converse is checked with exactRecordKeys.
 */
function signatureKeys(p: number, cands: number[], rec: PreferenceRecord): { recordHash: number; swappedKey: number } {
  const pair = rec.kind === 'pair' && cands.length === 2;
  return {
    recordHash: combineHashes([p, ...cands, labelCode(rec)]),
    swappedKey: pair ? combineHashes([p, cands[1], cands[0], 2]) : -1,
  };
}

/** Computes record-local flags and the summary row for one record. `extraOut` collects extra candidate lengths. */
export function summarizeRecord(
  rec: PreferenceRecord,
  byteLength: number,
  opts: CheckOptions,
  tok: TokenCounter | null,
  row: SummaryChunk,
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
  if (rec.kind === 'prompt' || rec.kind === 'completion' || rec.kind === 'stepwise') {
    if (rec.prompt.trim() === '' && !(rec.promptMessages ?? []).some((m) => m.content.trim() !== '')) flags |= CHECK_BITS.emptyPrompt;
  }
  if (rec.rejectedPrompt !== undefined) flags |= CHECK_BITS.promptMismatch;
  // Truncation risk, as the trainer of the convention truncates (truncationLimits); a conversational response ends
  // with the chat template's own end token, so it gets no EOS.
  const lim = truncationLimits(opts);
  const eos = rec.candidates.every((c) => c.messages) && rec.promptMessages ? 0 : lim.responseExtra;
  const withSpecial = promptTokens + lim.promptExtra;
  for (const t of candTokens) {
    if (withSpecial > lim.maxPrompt) flags |= CHECK_BITS.truncationRisk;
    if (lim.maxCompletion !== null && t + eos > lim.maxCompletion) flags |= CHECK_BITS.truncationRisk;
    if (withSpecial + t + eos > lim.maxLength) flags |= CHECK_BITS.truncationRisk;
  }
  // Prompt-only records (GRPO, RLOO, online DPO): the prompt against max_prompt_length.
  if (rec.candidates.length === 0 && promptTokens + opts.promptSpecialTokens > opts.maxPromptLength) flags |= CHECK_BITS.truncationRisk;
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
    // TRL's GRPO: a completion's reward is the weighted nansum of its reward functions (reward_weights, default 1),
    // and a group has no signal when torch.isclose(std, 0): |std| ≤ atol 1e-8 (the sample std of the group's rewards).
    const w = opts.rewardWeights ?? {};
    const totals = rec.candidates.map((c) => Object.entries(c.rewards ?? {}).reduce((s, [name, x]) => (Number.isNaN(x) ? s : s + own<number>(w, name, 1) * x), 0));
    if (totals.length > 0 && groupStd(totals) <= 1e-8) flags |= CHECK_BITS.zeroVarianceGroup;
  }
  const keys = signatureKeys(p.sig, infos.map((t) => t.sig), rec);
  const f = at * ROW_FLOATS;
  const n = at * ROW_INTS;
  row.f[f + RowFloat.offset] = rec.offset;
  row.f[f + RowFloat.recordHash] = keys.recordHash;
  row.f[f + RowFloat.swappedKey] = keys.swappedKey;
  const r = row.i;
  r[n + RowInt.line] = rec.line;
  r[n + RowInt.length] = byteLength;
  r[n + RowInt.sub] = rec.sub ?? 0;
  r[n + RowInt.flags] = flags;
  r[n + RowInt.kind] = KIND_CODES.indexOf(rec.kind);
  r[n + RowInt.format] = (FORMAT_NAMES as readonly FormatName[]).indexOf(rec.format);
  r[n + RowInt.promptChars] = p.chars;
  r[n + RowInt.promptTokens] = promptTokens;
  r[n + RowInt.c1Chars] = infos[0]?.chars ?? -1;
  r[n + RowInt.c1Tokens] = candTokens[0] ?? -1;
  r[n + RowInt.c2Chars] = infos[1]?.chars ?? -1;
  r[n + RowInt.c2Tokens] = candTokens[1] ?? -1;
  r[n + RowInt.extra] = Math.max(0, rec.candidates.length - 2);
  r[n + RowInt.label] = rec.label === undefined ? -1 : rec.label ? 1 : 0;
  for (let i = 2; i < rec.candidates.length; i++) extraOut.push(infos[i].chars, candTokens[i]);
}

/** Sample standard deviation (torch.std's default, unbiased); 0 for one value (TRL: NaN, which isclose also rejects — a one-completion group has no advantage either way). */
export function groupStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}
