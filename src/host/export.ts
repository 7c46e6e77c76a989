/**
 * PrefLens: Export Filtered Records… writes the records that pass a filter to a NEW file, never the source.
 * JSON Lines sources: the kept lines are copied byte for byte. JSON-array sources: each kept element becomes one
 * compact JSON line (JSONL); Parquet rows too, read where they lie. The export runs in the host worker, with a
 * cancellable progress notification; a partial file is removed on cancel. The inspector's Export Shown… writes the
 * records its filter shows, in file order or as a curriculum ordered by a margin (exportShown).
 */
import * as vscode from 'vscode';
import { rmSync } from 'node:fs';
import { type ExportOrder, sameFile, stageFiles } from '../core/export.js';
import type { ScanResult } from '../core/scan/index.js';
import type { WorkerClient } from './workerClient.js';
import type { DatasetManager } from './datasets.js';
import type { ScoreStore } from './scores.js';
import { CHECK_BITS, CHECK_NAMES, CHECK_DESCRIPTIONS, type CheckName } from '../core/checks/table.js';
import { FLAG_INFO } from '../core/metrics/pair.js';

interface Criterion extends vscode.QuickPickItem {
  check?: CheckName;
  flag?: string;
}

export async function exportFiltered(uri: vscode.Uri, datasets: DatasetManager, store: ScoreStore, worker: WorkerClient): Promise<void> {
  const d = datasets.get(uri) ?? (await datasets.open(uri));
  if (!d?.result) {
    void vscode.window.showErrorMessage('PrefLens: the file has not been scanned (is it a preference file?).');
    return;
  }
  const r = d.result;
  const scored = store.all(uri);
  const items: Criterion[] = [
    ...CHECK_NAMES.filter((c) => r.checks[c].length > 0).map((c) => ({ label: `Drop ${c}`, description: `${r.checks[c].length} lines`, detail: CHECK_DESCRIPTIONS[c], check: c })),
    ...Object.keys(FLAG_INFO)
      .map((f) => ({ f, n: scored.filter((s) => s.flags.includes(f)).length }))
      .filter((x) => x.n > 0)
      .map(({ f, n }) => ({ label: `Drop ${f} (scored)`, description: `${n} records`, detail: FLAG_INFO[f].text, flag: f })),
  ];
  if (items.length === 0) {
    void vscode.window.showInformationMessage('PrefLens: nothing to filter: no checks or flags fired on this file.');
    return;
  }
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'PrefLens: records to leave out of the export' });
  if (!picked || picked.length === 0) return;
  const dropLines = new Set<number>();
  for (const p of picked) {
    if (p.check) {
      const bit = CHECK_BITS[p.check];
      for (let i = 0; i < r.records; i++) if (r.index.flags[i] & bit) dropLines.add(r.index.line[i]);
    }
    if (p.flag) for (const s of scored) if (s.flags.includes(p.flag)) dropLines.add(s.line);
  }
  const base = uri.path.replace(/\.(jsonl|json|ndjson|parquet)$/i, '');
  const target = await vscode.window.showSaveDialog({ defaultUri: uri.with({ path: `${base}.filtered.jsonl` }), filters: { 'JSON Lines': ['jsonl'] }, title: 'PrefLens: export filtered records to' });
  if (!target) return;
  const got = await runExport(uri, d.path, r, dropLines, target, undefined, worker);
  if (!got) return;
  const pick = await vscode.window.showInformationMessage(`PrefLens: wrote ${got.written.toLocaleString('en-US')} records (${dropLines.size} lines left out) to ${target.fsPath}`, 'Open');
  if (pick) await vscode.window.showTextDocument(target);
}

/** Runs an export in the host worker with a cancellable progress notification; null when cancelled or refused. */
async function runExport(
  uri: vscode.Uri,
  path: string,
  r: ScanResult,
  dropLines: ReadonlySet<number>,
  target: vscode.Uri,
  order: ExportOrder | undefined,
  worker: WorkerClient,
): Promise<{ written: number; files: string[]; withoutMargin: number } | null> {
  const files = order ? stageFiles(target.fsPath, order.stages ?? 1) : [target.fsPath];
  if (files.some((f) => sameFile(uri.fsPath, f))) {
    void vscode.window.showErrorMessage('PrefLens never writes to a dataset file: choose a new file for the export.');
    return null;
  }
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PrefLens: exporting', cancellable: true }, async (progress, token) => {
      try {
        const reply = await worker.request(
          { op: 'export', path, index: r.index, source: r.source, dropLines: Uint32Array.from(dropLines), target: target.fsPath, ...(order ? { order } : {}) },
          { signal: token, onProgress: (i, n) => progress.report({ message: `${i.toLocaleString('en-US')}/${n.toLocaleString('en-US')}` }) },
        );
        return reply.type === 'export' ? { written: reply.written, files: reply.files, withoutMargin: reply.withoutMargin } : null;
      } catch (e) {
        if (!token.isCancellationRequested) throw e;
        // the worker was stopped mid-export: its temporary files (core/export.ts writeNew, exportOrdered) are removed here
        for (const f of files) rmSync(`${f}.${process.pid}.tmp`, { force: true });
        rmSync(`${target.fsPath}.${process.pid}.rows.tmp`, { force: true });
        return null;
      }
    });
  } catch (e) {
    void vscode.window.showErrorMessage(`PrefLens: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

interface OrderPick extends vscode.QuickPickItem {
  key: ExportOrder['key'] | null;
}

interface DirectionPick extends vscode.QuickPickItem {
  desc: boolean;
  stages: boolean;
}

/**
 * The inspector's Export Shown…: the records its current filter and search show, to a NEW JSON Lines file, in file
 * order or ordered by a margin (a curriculum, as `preflens export --order`): the DPO margin of the scored records,
 * or the file's own ref_margin column (an output of Compute Reference Log-Probs / preflens refs); smallest first,
 * largest first, or K files of equal size, easiest (largest margin) first.
 */
export async function exportShown(uri: vscode.Uri, shown: Uint32Array | null, datasets: DatasetManager, store: ScoreStore, worker: WorkerClient): Promise<void> {
  const d = datasets.get(uri);
  const r = d?.result;
  if (!d || !r || r.partial) {
    void vscode.window.showErrorMessage('PrefLens: the file is still being indexed: export once it is done.');
    return;
  }
  // a line's margin: the smallest of its pairs' (a ranked or grouped record holds several)
  const margins = new Map<number, number>();
  for (const s of store.all(uri)) if (typeof s.margin === 'number') margins.set(s.line, Math.min(s.margin, margins.get(s.line) ?? Infinity));
  const n = shown ? shown.length : r.records;
  const items: OrderPick[] = [
    { label: 'File order', description: `${n.toLocaleString('en-US')} records as they are in the file`, key: null },
    { label: 'By ref_margin', description: "the file's ref_margin column", detail: 'An output of PrefLens: Compute Reference Log-Probs… (preflens refs): the reference log-probability of chosen minus rejected.', key: 'ref-margin' },
  ];
  if (margins.size)
    items.push({ label: 'By margin (scored)', description: `${margins.size.toLocaleString('en-US')} scored records`, detail: 'The DPO margin β·((policy − reference) chosen − (policy − reference) rejected) of the records scored so far; the others go last.', key: 'margin' });
  // the steps stay open when the focus moves: the flow starts from a button in the inspector's webview, which can take
  // the focus back as a pick closes and would close the next step with it
  const order = await vscode.window.showQuickPick(items, { title: `PrefLens: export the ${n.toLocaleString('en-US')} records shown, in which order?`, ignoreFocusOut: true });
  if (!order) return;
  let ordered: ExportOrder | undefined;
  if (order.key) {
    const dir = await vscode.window.showQuickPick<DirectionPick>(
      [
        { label: 'Smallest first', description: 'the hardest pairs first', desc: false, stages: false },
        { label: 'Largest first', description: 'the easiest pairs first', desc: true, stages: false },
        { label: 'Curriculum stages…', description: 'K files of equal size, easiest first (Curry-DPO)', desc: true, stages: true },
      ],
      { title: `PrefLens: ${order.label}`, ignoreFocusOut: true },
    );
    if (!dir) return;
    let stages = 1;
    if (dir.stages) {
      const k = await vscode.window.showInputBox({ title: 'PrefLens: how many stages?', value: '3', ignoreFocusOut: true, validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 2 && Number(v) <= 100 ? undefined : 'a whole number from 2 to 100') });
      if (!k) return;
      stages = Number(k.trim());
    }
    ordered = { key: order.key, desc: dir.desc, stages, ...(order.key === 'margin' ? { margins } : {}) };
  }
  // the lines none of whose records are shown are left out
  const shownLines = new Set<number>();
  if (shown) for (const i of shown) shownLines.add(r.index.line[i]);
  const dropLines = new Set<number>();
  if (shown) for (const l of r.index.line) if (!shownLines.has(l)) dropLines.add(l);
  const base = uri.path.replace(/\.(jsonl|json|ndjson|parquet)$/i, '');
  const suffix = ordered ? `${ordered.key}${(ordered.stages ?? 1) > 1 ? '' : ordered.desc ? '-desc' : ''}` : 'shown';
  const target = await vscode.window.showSaveDialog({ defaultUri: uri.with({ path: `${base}.${suffix}.jsonl` }), filters: { 'JSON Lines': ['jsonl'] }, title: 'PrefLens: export the records shown to' });
  if (!target) return;
  const got = await runExport(uri, d.path, r, dropLines, target, ordered, worker);
  if (!got) return;
  const how = ordered ? ` ordered by ${ordered.key}${got.withoutMargin ? ` (${got.withoutMargin.toLocaleString('en-US')} without one, last)` : ''}` : '';
  const where = got.files.length > 1 ? `${got.files.length} files (${got.files.map((f) => f.split(/[\\/]/).pop()).join(', ')})` : target.fsPath;
  const pick = await vscode.window.showInformationMessage(`PrefLens: wrote ${got.written.toLocaleString('en-US')} records${how} to ${where}`, 'Open');
  if (pick) await vscode.window.showTextDocument(vscode.Uri.file(got.files[0]));
}
