/** Typed messages between the inspector webview and the extension host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { CheckName, FormatName, PreferenceRecord, Span } from '../core/contract.js';
import { isCheckName } from '../core/checks/table.js';
import { isInt } from './validate.js';

export interface DatasetSummary {
  file: string;
  format: FormatName | null;
  formatLabel: string;
  records: number;
  errorCount: number;
  /** What records are numbered by: lines (JSON) or rows (Parquet). */
  unit: 'line' | 'row';
  counts: Record<CheckName, number>;
  checkDescriptions: Record<CheckName, string>;
}

export interface RowInfo {
  index: number;
  line: number;
  flags: number;
  preview: string;
  error?: boolean;
}

export interface RecordView {
  record: PreferenceRecord;
  flags: CheckName[];
  flagText: string[];
  /** For pairs: the spans where chosen and rejected differ (offsets into each candidate's text). */
  diff?: { chosen: Span[]; rejected: Span[] };
  /** When chosen and rejected carry different prompts: where the two prompts differ. */
  promptDiff?: { chosen: Span[]; rejected: Span[] };
  related?: number;
}

/** Webview → host. */
export type InspectorRequest =
  | { type: 'ready' }
  | { type: 'query'; filter: CheckName | 'all' | 'flagged'; search: string; seq: number }
  | { type: 'rows'; start: number; count: number; seq: number }
  | { type: 'select'; index: number; reveal: boolean }
  | { type: 'jumpToLine'; line: number }
  /** Export the records the current filter and search show (in file order or ordered by a margin: the host asks). */
  | { type: 'exportShown' };

/** Host → webview. */
export type InspectorEvent =
  | { type: 'summary'; summary: DatasetSummary; bits: Record<CheckName, number> }
  | { type: 'scanning'; message: string }
  | { type: 'queryResult'; seq: number; total: number; searching: boolean }
  | { type: 'rows'; seq: number; start: number; rows: RowInfo[] }
  | { type: 'record'; index: number; view: RecordView | null; error?: string; position: number }
  | { type: 'selectIndex'; index: number; position: number }
  | { type: 'error'; message: string };


/** Validates a message from a webview (untrusted): returns it typed, or null. */
export function parseInspectorRequest(m: unknown): InspectorRequest | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'query':
      if (typeof o.filter !== 'string' || !(o.filter === 'all' || o.filter === 'flagged' || isCheckName(o.filter))) return null;
      if (typeof o.search !== 'string' || o.search.length > 1000 || !isInt(o.seq, 0, 2 ** 31)) return null;
      return { type: 'query', filter: o.filter as CheckName | 'all' | 'flagged', search: o.search, seq: o.seq };
    case 'rows':
      if (!isInt(o.start, 0, 2 ** 31) || !isInt(o.count, 0, 500) || !isInt(o.seq, 0, 2 ** 31)) return null;
      return { type: 'rows', start: o.start, count: o.count, seq: o.seq };
    case 'select':
      if (!isInt(o.index, 0, 2 ** 31) || typeof o.reveal !== 'boolean') return null;
      return { type: 'select', index: o.index, reveal: o.reveal };
    case 'jumpToLine':
      if (!isInt(o.line, 1, 2 ** 31)) return null;
      return { type: 'jumpToLine', line: o.line };
    case 'exportShown':
      return { type: 'exportShown' };
    default:
      return null;
  }
}
