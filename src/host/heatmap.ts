/**
 * Token heatmap panel: one scored record at a time, navigation over the scored records (all / flagged), and
 * hover cards whose top-5 alternatives are read on demand from the score cache for that position.
 */
import * as vscode from 'vscode';
import type { DatasetManager } from './datasets.js';
import type { Models } from './models.js';
import type { ScoreStore } from './scores.js';
import { parseHeatmapRequest, type HeatmapEvent, type HeatmapRequest, type Alternative } from '../protocol/heatmap.js';
import { createPanel } from './webviewHtml.js';
import { readRecord, recordAtLine } from '../core/records.js';
import { FLAG_INFO } from '../core/metrics/pair.js';
import { ScoreCache } from '../core/engine/cache.js';
import type { ScoredRecord } from '../core/engine/score.js';

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
    const d = this.datasets.get(this.uri);
    let prompt = '';
    let labels: string[] = r.candidates ? r.candidates.map((c, i) => (c.role === 'candidate' ? `#${i + 1}` : c.role)) : ['chosen', 'rejected'];
    const s = this.models.settings();
    if (d?.result && s.policy) {
      const i = recordAtLine(d.result.index, r.line) + (r.sub ?? 0);
      const rec = readRecord(d.path, d.result.index, i, d.result.format).record;
      if (rec) {
        prompt = this.models.tokenizer(s.policy).texts(rec).prompt;
        if (rec.kind === 'unpaired') labels = [`completion (${rec.label ? 'desirable' : 'undesirable'})`];
      }
    }
    this.post({
      type: 'record',
      view: {
        file: this.uri.path.split('/').pop() ?? '',
        scored: r,
        prompt,
        labels,
        position: all.findIndex((x) => x.line === r.line && (x.sub ?? 0) === (r.sub ?? 0)),
        total: all.length,
        flagInfo: FLAG_INFO,
        policy: s.policy ?? '',
        reference: s.reference ?? null,
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
          await revealLine(this.uri, all[i].line, true);
          return;
        }
      }
      return;
    }
    // Top-5 alternatives for one position, from the score cache (computed with the record).
    const items = this.alternatives(req.response, req.token);
    if (typeof items === 'string') this.post({ type: 'alternatives', seq: req.seq, response: req.response, token: req.token, items: [], error: items });
    else this.post({ type: 'alternatives', seq: req.seq, response: req.response, token: req.token, items });
  }

  /** The alternatives, or why there are none. */
  private alternatives(response: number, token: number): Alternative[] | string {
    const s = this.models.settings();
    const summary = this.models.summary('policy');
    const d = this.uri ? this.datasets.get(this.uri) : undefined;
    if (!s.policy) return 'no policy model configured';
    if (!summary) return 'score the file in this session to see alternatives';
    if (!d?.result || !this.current) return 'the file is not indexed';
    const i = recordAtLine(d.result.index, this.current.line) + (this.current.sub ?? 0);
    const rec = readRecord(d.path, d.result.index, i, d.result.format).record;
    if (!rec) return 'the record changed on disk: re-score it';
    const tok = this.models.tokenizer(s.policy);
    const enc = tok.encodeRecord(rec, { maxPromptLength: s.maxPromptLength, maxCompletionLength: s.maxCompletionLength });
    const resp = enc.responses[response];
    if (!resp) return 'no such response';
    const prompt = tok.promptContext(enc.promptIds);
    const cache = new ScoreCache(this.cacheDir, summary.contentHash, summary.k);
    const st = cache.get({ ids: [...prompt, ...resp.ids], respStart: prompt.length });
    if (!st || token >= st.logp.length) return `not in the score cache (re-score the record) [${cache.dir}]`;
    const out: Alternative[] = [];
    for (let q = 0; q < Math.min(5, summary.k); q++) {
      const id = st.topkIds[token * summary.k + q];
      out.push({ id, text: tok.hf.tokenizer.decode([id]), prob: Math.exp(st.topkLogp[token * summary.k + q]) });
    }
    return out;
  }

  dispose(): void {
    this.panel?.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}

/** Reveals a line in the file's text editor (opening it beside when no editor shows it). */
export async function revealLine(uri: vscode.Uri, line: number, preserveFocus = true): Promise<void> {
  const pos = new vscode.Position(line - 1, 0);
  let ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  if (!ed) ed = await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, preserveFocus, preview: true });
  ed.selection = new vscode.Selection(pos, pos);
  ed.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
