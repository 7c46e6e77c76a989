/**
 * The contract types (docs/ARCHITECTURE.md, "Contract types"): what the engine produces and every surface reads —
 * `preflens score` lines, SPINAL traces, run summaries and comparisons, the dashboard's columns, diff spans. Types
 * only, with no import that runs, so that webviews and the protocol can import them without pulling in the engine
 * (onnxruntime, node:fs).
 */
import type { CheckName } from './checks/table.js';
import type { Candidate, FormatName, Message, PreferenceRecord } from './types.js';

export type { Candidate, CheckName, FormatName, Message, PreferenceRecord };

/** One response token of a scored record (docs/ARCHITECTURE.md, "Metric conventions"). */
export interface TokenOut {
  id: number;
  text: string;
  start: number;
  end: number;
  logp: number;
  ref_logp?: number;
  reward?: number;
  entropy: number;
  rank: number;
  topk_mass: number;
  topk_entropy: number;
}

export interface ResponseOut {
  /** The prompt's token ids this response follows, where they differ from the record's (`prompt.ids`). */
  prompt_ids?: number[];
  tokens: TokenOut[];
  logp: number;
  mean_logp: number;
  ref_logp?: number;
  reward?: number;
  truncated?: boolean;
  /** Score-cache key of the scored sequence (viewers only): where the token alternatives are read from. */
  seq_key?: string;
}

export interface CandidateOut extends ResponseOut {
  role: string;
  rank?: number;
  score?: number;
  label?: boolean;
}

/** The prompt of a scored record: its token ids as the model saw them (after truncation, special tokens included). */
export interface PromptOut {
  ids: number[];
  /** The prompt as text, before tokenization (viewers only). */
  text?: string;
}

/** A scored record: one line of `preflens score` output. */
export interface ScoredRecord {
  line: number;
  format: FormatName;
  prompt?: PromptOut;
  chosen?: ResponseOut;
  rejected?: ResponseOut;
  candidates?: CandidateOut[];
  margin?: number;
  dpo_loss?: number;
  implicit_accuracy?: boolean;
  ipo_loss?: number;
  orpo_log_odds_ratio?: number;
  /** TRL loss_type "hinge": max(0, 1 − margin). */
  hinge_loss?: number;
  /** TRL loss_type "robust", with label smoothing ε > 0. */
  robust_loss?: number;
  /** Reference-free (SimPO-style) margin: mean logp of chosen − mean logp of rejected. */
  mean_logp_margin?: number;
  /** SimPO: −log σ(β · mean_logp_margin − γ) (TRL CPOTrainer, loss_type simpo). */
  simpo_loss?: number;
  flags: string[];
  /** sub-record of a line (OpenAssistant trees) */
  sub?: number;
  /** What TRL warns about when it tokenizes this record (the prompt's ids not a prefix of prompt + response's). */
  warning?: string;
  /** sha256 of the record's raw text (viewers only): lets a viewer discard numbers of records that changed */
  raw_sha256?: string;
  /** The tokenization convention it was scored under (viewers only): `trl` or `trl-legacy`. */
  convention?: string;
}

/** One of the policy's most likely tokens at a position (the heatmap's hover card). */
export interface Alternative {
  id: number;
  text: string;
  prob: number;
}

/** What a token heatmap colours tokens by. */
export type HeatMetric = 'reward' | 'logratio' | 'logp' | 'ref_logp' | 'entropy' | 'topk_mass';

/** A selected record the trainer would drop (`trl`: its prompt alone fills max_length): reported, not scored. */
export interface SkippedRecord {
  line: number;
  sub?: number;
  skipped: string;
}

/**
 * A selected record PrefLens could not score: the model's output for one of its tokens is not finite (NaN or ±Inf
 * weights, an overflow). The message names the model, the response and the token; the rest of the file is scored,
 * and the CLI exits 1.
 */
export interface FailedRecord {
  line: number;
  sub?: number;
  error: string;
}

/** One line of `preflens score` output. */
export type ScoreLine = ScoredRecord | SkippedRecord | FailedRecord;

export function isSkipped(r: ScoreLine): r is SkippedRecord {
  return (r as SkippedRecord).skipped !== undefined;
}

export function isFailed(r: ScoreLine): r is FailedRecord {
  return (r as FailedRecord).error !== undefined;
}

export function isScored(r: ScoreLine): r is ScoredRecord {
  return !isSkipped(r) && !isFailed(r);
}

/** A scored flag's one-line explanation and where it comes from. */
export interface FlagInfo {
  text: string;
  source: string;
}

export interface SpinalLayer {
  layer: number;
  contraction: number;
  transport: number | null;
}

export interface SpinalTrace {
  model: string;
  records: number;
  tokens: number;
  layers: SpinalLayer[];
}

export interface Checkpoint {
  step: number;
  path: string;
  hasOnnx: boolean;
  /** model.safetensors or sharded model-*-of-*.safetensors + index */
  hasSafetensors: boolean;
  /** a PEFT adapter (adapter_config.json): scored as base + adapter */
  hasAdapter: boolean;
}

export interface RunCheck {
  id: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  steps: number[];
  source: string;
}

export interface Trajectory {
  line: number;
  margins: Array<number | null>;
  chosenLogp: Array<number | null>;
  rejectedLogp: Array<number | null>;
  /** the margin changed sign between two consecutive steps */
  flipped: boolean;
}

export interface Comparison {
  steps: number[];
  models: string[];
  reference: string;
  records: Trajectory[];
  flipped: number[];
}

export interface Histogram {
  lo: number;
  width: number;
  counts: number[];
}

/** Compact per-record columns sent to the dashboard webview. */
export interface DashboardColumns {
  line: number[];
  sub: number[];
  margin: number[];
  chosenReward: number[];
  rejectedReward: number[];
  /** policy − reference logp of chosen / rejected (the "logp shifts") */
  chosenShift: number[];
  rejectedShift: number[];
  /** token count of chosen − token count of rejected */
  lengthDiff: number[];
  loss: number[];
  flags: string[][];
}

export interface DashboardSummary {
  pairs: number;
  implicitAccuracy: number;
  meanLoss: number;
  meanMargin: number;
  flagCounts: Record<string, number>;
}

/** A UTF-16 span of a text. */
export interface Span {
  start: number;
  end: number;
}

/** GRPO rollouts of a run (core/rollouts/rollouts.ts): steps of groups of completions per prompt. */
export interface RolloutGroup {
  /** The prompt as text (a list of messages is shown as `role: content` lines). */
  prompt: string;
  size: number;
  rewards: Record<string, Array<number | null>>;
  total: Array<number | null>;
  advantage: Array<number | null> | null;
  lengths: number[];
  zeroVariance: boolean;
  completions: string[];
  /** Extra columns (TRL log_extra, verl reward extras and `gts`), per completion. */
  extra: Record<string, unknown[]>;
}

export interface RolloutStep {
  step: number;
  file: string;
  groups: RolloutGroup[];
}

export interface RolloutCheck {
  id: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  steps: number[];
}

/** A file, row group, column or line that could not be read; the rest was. */
export interface RolloutProblem {
  file: string;
  where: string;
  message: string;
}

export interface Rollouts {
  dir: string;
  /** The dump format (core/rollouts/sources): `trl`, `verl`, `nemo-rl`. */
  source: string;
  /** The format for people, e.g. "TRL completions". */
  label: string;
  rewardNames: string[];
  steps: RolloutStep[];
  checks: RolloutCheck[];
  problems: RolloutProblem[];
  /** The run's completions/clipped_ratio at the steps shown ([step, share]), when the run logs it. */
  clipped: Array<[number, number]> | null;
}

/**
 * The run panel's view of a run (core/runs/view.ts builds it in the live-run worker): series with NaN/Infinity as
 * null (postMessage keeps NaN, but the charts treat null as a gap).
 */
export interface RunView {
  name: string;
  dir: string;
  format: string;
  trainer: string;
  steps: number;
  series: Record<string, Array<[number, number | null]>>;
  eval: Record<string, Array<[number, number | null]>>;
  /** step → epoch as logged, for an x-axis by epoch. */
  epochs: Array<[number, number]>;
  checkpoints: Checkpoint[];
  checks: RunCheck[];
  referenceModel: string | null;
  /** The run's settings from TensorBoard text summaries (`args`, `model_config`), as written. */
  settings: Record<string, string>;
  /** What could not be read (file, byte offset or place, message); the rest was. */
  problems: Array<{ file: string; offset?: number; where?: string; message: string }>;
  /** Written in the last few minutes (the host re-reads it as it grows). */
  live: boolean;
  /** The run has GRPO rollouts on disk (TRL completions, verl dumps): the panel offers the Rollouts view. */
  rollouts: boolean;
}
