/**
 * The dataset checks (docs/ARCHITECTURE.md, "Checks"): one table, read by the engine (record flags), the scan
 * kernel's layout test, `preflens stats`, the Problems panel (severity, order, field), the inspector and the
 * webview protocol. No imports: webviews bundle it too.
 */

/** How the Problems panel shows a flagged record. */
export type CheckSeverity = 'warning' | 'information';

/** The field of a record that shows a check in the editor: its first response, its second, or its empty one. */
export type CheckField = 'first' | 'second' | 'empty' | 'prompt';

export interface CheckInfo {
  /** As in `preflens stats --json` `checks`. */
  readonly name: string;
  /** Its bit in a record's flags (RecordIndex.flags). */
  readonly bit: number;
  readonly description: string;
  readonly severity: CheckSeverity;
  /** Position in the Problems panel (most serious first), when the panel is capped. */
  readonly order: number;
  readonly field: CheckField;
}

/** In the order of `preflens stats` output. */
export const CHECKS = [
  { name: 'identical', bit: 1 << 0, severity: 'warning', order: 0, field: 'second', description: 'chosen and rejected are identical' },
  { name: 'emptyResponse', bit: 1 << 1, severity: 'warning', order: 1, field: 'empty', description: 'a response is empty or whitespace only' },
  { name: 'promptMismatch', bit: 1 << 2, severity: 'warning', order: 2, field: 'second', description: 'chosen and rejected carry different prompts' },
  {
    name: 'duplicate',
    bit: 1 << 3,
    severity: 'warning',
    order: 4,
    field: 'first',
    description: 'duplicate of an earlier record (same prompt and responses after normalising case and whitespace)',
  },
  { name: 'contradiction', bit: 1 << 4, severity: 'warning', order: 3, field: 'second', description: 'same prompt with the responses swapped in another record' },
  {
    name: 'lowSeparation',
    bit: 1 << 5,
    severity: 'information',
    order: 9,
    field: 'second',
    description: 'chosen and rejected differ by at most 3 tokens (low separation, TAB-PO)',
  },
  {
    name: 'truncationRisk',
    bit: 1 << 6,
    severity: 'information',
    order: 10,
    field: 'first',
    description: 'prompt or response longer than the configured max lengths (in tokens)',
  },
  { name: 'scoreTie', bit: 1 << 7, severity: 'information', order: 8, field: 'second', description: 'scores of the candidates are tied' },
  { name: 'scoreInversion', bit: 1 << 8, severity: 'warning', order: 5, field: 'second', description: 'the chosen response has a lower score than the rejected one' },
  { name: 'zeroVarianceGroup', bit: 1 << 9, severity: 'information', order: 7, field: 'first', description: 'all rewards of the group are equal: no GRPO signal' },
  { name: 'encoding', bit: 1 << 10, severity: 'warning', order: 6, field: 'first', description: 'U+FFFD replacement characters, invalid UTF-8 or control characters' },
  {
    name: 'emptyPrompt',
    bit: 1 << 11,
    severity: 'warning',
    order: 11,
    field: 'prompt',
    description: 'the prompt is empty or whitespace only (prompt-only, prompt-completion and stepwise records: nothing to generate from)',
  },
] as const satisfies readonly CheckInfo[];

export type CheckName = (typeof CHECKS)[number]['name'];

export const CHECK_NAMES: readonly CheckName[] = CHECKS.map((c) => c.name);

export const CHECK_BITS = Object.fromEntries(CHECKS.map((c) => [c.name, c.bit])) as Record<CheckName, number>;

export const CHECK_DESCRIPTIONS = Object.fromEntries(CHECKS.map((c) => [c.name, c.description])) as Record<CheckName, string>;

export const CHECK_INFO = Object.fromEntries(CHECKS.map((c) => [c.name, c])) as Record<CheckName, CheckInfo>;

/** Every check's bit: the mask of a record's check flags. */
export const CHECK_MASK = CHECKS.reduce((m, c) => m | c.bit, 0);

/** Bit for records whose line failed to parse (not a check: an error). */
export const ERROR_BIT = 1 << 15;

export function isCheckName(s: string): s is CheckName {
  return (CHECK_NAMES as readonly string[]).includes(s);
}

export function flagsToChecks(flags: number): CheckName[] {
  return CHECK_NAMES.filter((c) => (flags & CHECK_BITS[c]) !== 0);
}
