/**
 * Which preference file a command is about (docs/ARCHITECTURE.md, "Commands"): the URI a menu or a link passes, else
 * the active tab or text editor when it shows a preference file, else the one the user worked on last (a webview
 * panel such as the heatmap has no URI of its own).
 */
import * as vscode from 'vscode';
import { isCandidateFile } from './datasets.js';

export class ActiveFile implements vscode.Disposable {
  private last: vscode.Uri | undefined;
  private readonly subs: vscode.Disposable[];

  constructor() {
    this.track();
    this.subs = [vscode.window.onDidChangeActiveTextEditor(() => this.track()), vscode.window.tabGroups.onDidChangeTabs(() => this.track())];
  }

  private current(): vscode.Uri | undefined {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if ((tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom) && isCandidateFile(tab.uri)) return tab.uri;
    const ed = vscode.window.activeTextEditor?.document.uri;
    return ed && isCandidateFile(ed) ? ed : undefined;
  }

  private track(): void {
    this.last = this.current() ?? this.last;
  }

  /** The file a command argument names (a Uri or a URI string), else the active or last preference file. */
  resolve(arg?: unknown): vscode.Uri | undefined {
    if (arg instanceof vscode.Uri) return arg;
    if (typeof arg === 'string') {
      try {
        return vscode.Uri.parse(arg, true);
      } catch {
        return undefined;
      }
    }
    return this.current() ?? this.last;
  }

  /** Like resolve, but only a preference file (.jsonl, .json, .ndjson on disk). */
  resolvePreferenceFile(arg?: unknown): vscode.Uri | undefined {
    const uri = this.resolve(arg);
    return uri && isCandidateFile(uri) ? uri : undefined;
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
  }
}
