/** Messages between the heatmap webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { Alternative, FlagInfo, ScoredRecord } from '../core/contract.js';
import { isInt } from './validate.js';

export type { Alternative };

export interface HeatRecordView {
  file: string;
  scored: ScoredRecord;
  /** prompt text as the model saw it (muted) */
  prompt: string;
  /** labels of the responses (chosen/rejected, #1…) */
  labels: string[];
  /** 0-based position among scored records, and how many there are */
  position: number;
  total: number;
  flagInfo: Record<string, FlagInfo>;
  policy: string;
  reference: string | null;
  /** How the record was tokenized: the convention and why it applies. */
  convention: string;
  /** The loss the policy's training config names, and the per-pair field that holds it: shown first. */
  loss?: { type: string; field: string };
}


export type HeatmapRequest =
  | { type: 'ready' }
  | { type: 'navigate'; direction: 'next' | 'prev' | 'nextFlagged' | 'prevFlagged' }
  | { type: 'alternatives'; response: number; token: number; seq: number }
  | { type: 'reveal' };

export type HeatmapEvent =
  | { type: 'record'; view: HeatRecordView }
  | { type: 'alternatives'; seq: number; response: number; token: number; items: Alternative[]; error?: string };

export function parseHeatmapRequest(m: unknown): HeatmapRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'reveal':
      return { type: 'reveal' };
    case 'navigate':
      return o.direction === 'next' || o.direction === 'prev' || o.direction === 'nextFlagged' || o.direction === 'prevFlagged' ? { type: 'navigate', direction: o.direction } : null;
    case 'alternatives':
      return isInt(o.response, 0, 1000) && isInt(o.token, 0, 1e7) && isInt(o.seq, 0, 2 ** 31) ? { type: 'alternatives', response: o.response, token: o.token, seq: o.seq } : null;
    default:
      return null;
  }
}
