/**
 * Policy and reference models in the extension: settings (respecting workspace trust), the picker command that
 * validates folders, and the Models view (name, architecture, parameters, vocabulary, device, problems).
 */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig, ModelError, type ProviderChoice } from '../core/engine/model.js';
import { describeFolder, openModelFolder } from '../core/engine/folder.js';
import { type Convention, ModelTokenizer, TRL_DEFAULTS, type TruncationMode } from '../core/tokenize/encoder.js';
import { type ConventionChoice, resolveConvention } from '../core/tokenize/convention.js';
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

interface ModelState {
  dir: string | undefined;
  problems: string[];
  architecture?: string;
  vocab?: number;
  layers?: number;
  /** What was opened (engine/folder.ts describeFolder). */
  description?: string;
  adapter?: boolean;
  summary?: ModelSummary;
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
  private readonly tokenizers = new Map<string, ModelTokenizer>();

  constructor() {
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('preflens')) this.refresh();
    });
    this.refresh();
  }

  /** A model path setting; in an untrusted workspace only the user (global) value is used. */
  private pathSetting(key: string): string | undefined {
    return modelPathSetting(vscode.workspace.getConfiguration('preflens'), key);
  }

  settings(): ScoringSettings {
    const cfg = vscode.workspace.getConfiguration('preflens');
    return {
      policy: this.pathSetting('policyModel'),
      reference: this.pathSetting('referenceModel'),
      beta: cfg.get<number>('beta', 0.1),
      ...settingsConvention(cfg),
      maxPromptLength: cfg.get<number | null>('maxPromptLength', 512),
      maxCompletionLength: cfg.get<number | null>('maxCompletionLength', null),
      maxLength: cfg.get<number | null>('maxLength', TRL_DEFAULTS.maxLength),
      truncationMode: cfg.get<TruncationMode>('truncationMode', TRL_DEFAULTS.truncationMode),
      provider: cfg.get<ProviderChoice>('executionProvider', 'auto'),
    };
  }

  tokenizer(dir: string): ModelTokenizer {
    let t = this.tokenizers.get(dir);
    if (!t) {
      t = ModelTokenizer.load(dir);
      this.tokenizers.set(dir, t);
    }
    return t;
  }

  /** Problems with a model folder, found without loading the network. */
  static validate(dir: string): { problems: string[]; architecture?: string; vocab?: number; layers?: number; description?: string; adapter?: boolean } {
    const problems: string[] = [];
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return { problems: [`${dir}: no such folder`] };
    let architecture: string | undefined;
    let vocab: number | undefined;
    let layers: number | undefined;
    let description: string | undefined;
    let adapter = false;
    try {
      // What the folder is (ONNX export, safetensors checkpoint, LoRA adapter and where its base was found): headers only.
      const folder = openModelFolder(dir);
      description = describeFolder(folder);
      adapter = folder.kind === 'adapter';
      if (folder.kind === 'onnx' && !existsSync(join(dir, 'config.json'))) problems.push(`${dir}: no config.json`);
      const c = readConfig(folder.netDir);
      architecture = c.architecture;
      layers = c.layers;
      vocab = c.vocabSize;
      const t = ModelTokenizer.load(folder.tokenizerDir);
      if (c.vocabSize && t.vocabSize > c.vocabSize) problems.push(`${folder.tokenizerDir}: tokenizer.json has ${t.vocabSize} tokens, config.json vocab_size is ${c.vocabSize}`);
    } catch (e) {
      problems.push(e instanceof ModelError || e instanceof Error ? e.message : String(e));
    }
    return { problems, architecture, vocab, layers, description, adapter };
  }

  refresh(): void {
    const s = this.settings();
    const mk = (dir: string | undefined, prev: ModelState): ModelState => {
      if (!dir) return { dir, problems: [] };
      const v = Models.validate(dir);
      return { dir, ...v, summary: prev.dir === dir ? prev.summary : undefined };
    };
    this.state = { policy: mk(s.policy, this.state.policy), reference: mk(s.reference, this.state.reference) };
    if (s.policy && s.reference && !this.state.policy.problems.length && !this.state.reference.problems.length) {
      try {
        if (this.tokenizer(s.policy).hash !== this.tokenizer(s.reference).hash) this.state.reference.problems.push('policy and reference use different tokenizers');
      } catch (e) {
        this.state.reference.problems.push(e instanceof Error ? e.message : String(e));
      }
    }
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
    const pv = Models.validate(policy);
    if (pv.problems.length) {
      void vscode.window.showErrorMessage(`PrefLens: ${pv.problems.join('; ')}`);
      return;
    }
    const choice = await vscode.window.showQuickPick(['Choose a reference model folder…', 'No reference (reference-free: logps only)'], { title: 'PrefLens: reference model' });
    let reference: string | undefined;
    if (choice === 'Choose a reference model folder…') {
      reference = await pick('PrefLens: reference model folder');
      if (!reference) return;
      const rv = Models.validate(reference);
      if (rv.problems.length) {
        void vscode.window.showErrorMessage(`PrefLens: ${rv.problems.join('; ')}`);
        return;
      }
      if (this.tokenizer(policy).hash !== this.tokenizer(reference).hash) {
        void vscode.window.showErrorMessage('PrefLens: policy and reference use different tokenizers; their log-probabilities cannot be compared.');
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
      i.tooltip = `${st.dir}\n${st.description ?? ''}\n${s ? s.deviceNote : ''}${st.problems.length ? `\n${st.problems.join('\n')}` : ''}`;
      i.iconPath = new vscode.ThemeIcon(st.problems.length ? 'error' : 'symbol-class');
      const out = [i];
      for (const p of st.problems) {
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
        : `TRL ≤ 0.28 tokenize_row: prompt ≤ ${s.maxPromptLength ?? 'all'} tokens (keeps its end), response ≤ ${s.maxCompletionLength ?? 'all'} (keeps its start). Setting: preflens.convention.`;
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
