/**
 * TRL's GRPO completions (`log_completions=True`): `<output_dir>/completions/completions_NNNNN.parquet`, one file per
 * logging step, written by pandas: columns `step`, `prompt`, `completion`, one column per reward function, extra
 * columns (`log_extra`), `advantage`. A prompt is text, or (older TRL, conversational data) a list of messages.
 * Parquet is read as every Parquet file is (parquet/parquet.ts). The total is TRL's: Σ wᵢ·rᵢ over the reward
 * functions, a NaN (a function that does not apply) left out.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openParquet, type ParquetFile, readRowGroup } from '../../parquet/parquet.js';
import type { RolloutProblem } from '../../contract.js';
import { own } from '../../dict.js';
import { dict, num, promptText, RewardValues, type Row, type RolloutSource, stepFiles } from '../row.js';

const FIXED = new Set(['step', 'prompt', 'completion', 'advantage', 'image', 'images']);

export const trl: RolloutSource = {
  name: 'trl',
  label: 'TRL completions',
  where: 'TRL completions/completions_NNNNN.parquet with log_completions=True',
  find(dir) {
    for (const d of [join(dir, 'completions'), dir]) {
      if (!existsSync(d) || !statSync(d).isDirectory()) continue;
      const files = stepFiles(d, readdirSync(d), /^completions_(\d+)\.parquet$/, join);
      if (files.length) return files;
    }
    return null;
  },
  /**
   * Reward columns are the numeric columns the run names as reward functions (`rewardNames`, from its
   * `rewards/<name>/mean` metrics) or, without them, every floating-point column other than step and advantage;
   * other columns are extras.
   */
  async read(file: string, rewardNames: string[] | null, problems: RolloutProblem[]): Promise<{ rows: Row[]; rewardNames: string[] }> {
    // a ParquetError's message starts with the file, which the problem names apart
    const detail = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(`${file}: `, '');
    let pf: ParquetFile;
    try {
      pf = await openParquet(file);
    } catch (e) {
      problems.push({ file, where: 'footer', message: detail(e) });
      return { rows: [], rewardNames: rewardNames ?? [] };
    }
    const names = pf.columns;
    for (const need of ['prompt', 'completion'])
      if (!names.includes(need)) {
        problems.push({ file, where: `column ${need}`, message: `no "${need}" column (columns: ${names.join(', ')}): not a TRL completions file` });
        return { rows: [], rewardNames: rewardNames ?? [] };
      }
    const rewards = rewardNames ? rewardNames.filter((n) => names.includes(n)) : names.filter((n) => !FIXED.has(n) && (pf.columnTypes[n] === 'DOUBLE' || pf.columnTypes[n] === 'FLOAT'));
    if (rewardNames) for (const n of rewardNames) if (!names.includes(n)) problems.push({ file, where: `column ${n}`, message: `no column for the reward function "${n}"` });
    const rows: Row[] = [];
    const values = new RewardValues();
    // row group by row group: an unreadable one (an unknown compression, a damaged page) is reported and skipped
    for (let g = 0; g < pf.rowGroups.length; g++) {
      let objs: Array<Record<string, unknown>>;
      try {
        objs = await readRowGroup(pf, g);
      } catch (e) {
        problems.push({ file, where: `row group ${g + 1}`, message: `cannot be read (${detail(e)})` });
        continue;
      }
      for (const [k, o] of objs.entries()) {
        // null cells are absent from the row (parquet.ts readRowGroup): a reward that is absent is null
        const extra = dict<unknown>();
        for (const k of names) if (!FIXED.has(k) && !rewards.includes(k)) extra[k] = o[k] ?? null;
        rows.push({
          prompt: promptText(o.prompt),
          completion: typeof o.completion === 'string' ? o.completion : promptText(o.completion),
          rewards: dict(rewards.map((r) => [r, values.read(r, o[r], `row ${pf.rowGroups[g].start + k + 1}`)] as const)),
          advantage: names.includes('advantage') ? num(o.advantage) : null,
          extra,
        });
      }
    }
    values.report(file, (n) => `column ${n}`, problems);
    return { rows, rewardNames: rewards };
  },
  // nansum of the weighted rewards; a completion no function scored has no total
  total(r, rewardNames, weights) {
    const vs = rewardNames.map((n) => [n, r.rewards[n]] as const).filter((x): x is readonly [string, number] => x[1] !== null && x[1] !== undefined);
    return vs.length ? vs.reduce((s, [n, v]) => s + own(weights, n, 1) * v, 0) : null;
  },
};
