/**
 * Problems panel: malformed lines (errors) and flagged records (warnings/information) with ranges on the field
 * concerned. Capped at `preflens.maxDiagnostics` per file (default 1,000; errors first, then the most serious
 * checks), with a note on line 1 saying how many were left out: the inspector lists them all.
 */
import * as vscode from 'vscode';
import { type Dataset, type DatasetManager, isParquetUri } from './datasets.js';
import { CHECK_BITS, CHECK_DESCRIPTIONS, CHECK_INFO, CHECK_NAMES, type CheckName } from '../core/checks/table.js';
import { fieldForCheck, keyRange, startColumn } from './recordText.js';

/** The checks, most serious first (checks/table.ts `order`). */
const ORDER: readonly CheckName[] = [...CHECK_NAMES].sort((a, b) => CHECK_INFO[a].order - CHECK_INFO[b].order);

export class Diagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('preflens');
  private readonly sub: vscode.Disposable;

  constructor(datasets: DatasetManager) {
    this.sub = datasets.onDidChange((d) => this.update(d));
  }

  update(d: Dataset): void {
    // a Parquet file has no lines: its findings are in the inspector and the Datasets view
    if (isParquetUri(d.uri)) return;
    if (d.state !== 'ready' || !d.result) {
      if (d.state !== 'scanning') this.collection.delete(d.uri);
      return;
    }
    const max = vscode.workspace.getConfiguration('preflens', d.uri).get<number>('maxDiagnostics', 1000);
    const r = d.result;
    const doc = vscode.workspace.textDocuments.find((t) => t.uri.toString() === d.uri.toString());
    const out: vscode.Diagnostic[] = [];
    let total = r.errorCount;
    for (const e of r.errors) {
      if (out.length >= max) break;
      const line = e.line - 1;
      const text = doc && line < doc.lineCount ? doc.lineAt(line).text : '';
      const col = e.column !== undefined ? Math.max(0, e.column - 1) : 0;
      let range = new vscode.Range(line, col, line, Math.max(col + 1, text.length));
      if (e.field && text) {
        const key = /^[^.[]+/.exec(e.field)?.[0] ?? e.field;
        range = keyRange(text, key, e.line, 0);
      }
      const diag = new vscode.Diagnostic(range, `line ${e.line}: ${e.message}`, vscode.DiagnosticSeverity.Error);
      diag.source = 'PrefLens';
      diag.code = e.field ? 'schema' : 'json';
      out.push(diag);
    }
    // Flagged records, most serious checks first.
    const flagged: Array<{ i: number; check: CheckName }> = [];
    const f = r.index.flags;
    for (const c of ORDER) {
      const bit = CHECK_BITS[c];
      for (let i = 0; i < f.length; i++) if (f[i] & bit) flagged.push({ i, check: c });
    }
    total += flagged.length;
    try {
      const seen = new Set<string>();
      const shown: Array<{ i: number; check: CheckName }> = [];
      for (const f of flagged) {
        if (out.length + shown.length >= max) break;
        const key = `${r.index.line[f.i]}:${f.check}`;
        if (seen.has(key)) continue; // several records on one line (OpenAssistant trees)
        seen.add(key);
        shown.push(f);
      }
      const read = d.read(shown.map((f) => f.i));
      shown.forEach(({ i, check }, k) => {
        const { record, raw } = read[k];
        const line = r.index.line[i];
        const range = keyRange(raw, fieldForCheck(record, check), line, startColumn(doc, raw, line));
        const rel = r.related[line];
        let msg = `${CHECK_DESCRIPTIONS[check]}`;
        if (check === 'duplicate' && rel) msg = `duplicate of line ${rel} (same prompt and responses after normalising case and whitespace)`;
        if (check === 'contradiction' && rel) msg = `contradicts line ${rel}: same prompt, chosen and rejected swapped`;
        const diag = new vscode.Diagnostic(range, msg, CHECK_INFO[check].severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information);
        diag.source = 'PrefLens';
        diag.code = check;
        if (rel && doc) diag.relatedInformation = [new vscode.DiagnosticRelatedInformation(new vscode.Location(d.uri, new vscode.Position(rel - 1, 0)), `line ${rel}`)];
        out.push(diag);
      });
    } catch {
      // the file vanished between scan and now: the next scan reports it
    }
    if (total > out.length) {
      const note = new vscode.Diagnostic(
        new vscode.Range(0, 0, 0, 0),
        `PrefLens shows ${out.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} problems in this file (setting preflens.maxDiagnostics); the inspector lists them all.`,
        vscode.DiagnosticSeverity.Information,
      );
      note.source = 'PrefLens';
      out.push(note);
    }
    this.collection.set(d.uri, out);
  }

  dispose(): void {
    this.sub.dispose();
    this.collection.dispose();
  }
}

