/**
 * PrefLens: Export Filtered Records… writes the records that pass a filter to a NEW file, never the source.
 * JSON Lines sources: the kept lines are copied byte for byte. JSON-array sources: each kept element becomes one
 * compact JSON line (JSONL). Runs with a cancellable progress notification; a partial file is removed on cancel.
 */
import * as vscode from 'vscode';
import { open, rename, unlink } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import type { DatasetManager } from './datasets.js';
import type { ScoreStore } from './scores.js';
import { CHECK_BITS, CHECK_NAMES, CHECK_DESCRIPTIONS, type CheckName } from '../core/types.js';
import { FLAG_INFO } from '../core/metrics/pair.js';

interface Criterion extends vscode.QuickPickItem {
  check?: CheckName;
  flag?: string;
}

export async function exportFiltered(uri: vscode.Uri, datasets: DatasetManager, store: ScoreStore): Promise<void> {
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
  const base = uri.path.replace(/\.(jsonl|json|ndjson)$/i, '');
  const target = await vscode.window.showSaveDialog({ defaultUri: uri.with({ path: `${base}.filtered.jsonl` }), filters: { 'JSON Lines': ['jsonl'] }, title: 'PrefLens: export filtered records to' });
  if (!target) return;
  let same = target.fsPath === uri.fsPath;
  try {
    same ||= realpathSync(target.fsPath) === realpathSync(uri.fsPath);
  } catch {
    /* target does not exist yet */
  }
  if (same) {
    void vscode.window.showErrorMessage('PrefLens never writes to a dataset file: choose a new file for the export.');
    return;
  }
  const written = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PrefLens: exporting', cancellable: true }, async (progress, token) => {
    const tmp = `${target.fsPath}.${process.pid}.tmp`;
    const src = await open(d.path, 'r');
    const out = await open(tmp, 'w');
    let kept = 0;
    let lastLine = -1;
    try {
      for (let i = 0; i < r.records; i++) {
        if (token.isCancellationRequested) throw new vscode.CancellationError();
        const line = r.index.line[i];
        if (line === lastLine || dropLines.has(line)) continue; // several records on one line are exported once
        lastLine = line;
        const buf = Buffer.alloc(r.index.length[i]);
        await src.read(buf, 0, buf.length, r.index.offset[i]);
        let bytes = buf;
        if (r.source !== 'jsonl') bytes = Buffer.from(JSON.stringify(JSON.parse(buf.toString('utf8'))), 'utf8');
        else if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
        await out.write(bytes);
        await out.write('\n');
        kept++;
        if (i % 5000 === 0) progress.report({ message: `${i.toLocaleString('en-US')}/${r.records.toLocaleString('en-US')}` });
      }
      await out.close();
      await rename(tmp, target.fsPath);
      return kept;
    } catch (e) {
      await out.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      if (e instanceof vscode.CancellationError) return -1;
      throw e;
    } finally {
      await src.close();
    }
  });
  if (written >= 0) {
    const pick = await vscode.window.showInformationMessage(`PrefLens: wrote ${written.toLocaleString('en-US')} records (${dropLines.size} lines left out) to ${target.fsPath}`, 'Open');
    if (pick) await vscode.window.showTextDocument(target);
  }
}
