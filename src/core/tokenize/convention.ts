/**
 * Which trainer convention numbers follow (docs/ARCHITECTURE.md, "Metric conventions"), by name or automatically:
 * the model card's `TRL: x.y.z` when the policy folder has one (≥ 0.29: `trl`, else `trl-legacy`); otherwise
 * prompt/completion max lengths given by the user select `trl-legacy` (TRL ≥ 0.29 has no such settings); else `trl`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How a trainer turns a record into token ids (docs/ARCHITECTURE.md, "Metric conventions"): `trl` is TRL ≥ 0.29 and
 * 1.x (joint tokenization with the tokenizer's default special tokens, EOS text appended to non-conversational
 * responses, the whole sequence cut to max_length), `trl-legacy` is TRL ≤ 0.28's DPOTrainer.tokenize_row.
 */
export type Convention = 'trl' | 'trl-legacy';
export type TruncationMode = 'keep_start' | 'keep_end';

export interface LengthLimits {
  /** Default `trl-legacy` (the numbers of the demo run and of every caller that gives prompt/completion lengths). */
  convention?: Convention;
  /** trl-legacy: prompt tokens kept (its end). */
  maxPromptLength: number | null;
  /** trl-legacy: response tokens kept (its start). */
  maxCompletionLength: number | null;
  /** Prompt + response tokens kept (TRL's default 1024; null: all). */
  maxLength?: number | null;
  /** Which end of the sequence max_length keeps (TRL ≥ 0.29's default keep_start; TRL 0.28's keep_end). */
  truncationMode?: TruncationMode;
}

/** TRL's DPOConfig defaults for the `trl` convention. */
export const TRL_DEFAULTS = { maxLength: 1024, truncationMode: 'keep_start' as TruncationMode };

/** TRL 0.28's DPOConfig defaults (`trl-legacy`): max_prompt_length 512, max_length 1024 keeping the end. */
export const TRL_LEGACY_DEFAULTS = { maxPromptLength: 512, maxLength: 1024, truncationMode: 'keep_end' as TruncationMode };

export type ConventionChoice = Convention | 'auto';

/** The TRL version a model card (README.md of the model folder) names, e.g. "0.29.1", or null. */
export function trlVersionOf(modelDir: string): string | null {
  if (!modelDir) return null;
  const card = join(modelDir, 'README.md');
  if (!existsSync(card)) return null;
  const m = /\bTRL:\s*v?(\d+\.\d+(?:\.\d+)?)/.exec(readFileSync(card, 'utf8'));
  return m ? m[1] : null;
}

/** TRL ≥ 0.29 tokenizes jointly (`trl`); earlier versions used tokenize_row (`trl-legacy`). */
export function conventionOfTrl(version: string): Convention {
  const [major, minor] = version.split('.').map(Number);
  return major > 0 || minor >= 29 ? 'trl' : 'trl-legacy';
}

/** The convention to use, and why (shown on stderr and in the views). */
export function resolveConvention(choice: ConventionChoice, policyDir: string, legacyLengthsGiven: boolean): { convention: Convention; reason: string } {
  if (choice !== 'auto') return { convention: choice, reason: 'chosen' };
  const v = trlVersionOf(policyDir);
  if (v) return { convention: conventionOfTrl(v), reason: `the model card names TRL ${v}` };
  if (legacyLengthsGiven) return { convention: 'trl-legacy', reason: 'max prompt/completion lengths are set: TRL ≤ 0.28 settings' };
  return { convention: 'trl', reason: 'TRL ≥ 0.29 by default' };
}
