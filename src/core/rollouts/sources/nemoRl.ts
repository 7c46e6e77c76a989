/**
 * NeMo RL's GRPO training data (nemo_rl/algorithms/grpo.py, written by nemo_rl/utils/logger.py
 * log_batched_dict_as_jsonl): `<log_dir>/exp_NNN/train_data_step<N>.jsonl`, one line per completion with `content`
 * (the message log's contents: the prompt's messages, then the response), `rewards`, `advantages` (per token),
 * `token_loss_mask` (1 on the response's tokens), `input_lengths`, `token_ids`, `generation_logprobs`,
 * `prev_logprobs` and `idx`; `filtered_rewards` with dynamic sampling (then `rewards` is the total reward). Written
 * unless `env.should_log_nemo_gym_responses` is set. The prompt is every message but the last; the completion the last
 * (a multi-turn log is grouped by everything before its last message). The total is `rewards`; the advantage is the
 * first response token's (GRPO's is one value per completion).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RolloutProblem } from '../../contract.js';
import { dict, num, RewardValues, type Row, type RolloutSource, stepFiles } from '../row.js';

const FILE = /^train_data_step(\d+)\.jsonl$/;
/** Per-token arrays: not shown as extras. */
const TOKEN_ARRAYS = new Set(['token_ids', 'token_loss_mask', 'advantages', 'generation_logprobs', 'prev_logprobs', 'content', 'rewards']);

/** The newest experiment folder (exp_NNN) of a log dir, else null. */
function newestExperiment(dir: string): string | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const exps = readdirSync(dir)
    .map((n) => /^exp_(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  return exps.length ? join(dir, exps[0][0]) : null;
}

export const nemoRl: RolloutSource = {
  name: 'nemo-rl',
  label: 'NeMo RL training data',
  where: 'NeMo RL <log_dir>/exp_NNN/train_data_step<N>.jsonl',
  find(dir) {
    for (const d of [dir, newestExperiment(dir), newestExperiment(join(dir, 'logs'))]) {
      if (!d || !existsSync(d) || !statSync(d).isDirectory()) continue;
      const files = stepFiles(d, readdirSync(d), FILE, join);
      if (files.length) return files;
    }
    return null;
  },
  async read(file: string, _rewardNames: string[] | null, problems: RolloutProblem[]): Promise<{ rows: Row[]; rewardNames: string[] }> {
    const rows: Row[] = [];
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
        const content = o.content;
        if (!Array.isArray(content) || content.length < 2 || !content.every((c) => typeof c === 'string')) {
          problems.push({ file, where: `line ${i + 1}, field content`, message: '"content" must be the message log\'s contents: a list of at least two strings (the prompt, then the response)' });
          return;
        }
        if (!('rewards' in o)) problems.push({ file, where: `line ${i + 1}, field rewards`, message: 'no "rewards"' });
        const adv = Array.isArray(o.advantages) ? (o.advantages as unknown[]) : null;
        const mask = Array.isArray(o.token_loss_mask) ? (o.token_loss_mask as unknown[]) : null;
        const at = adv ? (mask ? mask.findIndex((m) => m === 1 || m === true) : adv.length - 1) : -1;
        const extra = dict<unknown>();
        for (const [k, x] of Object.entries(o)) if (!TOKEN_ARRAYS.has(k)) extra[k] = x;
        rows.push({
          prompt: (content as string[]).slice(0, -1).join('\n'),
          completion: content[content.length - 1] as string,
          rewards: dict([['rewards', values.read('rewards', o.rewards, `line ${i + 1}`)]]),
          advantage: adv && at >= 0 ? num(adv[at]) : null,
          extra,
        });
      });
    values.report(file, (n) => `field ${n}`, problems);
    return { rows, rewardNames: ['rewards'] };
  },
  total: (r) => r.rewards.rewards ?? null,
};
