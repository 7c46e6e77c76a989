/** Options shared by the CLI's commands (docs/ARCHITECTURE.md, "CLI"): parsing, conventions, shards, messages. */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { dict } from '../core/dict.js';
import { InputError } from '../core/errors.js';
import { isParquetFile } from '../core/parquet/parquet.js';
import { type LineRange, parseLineRange } from '../core/records.js';
import type { RecordError } from '../core/types.js';
import { FORMAT_NAMES, type FormatName, isFormatName } from '../core/types.js';
import { type ConventionChoice, resolveConvention } from '../core/tokenize/convention.js';
import { type Convention, type LengthLimits, TRL_DEFAULTS, TRL_LEGACY_DEFAULTS, type TruncationMode } from '../core/tokenize/convention.js';

/** A command line PrefLens cannot take: exit 2 with the message and the usage. */
export class UsageError extends Error {}

/** `--name N`: a positive integer, or undefined when not given. */
export function intOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a positive integer, got "${v}"`);
  return Number(v);
}

/** `--reward-weights name=w,name=w` (GRPO's reward_weights, by reward name; unnamed rewards weigh 1). */
export function rewardWeightsOption(v: string): Record<string, number> {
  const out = dict<number>();
  for (const part of v.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/.exec(part);
    if (!m) throw new UsageError(`--reward-weights expects name=weight,… (e.g. accuracy=1,format=0.5), got "${part}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function range(v: string | undefined, name: string): LineRange | undefined {
  if (v === undefined) return undefined;
  const r = parseLineRange(v);
  if (!r) throw new UsageError(`--${name} expects A-B (1-based, inclusive, A ≥ 1, B ≥ A), got "${v}"`);
  return r;
}

/** `--convention` (stats, score, spinal): auto, trl or trl-legacy. */
export function conventionChoice(v: string | undefined): ConventionChoice {
  const choice = v ?? 'auto';
  if (choice !== 'auto' && choice !== 'trl' && choice !== 'trl-legacy') throw new UsageError(`--convention is trl, trl-legacy or auto, got "${choice}"`);
  return choice;
}

/** The tokenization flags of score and spinal (--convention, the lengths, --truncation-mode), resolved for a model. */
export function tokenization(
  values: { convention?: string; 'max-prompt-length'?: string; 'max-completion-length'?: string; 'max-length'?: string; 'truncation-mode'?: string },
  modelDir: string,
): { limits: LengthLimits & { convention: Convention; maxLength: number; truncationMode: TruncationMode }; reason: string } {
  const choice = conventionChoice(values.convention);
  const given = values['truncation-mode'];
  if (given !== undefined && given !== 'keep_start' && given !== 'keep_end') throw new UsageError(`--truncation-mode is keep_start or keep_end, got "${given}"`);
  const promptGiven = intOpt(values['max-prompt-length'], 'max-prompt-length') ?? null;
  const maxCompletionLength = intOpt(values['max-completion-length'], 'max-completion-length') ?? null;
  const { convention, reason } = resolveConvention(choice, modelDir, promptGiven !== null || maxCompletionLength !== null);
  // each convention's trainer defaults: TRL ≥ 0.29 keeps the start of max_length 1024; TRL 0.28 keeps the last 512
  // prompt tokens and the end of max_length 1024
  const legacy = convention === 'trl-legacy';
  const maxLength = intOpt(values['max-length'], 'max-length') ?? (legacy ? TRL_LEGACY_DEFAULTS.maxLength : TRL_DEFAULTS.maxLength);
  const truncationMode: TruncationMode = given ?? (legacy ? TRL_LEGACY_DEFAULTS.truncationMode : TRL_DEFAULTS.truncationMode);
  const maxPromptLength = promptGiven ?? (legacy ? TRL_LEGACY_DEFAULTS.maxPromptLength : null);
  return { limits: { convention, maxPromptLength, maxCompletionLength, maxLength, truncationMode }, reason };
}

/** A selected line that holds no record is not scored: say so on stderr (the one rule of records.ts). */
export function skipped(file: string): (e: RecordError) => void {
  const unit = isParquetFile(file) ? 'row' : 'line';
  return (e) => process.stderr.write(`preflens: ${file}: ${e.rows !== undefined && e.rows > 1 ? `${unit}s ${e.line}–${e.line + e.rows - 1}` : `${unit} ${e.line}`}: ${e.message} (skipped)\n`);
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

/** `--format NAME`, checked. */
export function formatOption(v: string | undefined): FormatName | undefined {
  if (v !== undefined && !isFormatName(v)) throw new UsageError(`unknown format "${v}" (one of: ${FORMAT_NAMES.join(', ')})`);
  return v as FormatName | undefined;
}

/**
 * An `--out` path checked before any work: never the input file, never a folder (the temporary file written beside
 * it would be left there), in a folder that exists.
 */
export function outputFile(out: string, input: string): string {
  const st = statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new InputError(`--out ${out} is a folder: give the name of a new file`);
  if (st && existsSync(input) && realpathSync(out) === realpathSync(input)) throw new InputError(`--out ${out} is the input file: PrefLens never writes to a dataset`);
  const parent = dirname(resolve(out));
  if (!statSync(parent, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`--out ${out}: the folder ${parent} does not exist`);
  return out;
}
