/**
 * Which trainer convention numbers follow (docs/ARCHITECTURE.md, "Metric conventions"), by name or automatically:
 * the model card's `TRL: x.y.z` when the policy folder has one (≥ 0.29: `trl`, else `trl-legacy`); otherwise
 * prompt/completion max lengths given by the user select `trl-legacy` (TRL ≥ 0.29 has no such settings); else `trl`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Convention } from './encoder.js';

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
