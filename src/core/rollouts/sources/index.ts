/**
 * The rollout dump formats PrefLens reads (docs/ARCHITECTURE.md, "Rollouts"), tried in order on a folder: each is a
 * RolloutSource (row.ts). A new format is one more implementation in this list; nothing else changes (the test in
 * rollouts.test.ts adds one).
 */
import type { RolloutSource } from '../row.js';
import { nemoRl } from './nemoRl.js';
import { trl } from './trl.js';
import { verl } from './verl.js';

export const ROLLOUT_SOURCES: RolloutSource[] = [trl, verl, nemoRl];

/** Where a run's rollouts are: the first source that finds step files in DIR (or the folders it keeps them in). */
export function findRollouts(dir: string, sources: readonly RolloutSource[] = ROLLOUT_SOURCES): { source: RolloutSource; files: Array<{ step: number; file: string }> } | null {
  for (const source of sources) {
    const files = source.find(dir);
    if (files) return { source, files };
  }
  return null;
}

export function hasRollouts(dir: string): boolean {
  return findRollouts(dir) !== null;
}

/** What a folder without rollouts lacks, for the message. */
export function rolloutPlaces(sources: readonly RolloutSource[] = ROLLOUT_SOURCES): string {
  return sources.map((s) => s.where).join(', or ');
}
