/** `preflens refs`: the reference model's log-probabilities of every row, in TRL's columns, to a new file (or parts). */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import type { ProviderChoice } from '../../core/engine/model.js';
import { InputError } from '../../core/errors.js';
import type { CliCommand } from '../command.js';
import { formatOption, intOpt, shardOption, tokenization, UsageError } from '../options.js';

async function refs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ref: { type: 'string' },
      out: { type: 'string' },
      check: { type: 'string' },
      shard: { type: 'string' },
      'max-prompt-length': { type: 'string' },
      'max-completion-length': { type: 'string' },
      'max-length': { type: 'string' },
      'truncation-mode': { type: 'string' },
      convention: { type: 'string' },
      format: { type: 'string' },
      device: { type: 'string' },
      threads: { type: 'string' },
      'cache-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('refs takes exactly one DATA file');
  const data = positionals[0];
  const { checkRefs, writeRefs } = await import('../../core/refs.js');
  if (values.check !== undefined) {
    const r = await checkRefs(data, values.check);
    for (const p of r.problems) process.stderr.write(`preflens: ${p}\n`);
    process.stdout.write(`${values.check}: ${r.ok ? 'complete' : 'NOT complete'}: ${r.parts} part${r.parts === 1 ? '' : 's'}, ${r.rows} rows${r.ok ? ', in the order of ' + data : ''}\n`);
    return r.ok ? 0 : 1;
  }
  if (!values.ref) throw new UsageError('refs needs --ref MODEL (the reference: a model folder, adapter or hub id)');
  if (!values.out) throw new UsageError('refs needs --out OUT (a new .jsonl or .parquet file; with --shard, a folder for the parts)');
  if (!existsSync(data)) throw new InputError(`${data}: no such file`);
  const shard = values.shard === undefined ? undefined : shardOption(values.shard);
  const device = (values.device ?? 'auto') as ProviderChoice;
  if (!['auto', 'cuda', 'cpu'].includes(device)) throw new UsageError('--device is auto, cuda or cpu');
  const out = values.out;
  if (shard) {
    if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`--out ${out} is a file: with --shard, OUT is the folder of the parts`);
    mkdirSync(out, { recursive: true });
  } else if (existsSync(out) && statSync(out).isDirectory()) throw new InputError(`--out ${out} is a folder: give the name of a new file (or --shard I/N to write parts into it)`);
  const {
    limits: { convention, maxPromptLength, maxCompletionLength, maxLength, truncationMode },
    reason,
  } = tokenization(values, values.ref);
  const { ScoringModel } = await import('../../core/engine/model.js');
  const ref = await ScoringModel.load(values.ref, { provider: device, threads: intOpt(values.threads, 'threads'), cacheDir: values['cache-dir'] });
  process.stderr.write(`preflens: reference ${ref.dir}: ${ref.description}, on ${ref.deviceNote}\n`);
  for (const w of ref.warnings) process.stderr.write(`preflens: warning: ${w}\n`);
  process.stderr.write(
    `preflens: convention ${convention} (${reason}): ${
      convention === 'trl' ? `joint tokenization, max_length ${maxLength}, truncation_mode ${truncationMode}` : `prompt ≤ ${maxPromptLength ?? 'all'} tokens (keeps its end), completion ≤ ${maxCompletionLength ?? 'all'} (keeps its start), max_length ${maxLength} (${truncationMode})`
    }\n`,
  );
  if (shard) process.stderr.write(`preflens: shard ${shard[0]}/${shard[1]}${values.shard === 'auto' ? ` (${shard[2]})` : ''}: a contiguous stretch of rows\n`);
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  let lastShown = 0;
  try {
    const r = await writeRefs(data, ref, out, {
      convention,
      maxPromptLength,
      maxCompletionLength,
      maxLength,
      truncationMode,
      format: formatOption(values.format),
      part: shard ? [shard[0], shard[1]] : undefined,
      signal: ac.signal,
      onKept: (p) => process.stderr.write(`preflens: ${p} is finished already (same data, model and settings): kept\n`),
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastShown < 1000 && p.rows < p.total) return;
        lastShown = now;
        const rate = p.rows / Math.max(p.seconds, 1e-9);
        const eta = p.total > p.rows ? ` · ${((p.total - p.rows) / Math.max(rate, 1e-9)).toFixed(0)} s left` : '';
        const msg = `refs ${p.rows}/${p.total} rows · ${(p.tokens / Math.max(p.seconds, 1e-9)).toFixed(0)} tok/s${eta}`;
        process.stderr.write(process.stderr.isTTY ? `\r${msg}   ` : `preflens: ${msg}\n`);
      },
    });
    if (process.stderr.isTTY && !r.kept) process.stderr.write('\n');
    if (!r.kept)
      process.stderr.write(`preflens: wrote ${r.rows} rows to ${r.path} (${r.scored} with reference log-probabilities, ${r.skipped} with a preflens_skipped reason), ${r.tokens} tokens, ${r.seconds.toFixed(2)} s, ${(r.tokens / Math.max(r.seconds, 1e-9)).toFixed(0)} tokens/s, device ${ref.device}\n`);
  } finally {
    process.off('SIGINT', onSig);
    await ref.release();
  }
  return 0;
}

export const refsCommand: CliCommand = {
  name: 'refs',
  usage: `refs DATA --ref MODEL --out OUT.jsonl|OUT.parquet [--shard I/N|auto] [--convention trl|trl-legacy]
      [--max-length N] [--truncation-mode keep_start|keep_end] [--max-prompt-length N]
      [--max-completion-length N] [--format NAME] [--device auto|cuda|cpu]
      every row of DATA with its columns, plus ref_chosen_logps and ref_rejected_logps (the reference's
      log-probability sums, as TRL's precompute_ref_log_probs computes them), ref_margin and
      preflens_skipped (why a row has none); JSON Lines or Parquet by OUT's extension. --shard writes
      contiguous rows as OUT/part-0000I-of-0000N.<ext> (a finished part is kept when run again)
  refs DATA --check OUT
      verifies a finished output (a file, or a folder of parts) against DATA: every part, in order`,
  run: refs,
};
