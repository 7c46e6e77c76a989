/** Shared data model of the PrefLens engine (docs/ARCHITECTURE.md, "Records"). No imports that run: webviews read it too. */

export const FORMAT_NAMES = [
  'trl-standard',
  'trl-conversational',
  'hh',
  'sharegpt',
  'kto',
  'pairwise-index',
  'ranked',
  'group',
  'alpaca',
  'prompt-only',
  'prompt-completion',
  'stepwise',
] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export function isFormatName(s: string): s is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(s);
}

export interface Message {
  role: string;
  content: string;
}

export type CandidateRole = 'chosen' | 'rejected' | 'completion' | 'candidate' | 'step';

export interface Candidate {
  role: CandidateRole;
  /** The response text (for message-valued responses: the assistant turns' contents joined). */
  text: string;
  /** The response as messages when the source has them. */
  messages?: Message[];
  /** A scalar score (score_chosen, overall_score, …) when the source has one. */
  score?: number;
  /** 0 = best, when the source ranks candidates. */
  rank?: number;
  /** One or several reward columns (GRPO groups). */
  rewards?: Record<string, number>;
  /** Stepwise supervision: whether this step is correct. */
  label?: boolean;
  /** Where the text came from, for messages that point back to the source (e.g. "chosen", "completions[2]"). */
  field: string;
}

/**
 * pair, unpaired (KTO), ranked, group (GRPO with rewards); prompt (TRL prompt-only: the input of GRPO, RLOO and
 * online DPO), completion (TRL prompt-completion), stepwise (TRL stepwise supervision: labelled steps).
 */
export type RecordKind = 'pair' | 'unpaired' | 'ranked' | 'group' | 'prompt' | 'completion' | 'stepwise';

export interface PreferenceRecord {
  /** 0-based index of the record in the file (records, not lines). */
  index: number;
  /** 1-based line of the record's first character. */
  line: number;
  /** Byte offset of the record's first byte. */
  offset: number;
  format: FormatName;
  kind: RecordKind;
  /** The prompt as text (message prompts rendered as "role: content" blocks). */
  prompt: string;
  promptMessages?: Message[];
  /** Pairs: [chosen, rejected]; KTO: [completion]; ranked: best first; groups: in source order. */
  candidates: Candidate[];
  /** KTO desirability label. */
  label?: boolean;
  /** Pairwise-index records with preference 0 (a tie). */
  tie?: boolean;
  /** Set when chosen and rejected carry different prompts (HH transcripts, implicit-prompt conversations). */
  rejectedPrompt?: string;
  /**
   * Extra arguments of the chat template, from the record as TRL takes them: `tools` (a list, or a JSON string of
   * one) and the keys of `chat_template_kwargs`.
   */
  templateArgs?: Record<string, unknown>;
  /** The raw JSON text of the record (only filled when a single record is read). */
  raw?: string;
  /** For sources that yield several records per line (OpenAssistant trees): which one, 0-based. */
  sub?: number;
}

export interface RecordError {
  line: number;
  column?: number;
  field?: string;
  message: string;
  /**
   * The rows the error stands for, from `line` (1 when absent): a Parquet row group that cannot be read, its row count;
   * a column that cannot be read, 0 (the rows are read without it).
   */
  rows?: number;
}

