/** Messages between the heatmap / dashboard webviews and the host (imported by both sides). */
import type { ScoredRecord } from '../core/engine/score.js';
import type { HeatMetric } from '../core/metrics/colors.js';
import { isInt } from './validate.js';
import type { DashboardColumns, DashboardSummary, Histogram } from '../core/metrics/dashboard.js';

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
  flagInfo: Record<string, { text: string; source: string }>;
  policy: string;
  reference: string | null;
}

export interface Alternative {
  id: number;
  text: string;
  prob: number;
}

export type HeatmapRequest =
  | { type: 'ready' }
  | { type: 'navigate'; direction: 'next' | 'prev' | 'nextFlagged' | 'prevFlagged' }
  | { type: 'alternatives'; response: number; token: number; seq: number }
  | { type: 'reveal' };

export type HeatmapEvent =
  | { type: 'record'; view: HeatRecordView; metric?: HeatMetric }
  | { type: 'alternatives'; seq: number; response: number; token: number; items: Alternative[]; error?: string }
  | { type: 'empty'; message: string };

export type DashboardRequest =
  | { type: 'ready' }
  | { type: 'open'; line: number; sub: number }
  | { type: 'export' };

export type DashboardEvent = {
  type: 'data';
  file: string;
  columns: DashboardColumns;
  summary: DashboardSummary;
  histograms: { margin: Histogram; chosenReward: Histogram; rejectedReward: Histogram; chosenShift: Histogram; rejectedShift: Histogram };
  flagInfo: Record<string, { text: string; source: string }>;
};

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

export function parseDashboardRequest(m: unknown): DashboardRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready') return { type: 'ready' };
  if (o.type === 'export') return { type: 'export' };
  if (o.type === 'open' && isInt(o.line, 1, 2 ** 31) && isInt(o.sub, 0, 1e6)) return { type: 'open', line: o.line, sub: o.sub };
  return null;
}
