/** One completion as a rollout source reads it, before grouping (docs/ARCHITECTURE.md, "Rollouts"). */
import type { RolloutProblem } from '../contract.js';
import { dict } from '../dict.js';

export { dict };

export interface Row {
  prompt: string;
  completion: string;
  /** By reward name (null-prototype: the names come from the file). */
  rewards: Record<string, number | null>;
  advantage: number | null;
  /** Extra columns, by name (null-prototype). */
  extra: Record<string, unknown>;
}

/** A finite number (an integer column may be a bigint), else null. */
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : null);

/**
 * Reward values as numbers, counting per reward the values present that are not numbers (a string "0.5", a list), so
 * that a source reports each such reward once instead of totals that are silently null. A NaN is no reward without a
 * report (TRL logs NaN for a function that does not apply to a completion).
 */
export class RewardValues {
  private readonly bad = new Map<string, { count: number; first: string; where: string }>();

  read(name: string, v: unknown, where: string): number | null {
    const n = num(v);
    if (n === null && v !== null && v !== undefined && typeof v !== 'number') {
      const b = this.bad.get(name);
      if (b) b.count++;
      else this.bad.set(name, { count: 1, first: (JSON.stringify(v) ?? String(v)).slice(0, 40), where });
    }
    return n;
  }

  /** One problem per reward that had values not numbers, placed by `place(name)`. */
  report(file: string, place: (name: string) => string, problems: RolloutProblem[]): void {
    for (const [name, b] of this.bad)
      problems.push({ file, where: place(name), message: `${b.count} value${b.count === 1 ? ' is' : 's are'} not a number (the first, ${b.where}: ${b.first}): no reward there` });
  }
}

/** A prompt cell as text: a string, or a list of chat messages as `role: content` lines. */
export function promptText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v))
    return v
      .map((m) => {
        if (typeof m === 'object' && m !== null) {
          const o = m as Record<string, unknown>;
          const content = typeof o.content === 'string' ? o.content : JSON.stringify(o.content ?? null);
          return typeof o.role === 'string' ? `${o.role}: ${content}` : content;
        }
        return String(m);
      })
      .join('\n');
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

/** A rollout dump format (sources/): where a run keeps its files, how one is read, and a completion's total reward. */
export interface RolloutSource {
  /** As `preflens rollouts --json` names it (`source`). */
  readonly name: string;
  /** For the panel's title and messages, e.g. "TRL completions". */
  readonly label: string;
  /** Where the files are, for the message of a folder that has none. */
  readonly where: string;
  /** The step files of this format in `dir` (or in the folders it keeps them in), in step order; null when none. */
  find(dir: string): Array<{ step: number; file: string }> | null;
  /**
   * Reads one step file. `rewardNames`: the run's reward functions when it names them (TRL), to tell reward columns
   * from extras. What cannot be read is added to `problems`, and the rest is read.
   */
  read(file: string, rewardNames: string[] | null, problems: RolloutProblem[]): Promise<{ rows: Row[]; rewardNames: string[] }>;
  /** A completion's total reward (the number GRPO's advantage is computed from), or null. */
  total(row: Row, rewardNames: readonly string[], weights: Readonly<Record<string, number>>): number | null;
}

/** The numbered files `re` matches (its first group is the step) in `dir`, in step order. */
export function stepFiles(dir: string, names: readonly string[], re: RegExp, join: (a: string, b: string) => string): Array<{ step: number; file: string }> {
  return names
    .map((n) => re.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), file: join(dir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}
