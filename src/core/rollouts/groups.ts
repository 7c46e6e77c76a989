/** GRPO's groups: a step's completions that share a prompt (docs/ARCHITECTURE.md, "Rollouts"). */
import { groupStd } from '../checks/record.js';
import type { RolloutGroup } from '../contract.js';
import { dict, type Row, type RolloutSource } from './row.js';

/** GRPO groups of one step: completions sharing a prompt, in the order the prompts first appear. */
export function group(rows: Row[], rewardNames: string[], weights: Record<string, number>, source: RolloutSource): RolloutGroup[] {
  const by = new Map<string, Row[]>();
  for (const r of rows) {
    const g = by.get(r.prompt);
    if (g) g.push(r);
    else by.set(r.prompt, [r]);
  }
  return [...by].map(([prompt, rs]) => {
    const rewards = dict(rewardNames.map((n) => [n, rs.map((r) => r.rewards[n] ?? null)] as const));
    const total = rs.map((r) => source.total(r, rewardNames, weights));
    const finite = total.filter((t): t is number => t !== null);
    const extraKeys = [...new Set(rs.flatMap((r) => Object.keys(r.extra)))];
    return {
      prompt,
      size: rs.length,
      rewards,
      total,
      advantage: rs.some((r) => r.advantage !== null) ? rs.map((r) => r.advantage) : null,
      lengths: rs.map((r) => [...r.completion].length),
      zeroVariance: finite.length > 1 && groupStd(finite) <= 1e-8,
      completions: rs.map((r) => r.completion),
      extra: dict(extraKeys.map((k) => [k, rs.map((r) => r.extra[k] ?? null)] as const)),
    };
  });
}
