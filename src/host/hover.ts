/** Hover on a record's line: format, roles and lengths, flags (and later, scores). */
import * as vscode from 'vscode';
import { Command } from './commands.js';
import type { DatasetManager } from './datasets.js';
import { CHECK_DESCRIPTIONS, flagsToChecks } from '../core/checks/table.js';
import { countWordTokens } from '../core/tokenize/words.js';
import { describeFormat } from '../core/formats/normalize.js';
import type { ScoreStore } from './scores.js';
import { FLAG_INFO } from '../core/metrics/pair.js';

const f4 = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(4));

export class HoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly datasets: DatasetManager,
    private readonly scores: ScoreStore,
  ) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const d = this.datasets.get(doc.uri);
    if (!d || d.state !== 'ready' || !d.result) return undefined;
    const r = d.result;
    const line = pos.line + 1;
    const err = r.errors.find((e) => e.line === line);
    if (err) {
      const md = new vscode.MarkdownString();
      md.appendMarkdown('**PrefLens** · malformed record\n\n');
      md.appendText(`line ${err.line}${err.column ? `, column ${err.column}` : ''}: ${err.message}`);
      return new vscode.Hover(md);
    }
    const first = d.indexAtLine(line);
    if (first < 0) return undefined;
    // The record must cover this line: JSONL records are one line; array elements span until the next one.
    const next = first + 1 < r.index.line.length ? r.index.line[first + 1] : Infinity;
    if (r.source === 'jsonl' && r.index.line[first] !== line) return undefined;
    if (line >= next && r.index.line[first] !== line) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: [Command.openInspector, Command.openHeatmap] };
    let shown = 0;
    for (let i = first; i < r.index.line.length && r.index.line[i] === r.index.line[first] && shown < 3; i++, shown++) {
      const { record, error } = d.readOne(i);
      if (!record) {
        md.appendText(`PrefLens: ${error ?? 'cannot read the record'}`);
        continue;
      }
      if (shown > 0) md.appendMarkdown('\n\n---\n\n');
      md.appendMarkdown(`**PrefLens** · record ${i + 1} of ${r.records.toLocaleString('en-US')} · \`${record.format}\` (${describeFormat(record.format)}) · ${record.kind}`);
      if (record.label !== undefined) md.appendMarkdown(` · label **${record.label ? 'desirable' : 'undesirable'}**`);
      md.appendMarkdown('\n\n| role | chars | tokens* |\n|---|---:|---:|\n');
      md.appendMarkdown(`| prompt | ${record.prompt.length} | ${countWordTokens(record.prompt)} |\n`);
      for (const c of record.candidates) {
        const extra = [c.rank !== undefined ? `rank ${c.rank}` : '', c.score !== undefined ? `score ${c.score}` : '', c.rewards ? Object.entries(c.rewards).map(([k, v]) => `${k} ${v}`).join(', ') : '']
          .filter(Boolean)
          .join(', ');
        md.appendMarkdown(`| ${c.role}${extra ? ` (${extra.replace(/[|\\`*_[\]<>]/g, '')})` : ''} | ${c.text.length} | ${countWordTokens(c.text)} |\n`);
      }
      const checks = flagsToChecks(r.index.flags[i]);
      if (checks.length) {
        md.appendMarkdown('\n**Flags**\n\n');
        for (const c of checks) {
          const rel = r.related[record.line];
          md.appendMarkdown(`- \`${c}\`: ${CHECK_DESCRIPTIONS[c]}${rel && (c === 'duplicate' || c === 'contradiction') ? ` (line ${rel})` : ''}\n`);
        }
      } else md.appendMarkdown('\nNo flags.\n');
      const skipped = this.scores.skipped(doc.uri, record.line, record.sub ?? 0);
      if (skipped) {
        md.appendMarkdown('\n**Scores**\n\n');
        md.appendText(`Not scored: ${skipped.skipped}.`);
        md.appendMarkdown('\n');
      }
      const sc = this.scores.get(doc.uri, record.line, record.sub ?? 0);
      if (sc) {
        md.appendMarkdown('\n**Scores**\n\n');
        if (sc.margin !== undefined && sc.chosen && sc.rejected) {
          md.appendMarkdown(`margin **${f4(sc.margin)}** · DPO loss ${f4(sc.dpo_loss)} · reward chosen ${f4(sc.chosen.reward)} / rejected ${f4(sc.rejected.reward)}\n\n`);
          md.appendMarkdown(`logp chosen ${sc.chosen.logp.toFixed(2)} (ref ${sc.chosen.ref_logp?.toFixed(2)}) · rejected ${sc.rejected.logp.toFixed(2)} (ref ${sc.rejected.ref_logp?.toFixed(2)})\n`);
        } else if (sc.chosen && sc.rejected) md.appendMarkdown(`mean logp chosen ${sc.chosen.mean_logp.toFixed(3)} · rejected ${sc.rejected.mean_logp.toFixed(3)} (reference-free)\n`);
        else for (const c of sc.candidates ?? []) md.appendMarkdown(`- ${c.role}${c.rank !== undefined ? ` rank ${c.rank}` : ''}: logp ${c.logp.toFixed(2)}, mean ${c.mean_logp.toFixed(3)}\n`);
        for (const f of sc.flags) md.appendMarkdown(`- \`${f}\`: ${FLAG_INFO[f]?.text ?? ''} (${FLAG_INFO[f]?.source ?? ''})\n`);
        if (sc.warning) {
          md.appendMarkdown('\n');
          md.appendText(`⚠ ${sc.warning}`);
          md.appendMarkdown('\n');
        }
        const hargs = encodeURIComponent(JSON.stringify([doc.uri.toString(), record.line, record.sub ?? 0]));
        md.appendMarkdown(`\n[Open token heatmap](command:${Command.openHeatmap}?${hargs})`);
      }
      md.appendMarkdown('\n\n*tokens: word-level count (configure `preflens.tokenizer` for model tokens in the checks)*');
    }
    const args = encodeURIComponent(JSON.stringify([doc.uri.toString(), null, first]));
    md.appendMarkdown(`\n\n[Open in PrefLens Inspector](command:${Command.openInspector}?${args})`);
    return new vscode.Hover(md, doc.lineAt(pos.line).range);
  }
}
