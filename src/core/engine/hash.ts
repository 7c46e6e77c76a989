/** The hash that tells whether a record changed since it was scored (contract.ts ScoredRecord.raw_sha256). */
import { createHash } from 'node:crypto';

/** sha256 (hex) of a record's raw text. */
export function rawHash(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}
