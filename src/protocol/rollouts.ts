/** Messages between the Rollouts webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { Rollouts, ScoreLine } from '../core/contract.js';
import { isInt } from './validate.js';

/** What the panel shows: the rollouts, and whether (and with which models) a group can be scored. */
export interface RolloutsView {
  name: string;
  rollouts: Rollouts;
  /** Why scoring is unavailable (no policy, no reference), or null when it is. */
  scoreUnavailable: string | null;
}

/** A group scored: per completion the tokens with policy logp, reference logp and their difference. */
export interface GroupScore {
  step: number;
  group: number;
  policy: string;
  policyStep: number | null;
  reference: string;
  scored: ScoreLine;
}

export type RolloutsRequest = { type: 'ready' } | { type: 'score'; step: number; group: number };

export type RolloutsEvent = { type: 'rollouts'; view: RolloutsView } | { type: 'scored'; score: GroupScore } | { type: 'error'; message: string };

export function parseRolloutsRequest(m: unknown): RolloutsRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready') return { type: 'ready' };
  if (o.type === 'score' && isInt(o.step, 0, Number.MAX_SAFE_INTEGER) && isInt(o.group, 0, 1_000_000)) return { type: 'score', step: o.step, group: o.group };
  return null;
}
