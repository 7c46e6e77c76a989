/**
 * The `preflens` command (docs/ARCHITECTURE.md, "CLI"). Shares the engine in src/core with the extension.
 * Exit codes: 0 ok, 1 bad input (one message on stderr), 2 usage.
 */
import { parseArgs } from 'node:util';
import { scanFile, type ScanSummary } from '../core/scan/index.js';
import { CHECK_DESCRIPTIONS, CHECK_NAMES } from '../core/checks/table.js';
import { FORMAT_NAMES, isFormatName } from '../core/types.js';
import { describeFormat } from '../core/formats/normalize.js';
import { createWriteStream, existsSync, realpathSync, renameSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProviderChoice } from '../core/engine/model.js';
import { CancelledError, InputError } from '../core/errors.js';
import { isParquetFile } from '../core/parquet/parquet.js';
import { type LineRange, parseLineRange, recordsOnLines } from '../core/records.js';
import type { RecordError } from '../core/types.js';
import { type ConventionChoice, resolveConvention } from '../core/tokenize/convention.js';
import { type Convention, type LengthLimits, TRL_DEFAULTS, type TruncationMode } from '../core/tokenize/encoder.js';
import { isSkipped } from '../core/contract.js';

// The model engine (onnxruntime's native library) and the run parser load only for the commands that use them:
// `preflens stats` on a big file starts its scan workers without paying for them.
const engine = {
  model: () => import('../core/engine/model.js'),
  score: () => import('../core/engine/score.js'),
  spinal: () => import('../core/spinal/spinal.js'),
  runs: () => import('../core/runs/runs.js'),
  rollouts: () => import('../core/rollouts/rollouts.js'),
};

const USAGE = `usage: preflens <command> [options]

commands:
  stats FILE [--format NAME] [--tokenizer DIR] [--json]
        format, record count, dataset checks (lists of 1-based lines), length statistics, errors
        --convention trl|trl-legacy  truncation check as that trainer truncates (auto: the tokenizer folder's
                                   model card, else trl-legacy when the two lengths below are given, else trl)
        --max-prompt-length N      trl-legacy: prompt tokens (default 512, TRL <= 0.28's default)
        --max-completion-length N  trl-legacy: response tokens (default: unset)
        --max-length N             prompt + response tokens, with the special tokens added (default 1024)
        --reward-weights a=1,b=0.5 GRPO groups: weights of the reward functions in the zero-variance check (TRL's
                                   reward_weights, by name; default 1)
        --workers N                worker threads (default: all cores)

  score FILE --policy DIR [--ref DIR] [--beta 0.1] [--lines A-B] [--convention trl|trl-legacy]
        [--max-length N] [--truncation-mode keep_start|keep_end] [--max-prompt-length N]
        [--max-completion-length N] [--label-smoothing 0] [--simpo-gamma 0.5] [--shard I/N|auto] [--out FILE.jsonl]
        per-token log-probabilities, implicit rewards, margins, losses (DPO, IPO, ORPO, hinge, robust
        with --label-smoothing, SimPO) and flags, one JSON object per record
        (--ref omitted: reference-free numbers only); a record the trainer would drop is one line
        {"line", "skipped"}. Convention: the model card's TRL version, else trl-legacy when
        --max-prompt-length/--max-completion-length are given, else trl (TRL >= 0.29; max length 1024).
        More: --format NAME, --device auto|cuda|cpu, --threads N, --cache-dir DIR, --no-cache.
        Summary (records, tokens, seconds, tokens/s, device) on stderr.

  spinal FILE --model DIR [--lines A-B] [--convention trl|trl-legacy] [--max-length N]
        [--max-prompt-length N] [--max-completion-length N] [--json]
        SPINAL layer trace (PrefLens' operationalisation): contraction and transport per layer
        over the response tokens of the selected records, tokenized as in score.
        --hidden-states a,b,… names the tensors.
  run DIR [DIR …] [--json]
        a training run: metric series, eval series, checkpoints and run checks; several: {"runs": [...]}
  export FILE --out NEW.jsonl --drop CHECK,… [--format NAME]
        the records of FILE (JSON Lines, JSON or Parquet) that none of the named checks flagged, as JSON Lines
        in a new file (JSON Lines lines are copied byte for byte; Parquet rows become JSON objects)
  rollouts DIR [--json] [--reward-weights a=1,b=0.5]
        GRPO rollouts of a run (TRL completions/completions_NNNNN.parquet, verl <step>.jsonl): groups per
        prompt and step with each reward, the total, the advantage and the lengths; zero-variance groups,
        reward against length, disagreeing reward functions (weights: the run's args, else 1)

formats: ${FORMAT_NAMES.join(', ')}
exit codes: 0 ok, 1 bad input, 2 usage`;

class UsageError extends Error {}

function intOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a positive integer, got "${v}"`);
  return Number(v);
}

function summaryJson(r: ScanSummary): Record<string, unknown> {
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
    for (const e of r.errors.slice(0, 20)) out.push(`  ${unit} ${e.line}${e.column ? `:${e.column}` : ''}  ${e.message}`);
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
      convention: { type: 'string' },
      workers: { type: 'string' },
      'reward-weights': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('stats takes exactly one FILE');
  const rewardWeights = values['reward-weights'] === undefined ? undefined : rewardWeightsOption(values['reward-weights']);
  const choice = conventionChoice(values.convention);
  if (values.format !== undefined && !isFormatName(values.format))
    throw new UsageError(`unknown format "${values.format}" (one of: ${FORMAT_NAMES.join(', ')})`);
  const mpl = intOpt(values['max-prompt-length'], 'max-prompt-length');
  const mcl = intOpt(values['max-completion-length'], 'max-completion-length');
  const ml = intOpt(values['max-length'], 'max-length');
  const r = await scanFile(positionals[0], {
    index: false,
    inline: true,
    format: values.format as (typeof FORMAT_NAMES)[number] | undefined,
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

/** `--reward-weights name=w,name=w` (GRPO's reward_weights, by reward name; unnamed rewards weigh 1). */
export function rewardWeightsOption(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/.exec(part);
    if (!m) throw new UsageError(`--reward-weights expects name=weight,… (e.g. accuracy=1,format=0.5), got "${part}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

function range(v: string | undefined, name: string): LineRange | undefined {
  if (v === undefined) return undefined;
  const r = parseLineRange(v);
  if (!r) throw new UsageError(`--${name} expects A-B (1-based, inclusive, A ≥ 1, B ≥ A), got "${v}"`);
  return r;
}

/** `--convention` (stats, score, spinal): auto, trl or trl-legacy. */
function conventionChoice(v: string | undefined): ConventionChoice {
  const choice = v ?? 'auto';
  if (choice !== 'auto' && choice !== 'trl' && choice !== 'trl-legacy') throw new UsageError(`--convention is trl, trl-legacy or auto, got "${choice}"`);
  return choice;
}

/** The tokenization flags of score and spinal (--convention, the lengths, --truncation-mode), resolved for a model. */
function tokenization(
  values: { convention?: string; 'max-prompt-length'?: string; 'max-completion-length'?: string; 'max-length'?: string; 'truncation-mode'?: string },
  modelDir: string,
): { limits: LengthLimits & { convention: Convention; maxLength: number; truncationMode: TruncationMode }; reason: string } {
  const choice = conventionChoice(values.convention);
  const truncationMode = values['truncation-mode'] ?? 'keep_start';
  if (truncationMode !== 'keep_start' && truncationMode !== 'keep_end') throw new UsageError(`--truncation-mode is keep_start or keep_end, got "${truncationMode}"`);
  const maxPromptLength = intOpt(values['max-prompt-length'], 'max-prompt-length') ?? null;
  const maxCompletionLength = intOpt(values['max-completion-length'], 'max-completion-length') ?? null;
  const maxLength = intOpt(values['max-length'], 'max-length') ?? TRL_DEFAULTS.maxLength;
  const { convention, reason } = resolveConvention(choice, modelDir, maxPromptLength !== null || maxCompletionLength !== null);
  return { limits: { convention, maxPromptLength, maxCompletionLength, maxLength, truncationMode }, reason };
}

/** A selected line that holds no record is not scored: say so on stderr (the one rule of records.ts). */
function skipped(file: string): (e: RecordError) => void {
  const unit = isParquetFile(file) ? 'row' : 'line';
  return (e) => process.stderr.write(`preflens: ${file}: ${unit} ${e.line}: ${e.message} (skipped)\n`);
}

/**
 * `--shard I/N`, or `auto`: Slurm job arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, with SLURM_ARRAY_TASK_MIN
 * when the array does not start at 0) or Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX with PREFLENS_SHARDS).
 */
export function shardOption(v: string, env: NodeJS.ProcessEnv = process.env): [number, number, string] {
  if (v === 'auto') {
    const int = (x: string | undefined): number | null => (x !== undefined && /^\d+$/.test(x) ? Number(x) : null);
    const sid = int(env.SLURM_ARRAY_TASK_ID);
    const scount = int(env.SLURM_ARRAY_TASK_COUNT);
    if (sid !== null && scount !== null) {
      const min = int(env.SLURM_ARRAY_TASK_MIN) ?? 0;
      const i = sid - min;
      if (i < 0 || i >= scount) throw new UsageError(`--shard auto: SLURM_ARRAY_TASK_ID ${sid} is outside the array (min ${min}, count ${scount}); use a contiguous array such as --array=0-${scount - 1}`);
      return [i, scount, `Slurm array task ${sid} of ${scount}`];
    }
    const k = int(env.JOB_COMPLETION_INDEX);
    const kn = int(env.PREFLENS_SHARDS);
    if (k !== null) {
      if (kn === null || kn < 1) throw new UsageError('--shard auto: JOB_COMPLETION_INDEX is set but PREFLENS_SHARDS (the Job\'s completions) is not');
      if (k >= kn) throw new UsageError(`--shard auto: JOB_COMPLETION_INDEX ${k} ≥ PREFLENS_SHARDS ${kn}`);
      return [k, kn, `Kubernetes Indexed Job completion ${k} of ${kn}`];
    }
    throw new UsageError('--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array) or JOB_COMPLETION_INDEX and PREFLENS_SHARDS (a Kubernetes Indexed Job)');
  }
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard expects I/N with 0 ≤ I < N, or auto, got "${v}"`);
  return [Number(m[1]), Number(m[2]), 'given'];
}

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
    },
  });
  if (positionals.length !== 1) throw new UsageError('score takes exactly one FILE');
  if (!values.policy) throw new UsageError('score needs --policy DIR');
  if (values.format !== undefined && !isFormatName(values.format)) throw new UsageError(`unknown format "${values.format}"`);
  const beta = values.beta === undefined ? 0.1 : Number(values.beta);
  if (!Number.isFinite(beta) || beta <= 0) throw new UsageError(`--beta expects a positive number, got "${values.beta}"`);
  const shard = values.shard === undefined ? undefined : shardOption(values.shard);
  const device = (values.device ?? 'auto') as ProviderChoice;
  if (!['auto', 'cuda', 'cpu'].includes(device)) throw new UsageError(`--device is auto, cuda or cpu`);
  const file = positionals[0];
  if (!existsSync(file)) throw new InputError(`${file}: no such file`);
  if (values.out !== undefined && existsSync(values.out) && realpathSync(values.out) === realpathSync(file))
    throw new InputError(`--out ${values.out} is the input file: PrefLens never writes to a dataset`);
  const threads = intOpt(values.threads, 'threads');
  const labelSmoothing = values['label-smoothing'] === undefined ? 0 : Number(values['label-smoothing']);
  if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) throw new UsageError(`--label-smoothing expects 0 ≤ ε < 0.5, got "${values['label-smoothing']}"`);
  const simpoGamma = values['simpo-gamma'] === undefined ? undefined : Number(values['simpo-gamma']);
  if (simpoGamma !== undefined && !Number.isFinite(simpoGamma)) throw new UsageError(`--simpo-gamma expects a number, got "${values['simpo-gamma']}"`);
  const {
    limits: { convention, maxPromptLength, maxCompletionLength, maxLength, truncationMode },
    reason,
  } = tokenization(values, values.policy);
  const { ScoringModel } = await engine.model();
  const { scoreFile } = await engine.score();
  const policy = await ScoringModel.load(values.policy, { provider: device, threads, cacheDir: values['cache-dir'] });
  // An adapter given as policy with no --ref is scored against its base (what TRL does with a PEFT model and no ref_model).
  const ref = values.ref ? await ScoringModel.load(values.ref, { provider: device, threads, cacheDir: values['cache-dir'] }) : policy.baseOf();
  process.stderr.write(`preflens: policy ${policy.dir}: ${policy.description}, on ${policy.deviceNote}\n`);
  if (ref && !values.ref) process.stderr.write(`preflens: no --ref: the reference is the adapter's base ${ref.dir}, sharing the policy's session and one copy of the base weights\n`);
  else if (ref) process.stderr.write(`preflens: reference ${ref.dir}: ${ref.description}, on ${ref.deviceNote}\n`);
  else process.stderr.write('preflens: no --ref: reference-free mode (logps, mean logps, mean-logp margin only)\n');
  if (shard) process.stderr.write(`preflens: shard ${shard[0]}/${shard[1]}${values.shard === 'auto' ? ` (${shard[2]})` : ''}: the records at positions ≡ ${shard[0]} (mod ${shard[1]}) of the selection\n`);
  process.stderr.write(
    `preflens: convention ${convention} (${reason}): ${
      convention === 'trl'
        ? `joint tokenization, max_length ${maxLength}, truncation_mode ${truncationMode}`
        : `prompt ≤ ${maxPromptLength ?? 'all'} tokens (keeps its end), completion ≤ ${maxCompletionLength ?? 'all'} (keeps its start)`
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
      format: values.format as (typeof FORMAT_NAMES)[number] | undefined,
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
    renameSync(tmp, values.out);
  }
  const s = (performance.now() - t0) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stderr.write(
    `preflens: ${records} records${skippedCount ? ` (${skippedCount} not scored: their lines say why)` : ''}, ${tokens} tokens computed (cached sequences not counted), ${s.toFixed(2)} s, ${(tokens / Math.max(s, 1e-9)).toFixed(0)} tokens/s, device ${policy.device}\n`,
  );
  return 0;
}

async function spinal(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      lines: { type: 'string' },
      'max-prompt-length': { type: 'string' },
      'max-completion-length': { type: 'string' },
      convention: { type: 'string' },
      'max-length': { type: 'string' },
      'truncation-mode': { type: 'string' },
      json: { type: 'boolean' },
      'hidden-states': { type: 'string' },
      device: { type: 'string' },
      'cache-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('spinal takes exactly one FILE');
  if (!values.model) throw new UsageError('spinal needs --model DIR');
  const file = positionals[0];
  const recs = recordsOnLines(file, range(values.lines, 'lines'), { onSkipped: skipped(file) });
  const { spinalTrace } = await engine.spinal();
  const lim = tokenization(values, values.model);
  process.stderr.write(`preflens: convention ${lim.limits.convention} (${lim.reason})\n`);
  const t = await spinalTrace(values.model, recs, {
    ...lim.limits,
    hiddenStates: values['hidden-states']?.split(',').map((x) => x.trim()).filter(Boolean),
    provider: (values.device ?? 'cpu') as ProviderChoice,
    cacheDir: values['cache-dir'],
  });
  if (values.json) process.stdout.write(JSON.stringify(t) + '\n');
  else {
    process.stdout.write(`SPINAL trace (PrefLens' operationalisation) of ${t.model}: ${t.records} records, ${t.tokens} response tokens\n`);
    process.stdout.write('layer  contraction α  transport 𝓛\n');
    for (const l of t.layers) process.stdout.write(`${String(l.layer).padStart(5)}  ${l.contraction.toFixed(4).padStart(13)}  ${l.transport === null ? '—' : l.transport.toFixed(4).padStart(11)}\n`);
  }
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length < 1) throw new UsageError('run takes one DIR, or several to compare');
  const { parseRun } = await engine.runs();
  const runs = positionals.map((d) => parseRun(d));
  const json = (r: (typeof runs)[number]): Record<string, unknown> => ({ dir: r.dir, format: r.format, trainer: r.trainer, steps: r.steps, series: r.series, eval: r.eval, epochs: r.epochs, checkpoints: r.checkpoints, checks: r.checks, referenceModel: r.referenceModel, eventFiles: r.eventFiles, settings: r.settings, problems: r.problems });
  // NaN/Infinity are not JSON: they are written as null in the series (the non-finite check lists their steps).
  const write = (j: unknown): boolean => process.stdout.write(JSON.stringify(j, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n');
  // Several runs (a sweep to compare): {"runs": [one run object each, as for one DIR]}.
  if (values.json) write(runs.length === 1 ? json(runs[0]) : { runs: runs.map(json) });
  else for (const r of runs) {
    process.stdout.write(`${r.dir}: ${r.format}, ${r.trainer} trainer, ${r.steps} steps, ${Object.keys(r.series).length} train series, ${Object.keys(r.eval).length} eval series, ${r.checkpoints.length} checkpoints\n`);
    for (const f of r.eventFiles) process.stdout.write(`  events ${f}\n`);
    for (const p of r.problems) process.stdout.write(`warning ${p.file}: byte ${p.offset}: ${p.message}\n`);
    for (const c of r.checkpoints) process.stdout.write(`  checkpoint ${c.step}: ${c.path}${c.hasOnnx ? ' (onnx)' : ''}${c.hasSafetensors ? ' (safetensors)' : ''}${c.hasAdapter ? ' (adapter)' : ''}\n`);
    if (!r.checks.length) process.stdout.write('checks: none fired\n');
    for (const c of r.checks) process.stdout.write(`${c.severity.padEnd(7)} ${c.id}: ${c.message} [${c.source}] steps ${c.steps.slice(0, 8).join(', ')}${c.steps.length > 8 ? ', …' : ''}\n`);
  }
  return 0;
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, drop: { type: 'string' }, format: { type: 'string' }, workers: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('export takes exactly one FILE');
  if (!values.out) throw new UsageError('export needs --out NEW.jsonl');
  const drop = (values.drop ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of drop) if (!(CHECK_NAMES as readonly string[]).includes(c)) throw new UsageError(`--drop: unknown check "${c}" (one of: ${CHECK_NAMES.join(', ')})`);
  if (values.format !== undefined && !isFormatName(values.format)) throw new UsageError(`unknown format "${values.format}"`);
  const file = positionals[0];
  const { exportRecords, sameFile } = await import('../core/export.js');
  if (sameFile(file, values.out)) throw new InputError(`--out ${values.out} is the input file: PrefLens never writes to a dataset`);
  const r = await scanFile(file, { inline: true, format: values.format as (typeof FORMAT_NAMES)[number] | undefined, workers: intOpt(values.workers, 'workers') });
  const dropLines = new Set<number>();
  for (const c of drop) for (const l of r.checks[c as (typeof CHECK_NAMES)[number]]) dropLines.add(l);
  const written = await exportRecords(file, r.index, r.source, dropLines, values.out);
  const unit = r.source === 'parquet' ? 'rows' : 'lines';
  process.stderr.write(`preflens: wrote ${written} records to ${values.out} (${dropLines.size} ${unit} left out: ${drop.join(', ') || 'none'}; ${r.errorCount} unreadable ${unit} not exported)\n`);
  return 0;
}

async function rollouts(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, 'reward-weights': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('rollouts takes one DIR');
  const { readRollouts, rolloutContext, rolloutsJson } = await engine.rollouts();
  const weights = values['reward-weights'] === undefined ? undefined : rewardWeightsOption(values['reward-weights']);
  const r = await readRollouts(positionals[0], rolloutContext(positionals[0], weights));
  for (const p of r.problems) process.stderr.write(`warning ${p.file}: ${p.where}: ${p.message}\n`);
  if (values.json) {
    process.stdout.write(JSON.stringify(rolloutsJson(r)) + '\n');
    return 0;
  }
  const groups = r.steps.reduce((a, s) => a + s.groups.length, 0);
  process.stdout.write(`${r.dir}: ${r.source} rollouts, ${r.steps.length} steps, ${groups} groups, reward functions ${r.rewardNames.join(', ')}\n`);
  for (const s of r.steps) {
    const z = s.groups.filter((g) => g.zeroVariance).length;
    const totals = s.groups.flatMap((g) => g.total).filter((t): t is number => t !== null);
    const mean = totals.length ? totals.reduce((a, b) => a + b, 0) / totals.length : NaN;
    process.stdout.write(`  step ${s.step}: ${s.groups.length} groups of ${s.groups.map((g) => g.size).join('/')}, mean total reward ${mean.toFixed(3)}, ${z} with zero variance\n`);
  }
  if (!r.checks.length) process.stdout.write('checks: none fired\n');
  for (const c of r.checks) process.stdout.write(`${c.severity.padEnd(7)} ${c.id}: ${c.message} steps ${c.steps.slice(0, 8).join(', ')}${c.steps.length > 8 ? ', …' : ''}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'stats':
        return await stats(rest);
      case 'score':
        return await score(rest);
      case 'spinal':
        return await spinal(rest);
      case 'run':
        return await run(rest);
      case 'rollouts':
        return await rollouts(rest);
      case 'export':
        return await exportCmd(rest);
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
    if (e instanceof InputError) {
      process.stderr.write(`preflens: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CancelledError) {
      process.stderr.write('preflens: cancelled\n');
      return 130;
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
