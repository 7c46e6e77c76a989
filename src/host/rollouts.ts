/**
 * The Rollouts panel (docs/ARCHITECTURE.md, "Rollouts"): a GRPO run's completions (TRL completions Parquet, verl
 * dumps, NeMo RL training data) read in dist/runWorker.js with what the host needs of the run beside them (its
 * models by step, its reference), shown per step and group; a group scored on request under the policy of its
 * step (the run's checkpoint at or before it, else its final model, else preflens.policyModel) and the reference
 * (the run's, else preflens.referenceModel; an adapter's base when there is none), also in the worker. This thread
 * reads and parses nothing.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { Rollouts } from '../core/contract.js';
import { modelAtStep } from '../core/runs/checkpoints.js';
import type { RolloutRunInfo } from '../workers/runWorker.js';
import { parseRolloutsRequest, type RolloutsEvent } from '../protocol/rollouts.js';
import { createPanel } from './webviewHtml.js';
import { limitsOf, type Models } from './models.js';
import { runRunJob } from './runs.js';
import { dict } from '../core/dict.js';

export class RolloutsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private rollouts: Rollouts | null = null;
  /** The run beside the rollouts, as the worker read it with them. */
  private run: RolloutRunInfo | null = null;
  private last: RolloutsEvent | null = null;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheDir: string,
    private readonly models: Models,
    private readonly log: vscode.OutputChannel,
  ) {}

  /** PrefLens: Open Rollouts…: the run or rollouts folder given (a path, a Uri or a Runs view item), else one picked. */
  async command(arg?: unknown): Promise<void> {
    let dir = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'object' && arg !== null && typeof (arg as { dir?: unknown }).dir === 'string' ? (arg as { dir: string }).dir : undefined;
    if (!dir) {
      const pick = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'PrefLens: GRPO run (with completions/) or rollout dump folder' });
      dir = pick?.[0]?.fsPath;
    }
    if (dir) await this.open(dir);
  }

  async open(dir: string): Promise<void> {
    const weights = vscode.workspace.getConfiguration('preflens').get<Record<string, unknown>>('rewardWeights', {});
    // a copy: configuration objects are proxies, which cannot be posted to a worker
    const rewardWeights = dict(Object.entries(weights ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
    const res = await runRunJob(this.extensionUri, this.log, { kind: 'rollouts', dir, rewardWeights: Object.keys(rewardWeights).length ? rewardWeights : undefined }, 'PrefLens: reading rollouts');
    if (res.type === 'error') {
      void vscode.window.showErrorMessage(`PrefLens: ${res.message}`);
      return;
    }
    if (res.type !== 'done' || res.result.kind !== 'rollouts') return;
    const r = res.result.rollouts;
    this.rollouts = r;
    this.run = res.result.run;
    for (const p of r.problems) this.log.appendLine(`PrefLens rollouts: ${p.file}: ${p.where}: ${p.message}`);
    if (!this.panel) {
      const p = createPanel(this.extensionUri, 'preflens.rollouts', 'PrefLens Rollouts', vscode.ViewColumn.Active, 'rollouts');
      p.webview.onDidReceiveMessage((m: unknown) => {
        const req = parseRolloutsRequest(m);
        if (!req) return;
        if (req.type === 'ready') {
          if (this.last) void p.webview.postMessage(this.last);
        } else void this.score(req.step, req.group);
      });
      p.onDidDispose(() => (this.panel = null));
      this.panel = p;
    } else this.panel.reveal();
    const name = basename(this.run?.dir ?? r.dir);
    this.panel.title = `Rollouts · ${name}`;
    this.post({ type: 'rollouts', view: { name, rollouts: r, scoreUnavailable: this.policy(0) ? null : 'no policy: the run has no model and preflens.policyModel is not set' } });
  }

  /** The policy of a step: the run's model at that step (runs/checkpoints.ts modelAtStep), else preflens.policyModel. */
  private policy(step: number): { dir: string; step: number | null } | null {
    const p = this.run ? modelAtStep(this.run.models, step) : null;
    if (p) return p;
    const s = this.models.settings().policy;
    return s ? { dir: s, step: null } : null;
  }

  private post(e: RolloutsEvent): void {
    if (e.type === 'rollouts') this.last = e;
    void this.panel?.webview.postMessage(e);
  }

  private async score(step: number, group: number): Promise<void> {
    const r = this.rollouts;
    const g = r?.steps.find((s) => s.step === step)?.groups[group];
    if (!r || !g) return;
    const policy = this.policy(step);
    if (!policy) {
      void vscode.window.showErrorMessage('PrefLens: no policy to score with: the run has no model (checkpoint-*/ or its root) and preflens.policyModel is not set.');
      return;
    }
    const s = this.models.settings();
    const reference = this.run?.reference ?? s.reference ?? null;
    const res = await runRunJob(
      this.extensionUri,
      this.log,
      {
        kind: 'rolloutScore',
        group: g,
        step,
        policy: policy.dir,
        reference,
        beta: s.beta,
        limits: limitsOf(s),
        provider: s.provider,
        cacheDir: this.cacheDir,
      },
      `PrefLens: scoring group ${group + 1} of step ${step}`,
    );
    if (res.type === 'error') void vscode.window.showErrorMessage(`PrefLens: ${res.message}`);
    if (res.type !== 'done' || res.result.kind !== 'rolloutScore') return;
    this.post({ type: 'scored', score: { step, group, policy: policy.dir, policyStep: policy.step, reference: reference ?? (res.result.scored && 'candidates' in res.result.scored && res.result.scored.candidates?.[0]?.ref_logp !== undefined ? "the adapter's base" : 'none (reference-free: policy logp only)'), scored: res.result.scored } });
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
