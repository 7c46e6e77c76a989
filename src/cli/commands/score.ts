/** `preflens score`: per-token log-probabilities, rewards, margins, losses and flags of records, one JSON line each. */
import { parseArgs } from 'node:util';
import { createWriteStream, existsSync, renameSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProviderChoice } from '../../core/engine/model.js';
import { InputError } from '../../core/errors.js';
import { isFailed, isSkipped } from '../../core/contract.js';
import { DEFAULT_BETA } from '../../core/metrics/pair.js';
import type { CliCommand } from '../command.js';
import { formatOption, intOpt, outputFile, range, shardOption, skipped, tokenization, UsageError } from '../options.js';

async function score(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      policy: { type: 'string' },
      ref: { type: 'string' },
      beta: { type: 'string' },
      lines: { type: 'string' },
      'max-prompt-length': { type: 'string' },
      'max-completion-length': { type: 'string' },
      convention: { type: 'string' },
      'label-smoothing': { type: 'string' },
      'simpo-gamma': { type: 'string' },
      'max-length': { type: 'string' },
      'truncation-mode': { type: 'string' },
      shard: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      device: { type: 'string' },
      threads: { type: 'string' },
      'cache-dir': { type: 'string' },
      'no-cache': { type: 'boolean' },
      // accepted so that scripts written against the other commands work: the output is JSON Lines already
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('score takes exactly one FILE');
  if (!values.policy) throw new UsageError('score needs --policy DIR');
  const format = formatOption(values.format);
  const beta = values.beta === undefined ? DEFAULT_BETA : Number(values.beta);
  if (!Number.isFinite(beta) || beta <= 0) throw new UsageError(`--beta expects a positive number, got "${values.beta}"`);
  const shard = values.shard === undefined ? undefined : shardOption(values.shard);
  const device = (values.device ?? 'auto') as ProviderChoice;
  if (!['auto', 'cuda', 'cpu'].includes(device)) throw new UsageError(`--device is auto, cuda or cpu`);
  const file = positionals[0];
  if (!existsSync(file)) throw new InputError(`${file}: no such file`);
  if (values.out !== undefined) outputFile(values.out, file);
  const threads = intOpt(values.threads, 'threads');
  const labelSmoothing = values['label-smoothing'] === undefined ? 0 : Number(values['label-smoothing']);
  if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) throw new UsageError(`--label-smoothing expects 0 ≤ ε < 0.5, got "${values['label-smoothing']}"`);
  const simpoGamma = values['simpo-gamma'] === undefined ? undefined : Number(values['simpo-gamma']);
  if (simpoGamma !== undefined && !Number.isFinite(simpoGamma)) throw new UsageError(`--simpo-gamma expects a number, got "${values['simpo-gamma']}"`);
  const {
    limits: { convention, maxPromptLength, maxCompletionLength, maxLength, truncationMode },
    reason,
  } = tokenization(values, values.policy);
  const { ScoringModel } = await import('../../core/engine/model.js');
  const { scoreFile } = await import('../../core/engine/score.js');
  const policy = await ScoringModel.load(values.policy, { provider: device, threads, cacheDir: values['cache-dir'] });
  // An adapter given as policy with no --ref is scored against its base (what TRL does with a PEFT model and no ref_model).
  const ref = values.ref ? await ScoringModel.load(values.ref, { provider: device, threads, cacheDir: values['cache-dir'] }) : policy.baseOf();
  process.stderr.write(`preflens: policy ${policy.dir}: ${policy.description}, on ${policy.deviceNote}\n`);
  if (ref && !values.ref) process.stderr.write(`preflens: no --ref: the reference is the adapter's base ${ref.dir}, sharing the policy's session and one copy of the base weights\n`);
  else if (ref) process.stderr.write(`preflens: reference ${ref.dir}: ${ref.description}, on ${ref.deviceNote}\n`);
  else process.stderr.write('preflens: no --ref: reference-free mode (logps, mean logps, mean-logp margin only)\n');
  for (const m of [policy, ...(values.ref && ref ? [ref] : [])]) for (const w of m.warnings) process.stderr.write(`preflens: warning: ${w}\n`);
  if (shard) process.stderr.write(`preflens: shard ${shard[0]}/${shard[1]}${values.shard === 'auto' ? ` (${shard[2]})` : ''}: the records at positions ≡ ${shard[0]} (mod ${shard[1]}) of the selection\n`);
  process.stderr.write(
    `preflens: convention ${convention} (${reason}): ${
      convention === 'trl'
        ? `joint tokenization, max_length ${maxLength}, truncation_mode ${truncationMode}`
        : `prompt ≤ ${maxPromptLength ?? 'all'} tokens (keeps its end), completion ≤ ${maxCompletionLength ?? 'all'} (keeps its start), max_length ${maxLength} (${truncationMode})`
    }\n`,
  );
  const tmp = values.out ? `${resolve(values.out)}.${process.pid}.tmp` : null;
  const sink = tmp ? createWriteStream(tmp) : process.stdout;
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  const t0 = performance.now();
  let records = 0;
  let skippedCount = 0;
  let failedCount = 0;
  let tokens = 0;
  let lastShown = 0;
  try {
    for await (const r of scoreFile(file, policy, ref, {
      beta,
      labelSmoothing,
      simpoGamma,
      convention,
      maxPromptLength,
      maxCompletionLength,
      maxLength,
      truncationMode,
      lines: range(values.lines, 'lines'),
      shard: shard ? [shard[0], shard[1]] : undefined,
      format: format,
      cacheDir: values['cache-dir'],
      noCache: values['no-cache'],
      signal: ac.signal,
      onSkipped: skipped(file),
      onProgress: (p) => {
        tokens = p.tokens;
        const now = performance.now();
        if (process.stderr.isTTY && now - lastShown > 1000) {
          lastShown = now;
          const rate = p.records / Math.max(p.seconds, 1e-9);
          process.stderr.write(`\rscored ${p.records}/${p.total} records · ${(p.tokens / Math.max(p.seconds, 1e-9)).toFixed(0)} tok/s · ETA ${((p.total - p.records) / Math.max(rate, 1e-9)).toFixed(0)} s   `);
        }
      },
    })) {
      records++;
      if (isSkipped(r)) skippedCount++;
      if (isFailed(r)) {
        failedCount++;
        process.stderr.write(`preflens: ${file}: line ${r.line}: ${r.error}\n`);
      }
      if (!sink.write(JSON.stringify(r) + '\n')) await new Promise<void>((res) => sink.once('drain', () => res()));
    }
  } catch (e) {
    if (tmp) {
      sink.end();
      try {
        unlinkSync(tmp);
      } catch {
        /* nothing written */
      }
    }
    throw e;
  } finally {
    process.off('SIGINT', onSig);
  }
  if (tmp && values.out) {
    await new Promise<void>((res) => (sink as NodeJS.WritableStream).end(res));
    try {
      renameSync(tmp, values.out);
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    }
  }
  const s = (performance.now() - t0) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stderr.write(
    `preflens: ${records} records${skippedCount ? ` (${skippedCount} not scored: their lines say why)` : ''}${failedCount ? ` (${failedCount} failed: their lines say why)` : ''}, ${tokens} tokens computed (cached sequences not counted), ${s.toFixed(2)} s, ${(tokens / Math.max(s, 1e-9)).toFixed(0)} tokens/s, device ${policy.device}\n`,
  );
  // a record whose numbers are not finite failed: the output holds the rest, and the exit code says so
  return failedCount ? 1 : 0;
}

export const scoreCommand: CliCommand = { name: 'score', usage: `score FILE --policy DIR [--ref DIR] [--beta 0.1] [--lines A-B] [--convention trl|trl-legacy]
      [--max-length N] [--truncation-mode keep_start|keep_end] [--max-prompt-length N]
      [--max-completion-length N] [--label-smoothing 0] [--simpo-gamma 0.5] [--shard I/N|auto] [--out FILE.jsonl]
      per-token log-probabilities, implicit rewards, margins, losses (DPO, IPO, ORPO, hinge, robust
      with --label-smoothing, SimPO) and flags, one JSON object per record
      (--ref omitted: reference-free numbers only); a record the trainer would drop is one line
      {"line", "skipped"}. Convention: the model card's TRL version, else trl-legacy when
      --max-prompt-length/--max-completion-length are given, else trl (TRL >= 0.29; max length 1024).
      More: --format NAME, --device auto|cuda|cpu, --threads N, --cache-dir DIR, --no-cache.
      Summary (records, tokens, seconds, tokens/s, device) on stderr.`, run: score };
