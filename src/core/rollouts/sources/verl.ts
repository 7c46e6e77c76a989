/**
 * verl's rollout dumps (`trainer.rollout_data_dir`): `<step>.jsonl`, one line per completion: `input`, `output`,
 * `score`, `step`, optional `gts`, and the reward function's extra values. The total is its `score`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RolloutProblem } from '../../contract.js';
import { dict, num, promptText, RewardValues, type Row, type RolloutSource, stepFiles } from '../row.js';

export const verl: RolloutSource = {
  name: 'verl',
  label: 'verl rollouts',
  where: 'verl <step>.jsonl from trainer.rollout_data_dir',
  find(dir) {
    for (const d of [dir, join(dir, 'rollout_data'), join(dir, 'rollouts')]) {
      if (!existsSync(d) || !statSync(d).isDirectory()) continue;
      const files = stepFiles(d, readdirSync(d), /^(\d+)\.jsonl$/, join);
      if (files.length) return files;
    }
    return null;
  },
  /** `input`, `output`, `score` per line; other numeric keys are reward extras, the rest extras. */
  async read(file: string, _rewardNames: string[] | null, problems: RolloutProblem[]): Promise<{ rows: Row[]; rewardNames: string[] }> {
    const rows: Row[] = [];
    const names = new Set<string>(['score']);
    const values = new RewardValues();
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          problems.push({ file, where: `line ${i + 1}`, message: 'not valid JSON' });
          return;
        }
        if (typeof v !== 'object' || v === null || Array.isArray(v)) {
          problems.push({ file, where: `line ${i + 1}`, message: `not a JSON object (${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v})` });
          return;
        }
        const o = v as Record<string, unknown>;
        for (const need of ['input', 'output', 'score'])
          if (!(need in o)) {
            problems.push({ file, where: `line ${i + 1}, field ${need}`, message: `no "${need}": not a verl rollout line (fields: ${Object.keys(o).join(', ')})` });
          }
        if (!('input' in o) || !('output' in o)) return;
        const rewards = dict<number | null>([['score', values.read('score', o.score, `line ${i + 1}`)]]);
        const extra = dict<unknown>();
        for (const [k, v] of Object.entries(o)) {
          if (['input', 'output', 'score', 'step'].includes(k)) continue;
          if (typeof v === 'number' || typeof v === 'boolean') {
            rewards[k] = typeof v === 'boolean' ? Number(v) : num(v);
            names.add(k);
          } else extra[k] = v;
        }
        rows.push({ prompt: promptText(o.input), completion: promptText(o.output), rewards, advantage: null, extra });
      });
    values.report(file, (n) => `field ${n}`, problems);
    // a reward extra missing from some lines: the columns are of unequal length
    for (const n of names) {
      const missing = rows.filter((r) => !(n in r.rewards)).length;
      if (missing) problems.push({ file, where: `field ${n}`, message: `${missing} of ${rows.length} lines have no "${n}": the reward values are of unequal length` });
    }
    return { rows, rewardNames: [...names] };
  },
  total: (r) => r.rewards.score ?? null,
};
