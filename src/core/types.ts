/** Shared data model of the PrefLens engine. No `vscode` import here (DESIGN section 2). */

export const FORMAT_NAMES = [
  'trl-standard',
  'trl-conversational',
  'hh',
  'sharegpt',
  'kto',
  'pairwise-index',
  'ranked',
  'group',
] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export function isFormatName(s: string): s is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(s);
}

export interface Message {
  role: string;
  content: string;
}

export type CandidateRole = 'chosen' | 'rejected' | 'completion' | 'candidate';

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
  /** Where the text came from, for messages that point back to the source (e.g. "chosen", "completions[2]"). */
  field: string;
}

export type RecordKind = 'pair' | 'unpaired' | 'ranked' | 'group';

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
}

/** The dataset checks of DESIGN section 4, as they appear in `preflens stats --json`. */
export const CHECK_NAMES = [
  'identical',
  'emptyResponse',
  'promptMismatch',
  'duplicate',
  'contradiction',
  'lowSeparation',
  'truncationRisk',
  'scoreTie',
  'scoreInversion',
  'zeroVarianceGroup',
  'encoding',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const CHECK_BITS: Record<CheckName, number> = {
  identical: 1 << 0,
  emptyResponse: 1 << 1,
  promptMismatch: 1 << 2,
  duplicate: 1 << 3,
  contradiction: 1 << 4,
  lowSeparation: 1 << 5,
  truncationRisk: 1 << 6,
  scoreTie: 1 << 7,
  scoreInversion: 1 << 8,
  zeroVarianceGroup: 1 << 9,
  encoding: 1 << 10,
};
/** Bit for records whose line failed to parse (not a check: an error). */
export const ERROR_BIT = 1 << 15;

export const CHECK_DESCRIPTIONS: Record<CheckName, string> = {
  identical: 'chosen and rejected are identical',
  emptyResponse: 'a response is empty or whitespace only',
  promptMismatch: 'chosen and rejected carry different prompts',
  duplicate: 'duplicate of an earlier record (same prompt and responses after normalising case and whitespace)',
  contradiction: 'same prompt with the responses swapped in another record',
  lowSeparation: 'chosen and rejected differ by at most 3 tokens (low separation, TAB-PO)',
  truncationRisk: 'prompt or response longer than the configured max lengths (in tokens)',
  scoreTie: 'scores of the candidates are tied',
  scoreInversion: 'the chosen response has a lower score than the rejected one',
  zeroVarianceGroup: 'all rewards of the group are equal: no GRPO signal',
  encoding: 'U+FFFD replacement characters, invalid UTF-8 or control characters',
};

export function flagsToChecks(flags: number): CheckName[] {
  return CHECK_NAMES.filter((c) => (flags & CHECK_BITS[c]) !== 0);
}
