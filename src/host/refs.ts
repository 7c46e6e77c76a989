/**
 * PrefLens: Compute Reference Log-Probs… (issue #23; docs/ARCHITECTURE.md, "Reference log-probabilities"): the open
 * dataset's rows with TRL's ref_chosen_logps / ref_rejected_logps, written by core/refs.ts writeRefs in a worker
 * thread (workers/refsWorker.ts) to a NEW file the user names, as `preflens refs` writes it, with a cancellable
 * progress notification (rows, tokens/s, time left). The reference is the preflens.referenceModel setting or a folder
 * the user picks; the tokenization is the settings' (convention, lengths), as scoring's.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startJob } from '../core/jobs.js';
import { sameFile } from '../core/export.js';
import type { RefsJobMessage, RefsJobResult, RefsJobSpec } from '../workers/refsWorker.js';
import type { DatasetManager } from './datasets.js';
import { isParquetUri } from './datasets.js';
import { limitsOf, type Models } from './models.js';

export class RefsCommand {
  constructor(
    private readonly distDir: string,
    private readonly cacheDir: string,
    private readonly models: Models,
    private readonly datasets: DatasetManager,
    private readonly log: vscode.OutputChannel,
  ) {}

  /** The reference: the setting's folder, or one the user picks (a model folder, adapter or ONNX export). */
  private async reference(): Promise<string | undefined> {
    const set = this.models.settings().reference;
    const choose = 'Choose a model folder…';
    if (set) {
      const pick = await vscode.window.showQuickPick([{ label: `Reference: ${set.split(/[\\/]/).filter(Boolean).pop()}`, description: set, dir: set }, { label: choose, dir: '' }], {
        title: 'PrefLens: the reference model whose log-probabilities TRL would compute',
      });
      if (!pick) return undefined;
      if (pick.dir) return pick.dir;
    }
    const r = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: 'PrefLens: reference model folder (usually the SFT model the policy starts from)', openLabel: 'Use as reference' });
    return r?.[0]?.fsPath;
  }

  async run(uri: vscode.Uri): Promise<void> {
    const ref = await this.reference();
    if (!ref) return;
    const parquet = isParquetUri(uri);
    const base = uri.path.replace(/\.(jsonl|json|ndjson|parquet)$/i, '');
    const target = await vscode.window.showSaveDialog({
      defaultUri: uri.with({ path: `${base}.refs.${parquet ? 'parquet' : 'jsonl'}` }),
      filters: parquet ? { Parquet: ['parquet'], 'JSON Lines': ['jsonl'] } : { 'JSON Lines': ['jsonl'], Parquet: ['parquet'] },
      title: 'PrefLens: write the rows with reference log-probabilities to',
    });
    if (!target) return;
    if (sameFile(uri.fsPath, target.fsPath)) {
      void vscode.window.showErrorMessage('PrefLens never writes to a dataset file: choose a new file for the reference log-probabilities.');
      return;
    }
    const s = this.models.settings();
    const spec: RefsJobSpec = {
      data: uri.fsPath,
      ref,
      out: target.fsPath,
      format: this.datasets.get(uri)?.result?.format ?? null,
      limits: limitsOf(s),
      provider: s.provider,
      cacheDir: this.cacheDir,
    };
    const name = uri.path.split('/').pop() ?? uri.fsPath;
    this.log.appendLine(`reference log-probabilities of ${uri.fsPath} with ${ref} to ${target.fsPath}: convention ${s.convention} (${s.conventionReason})`);
    const end = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `PrefLens: reference log-probabilities of ${name}`, cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        let logged = 0;
        return startJob<RefsJobSpec, RefsJobMessage, RefsJobResult>(join(this.distDir, 'refsWorker.js'), spec, {
          signal: ac.signal,
          cancel: 'message',
          onMessage: (m) => {
            if (m.type === 'model') {
              this.log.appendLine(`reference: ${m.description}, on ${m.deviceNote}`);
              for (const w of m.warnings) this.log.appendLine(`reference: warning: ${w}`);
              progress.report({ message: `reference on ${m.deviceNote}` });
              return;
            }
            const pct = (100 * m.rows) / Math.max(1, m.total);
            const rate = m.rows / Math.max(m.seconds, 1e-9);
            const left = m.total > m.rows ? ` · ${Math.round((m.total - m.rows) / Math.max(rate, 1e-9))} s left` : '';
            const message = `${m.rows.toLocaleString('en-US')}/${m.total.toLocaleString('en-US')} rows · ${Math.round(m.tokens / Math.max(m.seconds, 1e-9)).toLocaleString('en-US')} tok/s${left}`;
            progress.report({ increment: pct - last, message });
            last = pct;
            if (m.seconds - logged >= 5 || m.rows === m.total) {
              logged = m.seconds;
              this.log.appendLine(`reference log-probabilities of ${name}: ${message}`);
            }
          },
        });
      },
    );
    if (end.type === 'cancelled') {
      this.log.appendLine(`reference log-probabilities of ${uri.fsPath} cancelled: nothing written to ${target.fsPath}`);
      void vscode.window.showInformationMessage(`PrefLens: cancelled; nothing was written to ${target.fsPath}.`);
      return;
    }
    if (end.type === 'error') {
      this.log.appendLine(`reference log-probabilities of ${uri.fsPath} failed: ${end.message}`);
      void vscode.window.showErrorMessage(`PrefLens: ${end.message}`);
      return;
    }
    const r = end.result;
    const what = r.kept
      ? `${target.fsPath} holds these reference log-probabilities already (same data, model and settings): kept`
      : `wrote ${r.rows.toLocaleString('en-US')} rows to ${target.fsPath} (${r.scored.toLocaleString('en-US')} with reference log-probabilities, ${r.skipped.toLocaleString('en-US')} with a preflens_skipped reason) in ${r.seconds.toFixed(1)} s, ${Math.round(r.tokens / Math.max(r.seconds, 1e-9)).toLocaleString('en-US')} tokens/s on ${r.device}`;
    this.log.appendLine(`reference log-probabilities of ${uri.fsPath}: ${what}`);
    const pick = await vscode.window.showInformationMessage(`PrefLens: ${what}`, 'Open');
    if (pick && existsSync(target.fsPath)) await vscode.commands.executeCommand('vscode.open', target);
  }
}
