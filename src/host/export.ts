/**
 * PrefLens: Export Filtered Records… writes the records that pass a filter to a NEW file, never the source.
 * JSON Lines sources: the kept lines are copied byte for byte. JSON-array sources: each kept element becomes one
 * compact JSON line (JSONL); Parquet rows too, read where they lie. The export runs in the host worker, with a
 * cancellable progress notification; a partial file is removed on cancel.
 */
import * as vscode from 'vscode';
import { rmSync } from 'node:fs';
import { sameFile } from '../core/export.js';
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
  if (sameFile(uri.fsPath, target.fsPath)) {
    void vscode.window.showErrorMessage('PrefLens never writes to a dataset file: choose a new file for the export.');
    return;
  }
  const written = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PrefLens: exporting', cancellable: true }, async (progress, token) => {
    try {
      const reply = await worker.request(
        { op: 'export', path: d.path, index: r.index, source: r.source, dropLines: Uint32Array.from(dropLines), target: target.fsPath },
        { signal: token, onProgress: (i, n) => progress.report({ message: `${i.toLocaleString('en-US')}/${n.toLocaleString('en-US')}` }) },
      );
      return reply.type === 'export' ? reply.written : null;
    } catch (e) {
      if (!token.isCancellationRequested) throw e;
      // the worker was stopped mid-export: its temporary file (core/export.ts writeNew) is removed here
      rmSync(`${target.fsPath}.${process.pid}.tmp`, { force: true });
      return null;
    }
  });
  if (written === null) return;
  {
    const pick = await vscode.window.showInformationMessage(`PrefLens: wrote ${written.toLocaleString('en-US')} records (${dropLines.size} lines left out) to ${target.fsPath}`, 'Open');
    if (pick) await vscode.window.showTextDocument(target);
  }
}
