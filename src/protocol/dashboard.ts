/** Messages between the margin dashboard webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { DashboardColumns, DashboardSummary, FlagInfo, Histogram } from '../core/contract.js';
import { isInt } from './validate.js';

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
  flagInfo: Record<string, FlagInfo>;
};

export function parseDashboardRequest(m: unknown): DashboardRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready') return { type: 'ready' };
  if (o.type === 'export') return { type: 'export' };
  if (o.type === 'open' && isInt(o.line, 1, 2 ** 31) && isInt(o.sub, 0, 1e6)) return { type: 'open', line: o.line, sub: o.sub };
  return null;
}
