/**
 * The `preflens` command (DESIGN section 8). Shares the engine in src/core with the extension.
 * Exit codes: 0 ok, 1 bad input (one message on stderr), 2 usage.
 */
import { parseArgs } from 'node:util';
import { InputError, scanFile, type ScanResult } from '../core/scan.js';
import { CHECK_DESCRIPTIONS, CHECK_NAMES, FORMAT_NAMES, isFormatName } from '../core/types.js';
import { TokenizerLoadError } from '../core/tokenize/hf.js';
import { describeFormat } from '../core/formats/normalize.js';

const USAGE = `usage: preflens <command> [options]

commands:
  stats FILE [--format NAME] [--tokenizer DIR] [--json]
        format, record count, dataset checks (lists of 1-based lines), length statistics, errors
        --max-prompt-length N      truncation check: prompt tokens (default 512, TRL's default)
        --max-completion-length N  truncation check: response tokens (default: unset)
        --max-length N             truncation check: prompt + response tokens (default 1024)
        --workers N                worker threads (default: all cores)

formats: ${FORMAT_NAMES.join(', ')}
exit codes: 0 ok, 1 bad input, 2 usage`;

class UsageError extends Error {}

function intOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a positive integer, got "${v}"`);
  return Number(v);
}

function summaryJson(r: ScanResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    file: r.file,
    format: r.format,
    formatSource: r.formatSource,
    records: r.records,
    errors: r.errors.map((e) => ({ line: e.line, ...(e.column !== undefined ? { column: e.column } : {}), ...(e.field ? { field: e.field } : {}), message: e.message })),
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

function human(r: ScanResult): string {
  const out: string[] = [];
  out.push(`${r.file}`);
  out.push(
    `  format   ${r.format ?? 'unknown'}${r.format ? ` (${describeFormat(r.format)})` : ''}, ${r.formatSource}${Object.keys(r.formats).length > 1 ? `; mixed: ${JSON.stringify(r.formats)}` : ''}`,
  );
  out.push(`  records  ${r.records.toLocaleString('en-US')}   errors ${r.errorCount}   (${r.bytes.toLocaleString('en-US')} bytes, ${r.seconds.toFixed(2)} s)`);
  if (r.labels) out.push(`  labels   ${r.labels.desirable} desirable / ${r.labels.undesirable} undesirable`);
  out.push('checks (1-based lines)');
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
    for (const e of r.errors.slice(0, 20)) out.push(`  line ${e.line}${e.column ? `:${e.column}` : ''}  ${e.message}`);
    if (r.errorCount > 20) out.push(`  … ${r.errorCount - 20} more (use --json for the list)`);
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
      workers: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('stats takes exactly one FILE');
  if (values.format !== undefined && !isFormatName(values.format))
    throw new UsageError(`unknown format "${values.format}" (one of: ${FORMAT_NAMES.join(', ')})`);
  const mpl = intOpt(values['max-prompt-length'], 'max-prompt-length');
  const mcl = intOpt(values['max-completion-length'], 'max-completion-length');
  const ml = intOpt(values['max-length'], 'max-length');
  const r = await scanFile(positionals[0], {
    format: values.format as (typeof FORMAT_NAMES)[number] | undefined,
    tokenizerDir: values.tokenizer,
    workers: intOpt(values.workers, 'workers'),
    checks: {
      ...(mpl !== undefined ? { maxPromptLength: mpl } : {}),
      ...(mcl !== undefined ? { maxCompletionLength: mcl } : {}),
      ...(ml !== undefined ? { maxLength: ml } : {}),
    },
  });
  process.stdout.write((values.json ? JSON.stringify(summaryJson(r)) : human(r)) + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'stats':
        return await stats(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`preflens: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof InputError || e instanceof TokenizerLoadError) {
      process.stderr.write(`preflens: ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && ['EACCES', 'ENOENT', 'EISDIR', 'EIO', 'EPERM'].includes(err.code)) {
      process.stderr.write(`preflens: ${err.path ?? ''}: cannot read (${err.code})\n`);
      return 1;
    }
    process.stderr.write(`preflens: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
