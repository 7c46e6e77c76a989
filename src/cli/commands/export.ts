/** `preflens export`: the records none of the named checks flagged, as JSON Lines in a new file. */
import { parseArgs } from 'node:util';
import { scanFile } from '../../core/scan/index.js';
import { CHECK_NAMES } from '../../core/checks/table.js';
import { InputError } from '../../core/errors.js';
import type { CliCommand } from '../command.js';
import { formatOption, intOpt, outputFile, UsageError } from '../options.js';

async function exportCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, drop: { type: 'string' }, format: { type: 'string' }, workers: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('export takes exactly one FILE');
  if (!values.out) throw new UsageError('export needs --out NEW.jsonl');
  const drop = (values.drop ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of drop) if (!(CHECK_NAMES as readonly string[]).includes(c)) throw new UsageError(`--drop: unknown check "${c}" (one of: ${CHECK_NAMES.join(', ')})`);
  const format = formatOption(values.format);
  const file = positionals[0];
  const { exportRecords, sameFile } = await import('../../core/export.js');
  if (sameFile(file, values.out)) throw new InputError(`--out ${values.out} is the input file: PrefLens never writes to a dataset`);
  outputFile(values.out, file);
  const r = await scanFile(file, { inline: true, format: format, workers: intOpt(values.workers, 'workers') });
  const dropLines = new Set<number>();
  for (const c of drop) for (const l of r.checks[c as (typeof CHECK_NAMES)[number]]) dropLines.add(l);
  const written = await exportRecords(file, r.index, r.source, dropLines, values.out);
  const unit = r.source === 'parquet' ? 'rows' : 'lines';
  // columns read around: every row was exported without them
  for (const e of r.errors) if (e.rows === 0) process.stderr.write(`preflens: warning: ${e.message}\n`);
  process.stderr.write(`preflens: wrote ${written} records to ${values.out} (${dropLines.size} ${unit} left out: ${drop.join(', ') || 'none'}; ${r.errorCount} unreadable ${unit} not exported)\n`);
  return 0;
}

export const exportCommand: CliCommand = { name: 'export', usage: `export FILE --out NEW.jsonl --drop CHECK,… [--format NAME]
      the records of FILE (JSON Lines, JSON or Parquet) that none of the named checks flagged, as JSON Lines
      in a new file (JSON Lines lines are copied byte for byte; Parquet rows become JSON objects)`, run: exportCmd };
