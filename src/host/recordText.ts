/** Locating records and fields in the editor's text, for precise diagnostic ranges and reveals. */
import * as vscode from 'vscode';
import type { PreferenceRecord } from '../core/types.js';
import { type CheckName, CHECK_INFO } from '../core/checks/table.js';

/**
 * Reveals a line in the file's text editor and puts the cursor there, opening the file when no editor shows it (in
 * `column`, default the first group). Returns the editor.
 */
export async function revealLine(uri: vscode.Uri, line: number, opts: { preserveFocus?: boolean; column?: vscode.ViewColumn } = {}): Promise<vscode.TextEditor> {
  const pos = new vscode.Position(line - 1, 0);
  const sel = new vscode.Selection(pos, pos);
  let ed = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  if (!ed) ed = await vscode.window.showTextDocument(uri, { viewColumn: opts.column ?? vscode.ViewColumn.One, preserveFocus: opts.preserveFocus ?? true, preview: true, selection: sel });
  ed.selection = sel;
  ed.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return ed;
}

/** The top-level key of a field path such as `chosen[0].content` or `prompt.replies[2]`. */
export function topKey(field: string): string {
  const m = /^[^.[]+/.exec(field);
  return m ? m[0] : field;
}

/** Range of `"key":` inside a record's raw text that starts at (line, col0) of the document. */
export function keyRange(raw: string, key: string, line: number, col0: number): vscode.Range {
  const re = new RegExp(`"${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:`);
  const m = re.exec(raw);
  const start = m ? m.index : 0;
  const end = m ? m.index + key.length + 2 : Math.min(raw.length, raw.indexOf('\n') === -1 ? raw.length : raw.indexOf('\n'));
  return rangeIn(raw, start, end, line, col0);
}

/** Converts offsets in a record's raw text to a document range. */
export function rangeIn(raw: string, start: number, end: number, line: number, col0: number): vscode.Range {
  const pos = (off: number): vscode.Position => {
    let l = line - 1;
    let last = -1;
    for (let i = raw.indexOf('\n'); i !== -1 && i < off; i = raw.indexOf('\n', i + 1)) {
      l++;
      last = i;
    }
    return new vscode.Position(l, last === -1 ? col0 + off : off - last - 1);
  };
  return new vscode.Range(pos(start), pos(Math.max(start, end)));
}

/** Column where a record's raw text starts in its first line (JSON arrays are indented). */
export function startColumn(doc: vscode.TextDocument | undefined, raw: string, line: number): number {
  if (!doc || line - 1 >= doc.lineCount) return 0;
  const text = doc.lineAt(line - 1).text;
  const first = raw.split('\n', 1)[0].replace(/\r$/, '');
  const i = text.indexOf(first.slice(0, 200));
  return i < 0 ? 0 : i;
}

/** The field that best shows a check (checks/table.ts `field`): the second candidate for pair problems, the empty one for empties. */
export function fieldForCheck(rec: PreferenceRecord | null, check: CheckName): string {
  if (!rec) return '';
  switch (CHECK_INFO[check].field) {
    case 'empty':
      return topKey(rec.candidates.find((c) => c.text.trim() === '')?.field ?? '');
    case 'second':
      return topKey(rec.candidates[1]?.field ?? rec.candidates[0]?.field ?? '');
    case 'first':
      return topKey(rec.candidates[0]?.field ?? '');
    case 'prompt':
      return 'prompt';
  }
}
