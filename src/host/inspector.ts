/**
 * The PrefLens Inspector: a read-only custom editor over a preference file. The host owns the data (record index,
 * filters, search in the worker); the webview renders a virtualised record list and one record at a time.
 */
import * as vscode from 'vscode';
import { type Dataset, type DatasetManager, isParquetUri } from './datasets.js';
import type { WorkerClient } from './workerClient.js';
import { parseInspectorRequest, type InspectorEvent, type InspectorRequest, type RowInfo } from '../protocol/inspector.js';
import { CHECK_BITS, CHECK_DESCRIPTIONS, type CheckName, flagsToChecks } from '../core/checks/table.js';
import { revealLine } from './recordText.js';
import { diffSpans } from '../core/diff.js';
import { webviewHtml, webviewOptions } from './webviewHtml.js';

/** Exports the records an inspector shows (host/export.ts exportShown). */
export type ExportShown = (uri: vscode.Uri, shown: Uint32Array | null) => Promise<void>;

export const INSPECTOR_VIEW_TYPE = 'preflens.inspector';
/** The same inspector as the default editor of Parquet files (binary: they have no text editor to open instead). */
export const PARQUET_INSPECTOR_VIEW_TYPE = 'preflens.parquetInspector';

class InspectorDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

class Session implements vscode.Disposable {
  private filtered: Uint32Array | null = null; // null = all records
  private querySeq = 0;
  private current = -1;
  private suppressSelection = -1;
  private readonly subs: vscode.Disposable[] = [];
  private searchCancel: vscode.CancellationTokenSource | null = null;
  private lastResult: unknown = undefined;
  private lastState = '';

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly uri: vscode.Uri,
    private readonly datasets: DatasetManager,
    private readonly worker: WorkerClient,
    private initialFilter: CheckName | undefined,
    private initialIndex: number | undefined,
    private readonly onExport: ExportShown,
  ) {
    this.subs.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        const req = parseInspectorRequest(m);
        if (!req) return; // untrusted input: ignore anything that is not a valid request
        void this.handle(req).catch((e: unknown) => this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
      }),
      datasets.onDidChange((d) => {
        if (d.uri.toString() !== uri.toString()) return;
        // Progress events repeat often: only a new result or state is worth a new summary (and a new query); a
        // rescan over shown data keeps it; only "scanning, nothing yet" passes every progress percentage on.
        const waiting = d.state === 'scanning' && d.result === null;
        if (d.result === this.lastResult && (d.state === this.lastState || d.state === 'scanning') && !waiting) return;
        this.lastResult = d.result;
        this.lastState = d.state;
        this.sendSummary(d);
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onEditorSelection(e)),
    );
  }

  focus(filter: CheckName | undefined, index: number | undefined): void {
    this.initialFilter = filter;
    this.initialIndex = index;
    const d = this.datasets.get(this.uri);
    if (d) this.sendSummary(d);
  }

  private post(e: InspectorEvent): void {
    void this.panel.webview.postMessage(e);
  }

  private dataset(): Dataset | undefined {
    return this.datasets.get(this.uri);
  }

  private sendSummary(d: Dataset): void {
    if (d.state === 'scanning' && !d.result?.partial) {
      this.post({ type: 'scanning', message: `Scanning ${d.name}… ${Math.round(d.progress * 100)}%` });
      return;
    }
    if (!d.result) {
      this.post({ type: 'error', message: d.state === 'failed' ? `Cannot read ${d.name}: ${d.error}` : `${d.name} is not a preference file PrefLens recognises.` });
      return;
    }
    const r = d.result;
    this.post({
      type: 'summary',
      summary: {
        file: d.name,
        format: r.format,
        // (no percentage: the summary is not posted again on progress, which the status bar shows as it goes)
        formatLabel: r.partial ? `${d.formatLabel} (first records; indexing the rest…)` : d.formatLabel,
        records: r.records,
        errorCount: r.errorCount,
        unit: d.unit,
        counts: d.checkCounts(),
        checkDescriptions: CHECK_DESCRIPTIONS,
      },
      bits: CHECK_BITS,
    });
    if (this.initialFilter !== undefined || this.initialIndex !== undefined) {
      this.post({ type: 'selectIndex', index: this.initialIndex ?? -1, position: -1 });
    }
  }

  private async handle(req: InspectorRequest): Promise<void> {
    const d = this.dataset();
    switch (req.type) {
      case 'ready': {
        if (d) this.sendSummary(d);
        return;
      }
      case 'query':
        return this.query(req.filter, req.search, req.seq);
      case 'rows':
        return this.rows(req.start, req.count, req.seq);
      case 'select':
        return this.select(req.index, req.reveal);
      case 'jumpToLine': {
        const i = d?.indexAtLine(req.line) ?? -1;
        if (i >= 0) await this.select(i, true);
        return;
      }
      case 'exportShown':
        // the records shown: the current filter and search (null: all of them)
        return this.onExport(this.uri, this.filtered);
    }
  }

  private async query(filter: CheckName | 'all' | 'flagged', search: string, seq: number): Promise<void> {
    const d = this.dataset();
    if (!d?.result) return;
    this.querySeq = seq;
    this.searchCancel?.cancel();
    this.searchCancel = null;
    const flags = d.result.index.flags;
    let subset: Uint32Array | null = null;
    if (filter !== 'all') {
      const mask = filter === 'flagged' ? 0xffffffff : CHECK_BITS[filter];
      const out: number[] = [];
      for (let i = 0; i < flags.length; i++) if (flags[i] & mask) out.push(i);
      subset = Uint32Array.from(out);
    }
    if (search.trim() === '') {
      this.filtered = subset;
      this.post({ type: 'queryResult', seq, total: subset ? subset.length : flags.length, searching: false });
      return;
    }
    this.post({ type: 'queryResult', seq, total: 0, searching: true });
    const cts = new vscode.CancellationTokenSource();
    this.searchCancel = cts;
    try {
      const reply = await this.worker.request(
        { op: 'search', path: d.path, index: d.result.index, format: d.result.format, needle: search, subset },
        { signal: cts.token },
      );
      if (seq !== this.querySeq || reply.type !== 'search') return;
      this.filtered = reply.matches;
      this.post({ type: 'queryResult', seq, total: reply.matches.length, searching: false });
    } catch (e) {
      if (seq === this.querySeq && !(e instanceof Error && e.message === 'cancelled')) throw e;
    }
  }

  private indexAt(pos: number): number {
    return this.filtered ? (pos < this.filtered.length ? this.filtered[pos] : -1) : pos;
  }

  private positionOf(index: number): number {
    if (!this.filtered) return index;
    let lo = 0;
    let hi = this.filtered.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.filtered[mid] === index) return mid;
      if (this.filtered[mid] < index) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private async rows(start: number, count: number, seq: number): Promise<void> {
    const d = this.dataset();
    if (!d?.result) return;
    const r = d.result;
    const total = this.filtered ? this.filtered.length : r.records;
    const indices: number[] = [];
    for (let p = start; p < Math.min(total, start + count); p++) indices.push(this.indexAt(p));
    // a Parquet file's rows come from the worker (their row groups decoded there)
    const read = await d.readAsync(indices);
    if (d.result !== r) return; // rescanned meanwhile: the webview asks again
    const rows: RowInfo[] = read.map((rr, k) => {
      const i = indices[k];
      const text = rr.record ? lastTurn(rr.record.prompt) : rr.raw;
      return { index: i, line: r.index.line[i], flags: r.index.flags[i], preview: text.replace(/\s+/g, ' ').trim().slice(0, 160), error: rr.record === null };
    });
    this.post({ type: 'rows', seq, start, rows });
  }

  private async select(index: number, reveal: boolean): Promise<void> {
    const d = this.dataset();
    if (!d?.result || index >= d.result.records) return;
    this.current = index;
    const r = d.result;
    const [rr] = await d.readAsync([index]);
    if (!rr || d.result !== r || this.current !== index) return;
    const flags = flagsToChecks(r.index.flags[index]);
    const position = this.positionOf(index);
    if (!rr.record) {
      this.post({ type: 'record', index, view: null, error: rr.error, position });
    } else {
      const rec = rr.record;
      delete rec.raw;
      let diff;
      if (rec.kind === 'pair' && rec.candidates.length === 2 && rec.candidates[0].text.length + rec.candidates[1].text.length < 400_000) {
        const s = diffSpans(rec.candidates[0].text, rec.candidates[1].text);
        diff = { chosen: s.a, rejected: s.b };
      }
      let promptDiff;
      if (rec.rejectedPrompt !== undefined && rec.prompt.length + rec.rejectedPrompt.length < 400_000) {
        const s = diffSpans(rec.prompt, rec.rejectedPrompt);
        promptDiff = { chosen: s.a, rejected: s.b };
      }
      const rel = r.related[rec.line];
      this.post({
        type: 'record',
        index,
        view: { record: rec, flags, flagText: flags.map((f) => CHECK_DESCRIPTIONS[f]), diff, promptDiff, ...(rel ? { related: rel } : {}) },
        position,
      });
    }
    if (reveal) await this.revealLine(r.index.line[index]);
  }

  private async revealLine(line: number): Promise<void> {
    // a Parquet file has no text to reveal a row in
    if (isParquetUri(this.uri)) return;
    // The selection this causes in the text editor must not select the record again.
    this.suppressSelection = line;
    await revealLine(this.uri, line, { column: this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One });
  }

  private onEditorSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (e.textEditor.document.uri.toString() !== this.uri.toString()) return;
    const line = e.selections[0].active.line + 1;
    if (line === this.suppressSelection) {
      this.suppressSelection = -1;
      return;
    }
    const i = this.dataset()?.indexAtLine(line) ?? -1;
    if (i < 0 || i === this.current) return;
    void this.select(i, false).then(() => this.post({ type: 'selectIndex', index: i, position: this.positionOf(i) }));
  }

  dispose(): void {
    this.searchCancel?.cancel();
    this.subs.forEach((s) => s.dispose());
  }
}

function lastTurn(prompt: string): string {
  const i = prompt.lastIndexOf('\n\nHuman:');
  const t = i >= 0 ? prompt.slice(i + 8) : prompt;
  return t.replace(/\n\nAssistant:$/, '');
}

export class InspectorProvider implements vscode.CustomReadonlyEditorProvider<InspectorDocument> {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, { filter?: CheckName; index?: number }>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly datasets: DatasetManager,
    private readonly worker: WorkerClient,
    private readonly onExport: ExportShown,
  ) {}

  /** Opens (or focuses) the inspector on a file, optionally filtered to a check or on a record. */
  async open(uri: vscode.Uri, filter?: CheckName, index?: number): Promise<void> {
    const s = this.sessions.get(uri.toString());
    this.pending.set(uri.toString(), { filter, index });
    const active = vscode.window.activeTextEditor?.document.uri.toString() === uri.toString();
    await vscode.commands.executeCommand('vscode.openWith', uri, isParquetUri(uri) ? PARQUET_INSPECTOR_VIEW_TYPE : INSPECTOR_VIEW_TYPE, active ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active);
    if (s) {
      this.pending.delete(uri.toString());
      s.focus(filter, index);
    }
  }

  openCustomDocument(uri: vscode.Uri): InspectorDocument {
    // the scan starts now, not once the editor's webview is made (resolveCustomEditor, 20-40 ms later in bench/scale);
    // the session asks for the dataset's state when its webview is ready
    void this.datasets.open(uri);
    return new InspectorDocument(uri);
  }

  resolveCustomEditor(doc: InspectorDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.extensionUri);
    const p = this.pending.get(doc.uri.toString());
    this.pending.delete(doc.uri.toString());
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'inspector', 'PrefLens Inspector', {
      filter: p?.filter ?? null,
      index: p?.index ?? null,
    });
    const session = new Session(panel, doc.uri, this.datasets, this.worker, p?.filter, p?.index, this.onExport);
    this.sessions.set(doc.uri.toString(), session);
    panel.onDidDispose(() => {
      session.dispose();
      if (this.sessions.get(doc.uri.toString()) === session) this.sessions.delete(doc.uri.toString());
    });
    // Not awaited: VS Code shows the editor only once this returns; the index arrives as it is built. (Opened already
    // by openCustomDocument: this finds it, or opens it again if it was closed since.)
    void this.datasets.open(doc.uri);
  }
}

