/**
 * Token heatmap panel: one scored record at a time, navigation over the scored records (all / flagged), and
 * hover cards whose top-5 alternatives the host worker reads from the score cache (the scored response carries its
 * cache key). Everything shown comes with the scored record: the host reads no record and loads no tokenizer.
 */
import * as vscode from 'vscode';
import type { DatasetManager } from './datasets.js';
import type { Models } from './models.js';
import type { ScoreStore } from './scores.js';
import type { WorkerClient } from './workerClient.js';
import { parseHeatmapRequest, type HeatmapEvent, type HeatmapRequest, type Alternative } from '../protocol/heatmap.js';
import { createPanel } from './webviewHtml.js';
import { revealLine } from './recordText.js';
import { FLAG_INFO, LOSS_FIELDS } from '../core/metrics/pair.js';
import type { ScoredRecord } from '../core/contract.js';


/** The trainer's loss for the header, when the policy's training config names one PrefLens computes. */
function lossOf(type: string | null): { loss?: { type: string; field: string } } {
  const field = type ? LOSS_FIELDS.get(type) : undefined;
  return type && field ? { loss: { type, field } } : {};
}

/** The responses' labels: chosen/rejected, a KTO completion with its label, #1… for ranked lists and groups. */
export function responseLabels(r: ScoredRecord): string[] {
  if (!r.candidates) return ['chosen', 'rejected'];
  return r.candidates.map((c, i) =>
    c.role === 'completion' && c.label !== undefined ? `completion (${c.label ? 'desirable' : 'undesirable'})` : c.role === 'candidate' ? `#${i + 1}` : c.role,
  );
}

export class HeatmapPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private uri: vscode.Uri | null = null;
  private current: ScoredRecord | null = null;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheDir: string,
    private readonly datasets: DatasetManager,
    private readonly models: Models,
    private readonly store: ScoreStore,
    private readonly worker: WorkerClient,
  ) {
    this.subs.push(
      store.onDidChange((u) => {
        if (this.uri && u.toString() === this.uri.toString() && this.current) {
          const fresh = store.get(u, this.current.line, this.current.sub);
          if (fresh && fresh !== this.current) void this.show(fresh);
        }
      }),
    );
  }

  /**
   * PrefLens: Open Token Heatmap: the record on `line` (`sub`), else the record under the cursor of the file's
   * editor, else the file's first scored record.
   */
  async openAt(uri: vscode.Uri, line?: number, sub?: number): Promise<void> {
    let l = line;
    if (l === undefined) {
      const ed = vscode.window.activeTextEditor;
      const d = this.datasets.get(uri);
      const i = ed && d ? d.indexAtLine(ed.selection.active.line + 1) : -1;
      if (i >= 0 && d?.result) l = d.result.index.line[i];
      l ??= this.store.all(uri)[0]?.line;
    }
    if (l === undefined) {
      void vscode.window.showInformationMessage('PrefLens: no scored records yet: run "PrefLens: Score Records".');
      return;
    }
    await this.open(uri, l, sub ?? 0);
  }

  async open(uri: vscode.Uri, line: number, sub = 0): Promise<void> {
    const r = this.store.get(uri, line, sub);
    if (!r) {
      void vscode.window.showInformationMessage(`PrefLens: line ${line} is not scored yet: run "PrefLens: Score Records".`);
      return;
    }
    this.uri = uri;
    this.ensurePanel();
    await this.show(r);
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const p = createPanel(this.extensionUri, 'preflens.heatmap', 'PrefLens Heatmap', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, 'heatmap');
    p.webview.onDidReceiveMessage((m: unknown) => {
      const req = parseHeatmapRequest(m);
      if (req) void this.handle(req).catch((e: unknown) => vscode.window.showErrorMessage(`PrefLens heatmap: ${e instanceof Error ? e.message : String(e)}`));
    });
    p.onDidDispose(() => (this.panel = null));
    this.panel = p;
  }

  private post(e: HeatmapEvent): void {
    void this.panel?.webview.postMessage(e);
  }

  private async show(r: ScoredRecord): Promise<void> {
    if (!this.uri) return;
    this.current = r;
    const all = this.store.all(this.uri);
    const s = this.models.settings();
    this.post({
      type: 'record',
      view: {
        file: this.uri.path.split('/').pop() ?? '',
        scored: r,
        prompt: r.prompt?.text ?? '',
        labels: responseLabels(r),
        position: all.findIndex((x) => x.line === r.line && (x.sub ?? 0) === (r.sub ?? 0)),
        total: all.length,
        flagInfo: FLAG_INFO,
        policy: s.policy ?? '',
        reference: s.reference ?? null,
        convention: r.convention ? `${r.convention}${r.convention === s.convention ? ` (${s.conventionReason})` : ''}` : '',
        ...lossOf(this.models.summary('policy')?.lossType ?? null),
      },
    });
    if (this.panel) this.panel.title = `Heatmap · line ${r.line}`;
  }

  private async handle(req: HeatmapRequest): Promise<void> {
    if (req.type === 'ready') {
      if (this.current) await this.show(this.current);
      return;
    }
    if (!this.uri || !this.current) return;
    if (req.type === 'reveal') {
      await revealLine(this.uri, this.current.line);
      return;
    }
    if (req.type === 'navigate') {
      const all = this.store.all(this.uri);
      const at = all.findIndex((x) => x.line === this.current?.line && (x.sub ?? 0) === (this.current?.sub ?? 0));
      const flagged = req.direction === 'nextFlagged' || req.direction === 'prevFlagged';
      const step = req.direction === 'next' || req.direction === 'nextFlagged' ? 1 : -1;
      for (let i = at + step; i >= 0 && i < all.length; i += step) {
        if (!flagged || all[i].flags.length > 0) {
          await this.show(all[i]);
          await revealLine(this.uri, all[i].line);
          return;
        }
      }
      return;
    }
    // Top-5 alternatives for one position, from the score cache (computed with the record).
    const items = await this.alternatives(req.response, req.token);
    if (typeof items === 'string') this.post({ type: 'alternatives', seq: req.seq, response: req.response, token: req.token, items: [], error: items });
    else this.post({ type: 'alternatives', seq: req.seq, response: req.response, token: req.token, items });
  }

  /** The alternatives, or why there are none (read by the host worker from the score cache). */
  private async alternatives(response: number, token: number): Promise<Alternative[] | string> {
    const s = this.models.settings();
    const summary = this.models.summary('policy');
    if (!s.policy) return 'no policy model configured';
    if (!summary) return 'score the file in this session to see alternatives';
    const r = this.current;
    const resp = r ? (r.candidates ? r.candidates[response] : [r.chosen, r.rejected][response]) : undefined;
    if (!resp) return 'no such response';
    if (!resp.seq_key) return 'score the record in this session to see alternatives';
    const reply = await this.worker.request({
      op: 'alternatives',
      tokenizerDir: s.policy,
      query: { cacheDir: this.cacheDir, contentHash: summary.contentHash, k: summary.k, seqKey: resp.seq_key, tokens: resp.tokens.length, token },
    });
    return reply.type === 'alternatives' ? reply.items : 'no alternatives';
  }

  dispose(): void {
    this.panel?.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}
