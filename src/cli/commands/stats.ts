/** `preflens stats`: format, record count, dataset checks, length statistics and errors of a file. */
import { parseArgs } from 'node:util';
import { scanFile, type ScanSummary } from '../../core/scan/index.js';
import { CHECK_DESCRIPTIONS, CHECK_NAMES } from '../../core/checks/table.js';
import { describeFormat } from '../../core/formats/normalize.js';
import { resolveConvention } from '../../core/tokenize/convention.js';
import type { CliCommand } from '../command.js';
import { conventionChoice, formatOption, intOpt, rewardWeightsOption, UsageError } from '../options.js';

export function summaryJson(r: ScanSummary): Record<string, unknown> {
  const out: Record<string, unknown> = {
    file: r.file,
    format: r.format,
    formatSource: r.formatSource,
    records: r.records,
    errors: r.errors.map((e) => ({ line: e.line, ...(e.column !== undefined ? { column: e.column } : {}), ...(e.field ? { field: e.field } : {}), ...(e.rows !== undefined ? { rows: e.rows } : {}), message: e.message })),
    errorCount: r.errorCount,
    checks: r.checks,
    lengths: r.lengths,
  };
  if (Object.keys(r.formats).length > 1) out.formats = r.formats;
  if (r.labels) out.labels = r.labels;
  out.related = r.related;
  return out;
}

function fmtList(lines: number[], max = 12): string {
  if (lines.length === 0) return '—';
  const shown = lines.slice(0, max).join(', ');
  return lines.length > max ? `${shown}, … (${lines.length - max} more)` : shown;
}

function human(r: ScanSummary): string {
  const out: string[] = [];
  out.push(`${r.file}`);
  out.push(
    `  format   ${r.format ?? 'unknown'}${r.format ? ` (${describeFormat(r.format)})` : ''}, ${r.formatSource}${Object.keys(r.formats).length > 1 ? `; mixed: ${JSON.stringify(r.formats)}` : ''}`,
  );
  out.push(`  records  ${r.records.toLocaleString('en-US')}   errors ${r.errorCount}   (${r.bytes.toLocaleString('en-US')} bytes, ${r.seconds.toFixed(2)} s)`);
  if (r.labels) out.push(`  labels   ${r.labels.desirable} desirable / ${r.labels.undesirable} undesirable`);
  // Parquet records are numbered by row, JSON by line (both 1-based)
  const unit = r.source === 'parquet' ? 'row' : 'line';
  out.push(`checks (1-based ${unit}s)`);
  for (const c of CHECK_NAMES) {
    const l = r.checks[c];
    out.push(`  ${c.padEnd(18)} ${String(l.length).padStart(6)}  ${fmtList(l)}${l.length ? `\n  ${''.padEnd(25)}${CHECK_DESCRIPTIONS[c]}` : ''}`);
  }
  out.push(`lengths (tokens: ${r.lengths.tokenizer})`);
  for (const role of ['prompt', 'chosen', 'rejected', 'completion', 'candidate'] as const) {
    const s = r.lengths[role];
    if (s.tokens.count === 0) continue;
    out.push(
      `  ${role.padEnd(10)} n=${s.tokens.count}  tokens mean ${s.tokens.mean} p50 ${s.tokens.p50} p95 ${s.tokens.p95} max ${s.tokens.max}   chars mean ${s.chars.mean} max ${s.chars.max}`,
    );
  }
  if (r.lengths.chosenLongerShare !== null)
    out.push(`  chosen longer than rejected in ${(r.lengths.chosenLongerShare * 100).toFixed(1)}% of pairs (tokens), ${((r.lengths.chosenLongerShareChars ?? 0) * 100).toFixed(1)}% (chars)`);
  if (r.errors.length) {
    out.push('errors');
    for (const e of r.errors.slice(0, 20)) out.push(`  ${e.rows !== undefined && e.rows > 1 ? `${unit}s ${e.line}–${e.line + e.rows - 1}` : e.rows === 0 ? 'file' : `${unit} ${e.line}`}${e.column ? `:${e.column}` : ''}  ${e.message}`);
    const shown = r.errors.slice(0, 20).reduce((n, e) => n + (e.rows ?? 1), 0);
    if (r.errorCount > shown) out.push(`  … ${r.errorCount - shown} more (use --json for the list)`);
  }
  return out.join('\n');
}

async function stats(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      tokenizer: { type: 'string' },
      json: { type: 'boolean' },
      'max-prompt-length': { type: 'string' },
      'max-completion-length': { type: 'string' },
      'max-length': { type: 'string' },
      convention: { type: 'string' },
      workers: { type: 'string' },
      'reward-weights': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('stats takes exactly one FILE');
  const rewardWeights = values['reward-weights'] === undefined ? undefined : rewardWeightsOption(values['reward-weights']);
  const choice = conventionChoice(values.convention);
  const format = formatOption(values.format);
  const mpl = intOpt(values['max-prompt-length'], 'max-prompt-length');
  const mcl = intOpt(values['max-completion-length'], 'max-completion-length');
  const ml = intOpt(values['max-length'], 'max-length');
  const r = await scanFile(positionals[0], {
    index: false,
    inline: true,
    format: format,
    tokenizerDir: values.tokenizer,
    workers: intOpt(values.workers, 'workers'),
    checks: {
      // The truncation check follows the scoring convention: the --tokenizer folder's model card, else trl-legacy
      // when prompt/completion lengths are given, else trl.
      convention: resolveConvention(choice, values.tokenizer ?? '', mpl !== undefined || mcl !== undefined).convention,
      ...(mpl !== undefined ? { maxPromptLength: mpl } : {}),
      ...(mcl !== undefined ? { maxCompletionLength: mcl } : {}),
      ...(ml !== undefined ? { maxLength: ml } : {}),
      ...(rewardWeights ? { rewardWeights } : {}),
    },
  });
  process.stdout.write((values.json ? JSON.stringify(summaryJson(r)) : human(r)) + '\n');
  return 0;
}

export const statsCommand: CliCommand = { name: 'stats', usage: `stats FILE [--format NAME] [--tokenizer DIR] [--json]
      format, record count, dataset checks (lists of 1-based lines), length statistics, errors
      --convention trl|trl-legacy  truncation check as that trainer truncates (auto: the tokenizer folder's
                                 model card, else trl-legacy when the two lengths below are given, else trl)
      --max-prompt-length N      trl-legacy: prompt tokens (default 512, TRL <= 0.28's default)
      --max-completion-length N  trl-legacy: response tokens (default: unset)
      --max-length N             prompt + response tokens, with the special tokens added (default 1024)
      --reward-weights a=1,b=0.5 GRPO groups: weights of the reward functions in the zero-variance check (TRL's
                                 reward_weights, by name; default 1)
      --workers N                worker threads (default: all cores)`, run: stats };
