/**
 * PrefLens: Open Dataset from Hugging Face Cache…: the preference-shaped data files of the local hub cache
 * (core/hubDatasets.ts), picked from a list and opened in the inspector. Nothing is downloaded.
 */
import * as vscode from 'vscode';
import { hubDatasets } from '../core/hubDatasets.js';
import { describeFormat } from '../core/formats/normalize.js';
import type { InspectorProvider } from './inspector.js';

export async function openHubDataset(inspector: InspectorProvider): Promise<void> {
  const found = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PrefLens: looking for preference datasets in the Hugging Face cache' }, () => hubDatasets());
  if (!found.length) {
    void vscode.window.showInformationMessage('PrefLens: no preference-shaped dataset in the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub): download one with `huggingface-cli download ORG/NAME --repo-type dataset`, or open a file.');
    return;
  }
  const pick = await vscode.window.showQuickPick(
    found.map((d) => ({
      label: d.id,
      description: `${d.name} · ${d.revision.slice(0, 8)}`,
      detail: `${describeFormat(d.format)} · ${d.rows !== null ? `${d.rows.toLocaleString('en-US')} rows` : `${(d.bytes / 1e6).toFixed(1)} MB`} · ${d.cache}`,
      d,
    })),
    { title: 'PrefLens: preference datasets in the Hugging Face cache', matchOnDescription: true, matchOnDetail: true },
  );
  if (pick) await inspector.open(vscode.Uri.file(pick.d.file));
}
