/** `preflens export`: the records none of the named checks flagged, as JSON Lines in a new file. */
import { parseArgs } from 'node:util';
import { scanFile } from '../../core/scan/index.js';
import { CHECK_NAMES } from '../../core/checks/table.js';
import { InputError } from '../../core/errors.js';
import type { CliCommand } from '../command.js';
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { formatOption, intOpt, outputFile, UsageError } from '../options.js';

async function exportCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, drop: { type: 'string' }, format: { type: 'string' }, workers: { type: 'string' }, order: { type: 'string' }, desc: { type: 'boolean' }, stages: { type: 'string' }, scores: { type: 'string' } },
  });
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
  const unit = r.source === 'parquet' ? 'rows' : 'lines';
  if (values.order !== undefined) {
    // a curriculum: the rows in the order of a margin, in one file or K stages
    if (values.order !== 'ref-margin' && values.order !== 'margin') throw new UsageError(`--order is ref-margin or margin, got "${values.order}"`);
    const stages = intOpt(values.stages, 'stages') ?? 1;
    if (stages < 1) throw new UsageError('--stages expects K ≥ 1');
    let margins: Map<number, number> | undefined;
    if (values.order === 'margin') {
      if (!values.scores) throw new UsageError('--order margin needs --scores SCORES.jsonl (the output of preflens score on FILE, policy and reference)');
      margins = await readMargins(values.scores);
    }
    const { exportOrdered } = await import('../../core/export.js');
    const got = await exportOrdered(file, r.index, r.source, dropLines, values.out, { key: values.order, margins, desc: values.desc === true, stages });
    if (!got) return 130;
    for (const e of r.errors) if (e.rows === 0) process.stderr.write(`preflens: warning: ${e.message}\n`);
    process.stderr.write(
      `preflens: wrote ${got.written} records ordered by ${values.order} (${stages > 1 ? `${stages} stages, largest margin first` : values.desc ? 'largest first' : 'smallest first'}; ${got.withoutMargin} without one, last) to ${got.files.join(', ')} (${dropLines.size} ${unit} left out: ${drop.join(', ') || 'none'}; ${r.errorCount} unreadable ${unit} not exported)\n`,
    );
    return 0;
  }
  const written = await exportRecords(file, r.index, r.source, dropLines, values.out);
  // columns read around: every row was exported without them
  for (const e of r.errors) if (e.rows === 0) process.stderr.write(`preflens: warning: ${e.message}\n`);
  process.stderr.write(`preflens: wrote ${written} records to ${values.out} (${dropLines.size} ${unit} left out: ${drop.join(', ') || 'none'}; ${r.errorCount} unreadable ${unit} not exported)\n`);
  return 0;
}

/** The DPO margin of each scored line of a `preflens score` output, read line by line (outputs can be gigabytes). */
async function readMargins(path: string): Promise<Map<number, number>> {
  if (!existsSync(path)) throw new InputError(`${path}: no such file (--scores)`);
  const out = new Map<number, number>();
  let i = 0;
  for await (const l of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    i++;
    if (!l.trim()) continue;
    let v: { line?: unknown; margin?: unknown };
    try {
      v = JSON.parse(l) as { line?: unknown; margin?: unknown };
    } catch {
      throw new InputError(`${path}: line ${i} is not JSON: --scores takes the output of preflens score`);
    }
    // a line with several pairs (a ranked list, a group): its smallest margin, as the inspector's export takes it
    if (typeof v.line === 'number' && typeof v.margin === 'number') out.set(v.line, Math.min(v.margin, out.get(v.line) ?? Infinity));
  }
  if (!out.size) throw new InputError(`${path}: no scored line has a margin (score with --policy and --ref)`);
  return out;
}

export const exportCommand: CliCommand = {
  name: 'export',
  usage: `export FILE --out NEW.jsonl [--drop CHECK,…] [--format NAME]
      the records of FILE (JSON Lines, JSON or Parquet) that none of the named checks flagged, as JSON Lines
      in a new file (JSON Lines lines are copied byte for byte; Parquet rows become JSON objects)
  export FILE --out NEW.jsonl --order ref-margin|margin [--desc] [--stages K] [--scores SCORES.jsonl] [--drop …]
      a curriculum: the rows ordered by their ref_margin (an output of preflens refs) or by the DPO margin
      of a preflens score output (--scores; written as a "preflens_margin" field), smallest first (--desc: largest
      first); --stages K: K files of equal size, NEW.stage-1-of-K.jsonl …, the largest margins (easiest) first`,
  run: exportCmd,
};
