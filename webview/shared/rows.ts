/** The dashboard table's rows (a view helper: sorting and brushing happen in the webview). */
import type { DashboardColumns } from '../../src/core/contract.js';

/** Indices of rows sorted by a column (ascending or descending), optionally restricted to margin ∈ [lo, hi]. */
export function sortedRows(c: DashboardColumns, key: keyof Omit<DashboardColumns, 'flags'>, descending: boolean, brush: [number, number] | null, limit = 200): number[] {
  const idx: number[] = [];
  for (let i = 0; i < c.margin.length; i++) if (!brush || (c.margin[i] >= brush[0] && c.margin[i] <= brush[1])) idx.push(i);
  const col = c[key];
  idx.sort((a, b) => (descending ? col[b] - col[a] : col[a] - col[b]) || c.line[a] - c.line[b]);
  return idx.slice(0, limit);
}
