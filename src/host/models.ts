/**
 * Policy and reference models in the extension: settings (respecting workspace trust), the picker command that
 * validates folders, and the Models view (name, architecture, parameters, vocabulary, device, problems). The folders
 * are checked in the host worker (core/engine/check.ts): this thread loads neither a tokenizer nor onnxruntime.
 */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import type { ProviderChoice } from '../core/engine/model.js';
import type { ModelCheck } from '../core/engine/check.js';
import { type Convention, type LengthLimits, TRL_DEFAULTS, TRL_LEGACY_DEFAULTS, type TruncationMode } from '../core/tokenize/convention.js';
import { type ConventionChoice, resolveConvention } from '../core/tokenize/convention.js';
import { DEFAULT_BETA } from '../core/metrics/pair.js';
import type { WorkerClient } from './workerClient.js';
import type { ModelSummary } from '../workers/scoreWorker.js';

export interface ScoringSettings {
  policy: string | undefined;
  reference: string | undefined;
  beta: number;
  convention: Convention;
  /** Why this convention (shown in the Models view, the log and the heatmap). */
  conventionReason: string;
  maxPromptLength: number | null;
  maxCompletionLength: number | null;
  maxLength: number | null;
  truncationMode: TruncationMode;
  provider: ProviderChoice;
}

/** The tokenization of the scoring settings (convention and lengths), for SPINAL, checkpoint comparison, rollouts and reference log-probabilities too. */
export function limitsOf(s: ScoringSettings): LengthLimits {
  return { convention: s.convention, maxPromptLength: s.maxPromptLength, maxCompletionLength: s.maxCompletionLength, maxLength: s.maxLength, truncationMode: s.truncationMode };
}

interface ModelState extends Omit<ModelCheck, 'dir'> {
  dir: string | undefined;
  summary?: ModelSummary;
  /** Still being checked in the worker. */
  checking?: boolean;
}

/** A model path setting; in an untrusted workspace only the user (global) value is used. */
function modelPathSetting(cfg: vscode.WorkspaceConfiguration, key: string): string | undefined {
  const v = vscode.workspace.isTrusted ? cfg.get<string>(key) : cfg.inspect<string>(key)?.globalValue;
  return v && v.trim() ? v.trim() : undefined;
}

/**
 * preflens.convention, resolved (scoring and the truncation check share it): `auto` reads the policy's model card,
 * then whether max prompt/completion lengths were set.
 */
export function settingsConvention(cfg: vscode.WorkspaceConfiguration): { convention: Convention; conventionReason: string } {
  const choice = cfg.get<ConventionChoice>('convention', 'auto');
  const set = (key: string): boolean => {
    const i = cfg.inspect(key);
    return i?.globalValue !== undefined || i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined;
  };
  const { convention, reason } = resolveConvention(choice, modelPathSetting(cfg, 'policyModel') ?? '', set('maxPromptLength') || set('maxCompletionLength'));
  return { convention, conventionReason: reason };
}

export class Models implements vscode.TreeDataProvider<vscode.TreeItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.TreeItem | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly sub: vscode.Disposable;
  private state: { policy: ModelState; reference: ModelState } = { policy: { dir: undefined, problems: [] }, reference: { dir: undefined, problems: [] } };
  /** Counts refreshes, so that a check that comes back after a newer one began is dropped. */
  private generation = 0;

  constructor(private readonly worker: WorkerClient) {
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('preflens')) void this.refresh();
    });
    void this.refresh();
  }

  /** A model path setting; in an untrusted workspace only the user (global) value is used. */
  private pathSetting(key: string): string | undefined {
    return modelPathSetting(vscode.workspace.getConfiguration('preflens'), key);
  }

  settings(): ScoringSettings {
    const cfg = vscode.workspace.getConfiguration('preflens');
    const conv = settingsConvention(cfg);
    // preflens.truncationMode when set; else the convention's trainer default (TRL 0.28 kept the end, TRL ≥ 0.29 the start)
    const mode = cfg.inspect<TruncationMode>('truncationMode');
    const modeSet = mode?.globalValue ?? mode?.workspaceValue ?? mode?.workspaceFolderValue;
    return {
      policy: this.pathSetting('policyModel'),
      reference: this.pathSetting('referenceModel'),
      beta: cfg.get<number>('beta', DEFAULT_BETA),
      ...conv,
      maxPromptLength: cfg.get<number | null>('maxPromptLength', 512),
      maxCompletionLength: cfg.get<number | null>('maxCompletionLength', null),
      maxLength: cfg.get<number | null>('maxLength', TRL_DEFAULTS.maxLength),
      truncationMode: modeSet ?? (conv.convention === 'trl-legacy' ? TRL_LEGACY_DEFAULTS.truncationMode : TRL_DEFAULTS.truncationMode),
      provider: cfg.get<ProviderChoice>('executionProvider', 'auto'),
    };
  }

  /** Checks model folders in the host worker (core/engine/check.ts): what each is, problems, shared tokenizer. */
  private async check(policy: string | undefined, reference: string | undefined): Promise<{ policy: ModelCheck | null; reference: ModelCheck | null }> {
    try {
      const r = await this.worker.request({ op: 'models', policy, reference });
      if (r.type === 'models') return { policy: r.policy, reference: r.reference };
    } catch (e) {
      const problem = (dir: string | undefined): ModelCheck | null => (dir ? { dir, problems: [`cannot check ${dir}: ${e instanceof Error ? e.message : String(e)}`] } : null);
      return { policy: problem(policy), reference: problem(reference) };
    }
    return { policy: null, reference: null };
  }

  async refresh(): Promise<void> {
    const s = this.settings();
    const gen = ++this.generation;
    const prev = this.state;
    const pending = (dir: string | undefined, p: ModelState): ModelState => ({ dir, problems: [], checking: dir !== undefined, summary: p.dir === dir ? p.summary : undefined });
    this.state = { policy: pending(s.policy, prev.policy), reference: pending(s.reference, prev.reference) };
    this.emitter.fire(undefined);
    const r = await this.check(s.policy, s.reference);
    if (gen !== this.generation) return;
    const mk = (dir: string | undefined, c: ModelCheck | null, p: ModelState): ModelState => (dir && c ? { ...c, dir, summary: p.dir === dir ? p.summary : undefined } : { dir, problems: [] });
    this.state = { policy: mk(s.policy, r.policy, prev.policy), reference: mk(s.reference, r.reference, prev.reference) };
    this.emitter.fire(undefined);
    this.changed.fire();
  }

  setSummaries(policy: ModelSummary, reference: ModelSummary | null): void {
    this.state.policy.summary = policy;
    if (reference) this.state.reference.summary = reference;
    this.emitter.fire(undefined);
  }

  summary(which: 'policy' | 'reference'): ModelSummary | undefined {
    return this.state[which].summary;
  }

  problems(): string[] {
    return [...this.state.policy.problems, ...this.state.reference.problems];
  }

  async select(): Promise<void> {
    const pick = async (title: string): Promise<string | undefined> => {
      const r = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title, openLabel: 'Use this model folder' });
      return r?.[0]?.fsPath;
    };
    const policy = await pick('PrefLens: policy model folder (a transformers checkpoint, a LoRA adapter or an ONNX export)');
    if (!policy) return;
    const pv = (await this.check(policy, undefined)).policy;
    if (pv?.problems.length) {
      void vscode.window.showErrorMessage(`PrefLens: ${pv.problems.join('; ')}`);
      return;
    }
    const choice = await vscode.window.showQuickPick(['Choose a reference model folder…', 'No reference (reference-free: logps only)'], { title: 'PrefLens: reference model' });
    let reference: string | undefined;
    if (choice === 'Choose a reference model folder…') {
      reference = await pick('PrefLens: reference model folder');
      if (!reference) return;
      const rv = (await this.check(policy, reference)).reference;
      if (rv?.problems.length) {
        void vscode.window.showErrorMessage(`PrefLens: ${rv.problems.join('; ')}${rv.problems.includes('policy and reference use different tokenizers') ? ': their log-probabilities cannot be compared.' : ''}`);
        return;
      }
    }
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const cfg = vscode.workspace.getConfiguration('preflens');
    await cfg.update('policyModel', policy, target);
    await cfg.update('referenceModel', reference ?? '', target);
  }

  getChildren(el?: vscode.TreeItem): vscode.TreeItem[] {
    if (el) return [];
    const item = (role: 'policy' | 'reference'): vscode.TreeItem[] => {
      const st = this.state[role];
      const label = role === 'policy' ? 'Policy' : 'Reference';
      if (!st.dir && role === 'reference' && this.state.policy.adapter) {
        const i = new vscode.TreeItem('Reference: the adapter\'s base');
        i.description = 'shares the policy\'s session and base weights';
        i.tooltip = 'No reference is set and the policy is a LoRA adapter: the reference is its base (what TRL does with a PEFT model and no ref_model), computed in the same onnxruntime session with the adapter switched off, so the base weights are in memory once.';
        i.iconPath = new vscode.ThemeIcon('symbol-class');
        return [i];
      }
      if (!st.dir) {
        const i = new vscode.TreeItem(`${label}: not set`);
        i.command = { command: Command.selectModels, title: 'Select Models…' };
        i.iconPath = new vscode.ThemeIcon('circle-outline');
        return [i];
      }
      const s = st.summary;
      const i = new vscode.TreeItem(`${label}: ${st.dir.split(/[\\/]/).filter(Boolean).pop()}`);
      const parts = [st.description?.split(' (')[0] ?? '', st.architecture ?? '', s ? `${(s.parameters / 1e6).toFixed(2)}M params` : '', st.vocab ? `vocab ${st.vocab.toLocaleString('en-US')}` : '', s ? s.device.toUpperCase() : 'device: after the first scoring'];
      i.description = parts.filter(Boolean).join(' · ');
      i.tooltip = `${st.dir}\n${st.description ?? ''}\n${s ? s.deviceNote : ''}${st.problems.length ? `\n${st.problems.join('\n')}` : ''}${s?.warnings.length ? `\n${s.warnings.join('\n')}` : ''}`;
      i.iconPath = new vscode.ThemeIcon(st.checking ? 'loading~spin' : st.problems.length ? 'error' : 'symbol-class');
      const out = [i];
      for (const p of [...st.problems, ...(s?.warnings ?? [])]) {
        const e = new vscode.TreeItem(p);
        e.iconPath = new vscode.ThemeIcon('warning');
        out.push(e);
      }
      return out;
    };
    const s = this.settings();
    const conv = new vscode.TreeItem(`Convention: ${s.convention}`);
    conv.description = s.conventionReason;
    conv.tooltip =
      s.convention === 'trl'
        ? `TRL ≥ 0.29: prompt and prompt + response tokenized jointly, EOS text appended to non-conversational responses, max_length ${s.maxLength ?? 'none'} (${s.truncationMode}). Setting: preflens.convention.`
        : `TRL ≤ 0.28 tokenize_row: prompt ≤ ${s.maxPromptLength ?? 'all'} tokens (keeps its end), response ≤ ${s.maxCompletionLength ?? 'all'} (keeps its start), prompt + response ≤ ${s.maxLength ?? 'all'} (${s.truncationMode}). Setting: preflens.convention.`;
    conv.iconPath = new vscode.ThemeIcon('symbol-ruler');
    return [...item('policy'), ...item('reference'), conv];
  }

  getTreeItem(e: vscode.TreeItem): vscode.TreeItem {
    return e;
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
    this.changed.dispose();
  }
}
