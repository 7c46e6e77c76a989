/**
 * Which trainer wrote a run: its model card when TRL wrote one, else its metric names (TRL's DPO, ORPO, KTO,
 * SimPO/CPO and GRPO trainers), with DPO + NLL told from CPO/SimPO by its rewards.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finite, type Series } from './types.js';

export function detectTrainer(names: string[]): string {
  const has = (re: RegExp): boolean => names.some((n) => re.test(n));
  if (has(/frac_reward_zero_std|reward_std|^rewards\/.+\/mean$/)) return 'grpo';
  if (has(/odds_ratio|log_odds_ratio/)) return 'orpo';
  if (has(/nll_loss/) && has(/rewards\/margins/)) return 'cpo/simpo';
  if (has(/^kl$/) && has(/rewards\/(chosen|rejected)_sum|logps\/(chosen|rejected)_sum/)) return 'kto';
  if (has(/^kl$/)) return 'kto';
  if (has(/rewards\/margins/)) return 'dpo';
  if (has(/^rewards\/accuracies$/)) return 'dpo';
  return 'unknown';
}

/** TRL's model card names its trainer: "This model was trained with DPO" (the trainer's `_name`). */
const CARD_TRAINERS: ReadonlyMap<string, string> = new Map(Object.entries({ DPO: 'dpo', CPO: 'cpo/simpo', ORPO: 'orpo', KTO: 'kto', GRPO: 'grpo', RLOO: 'rloo', 'Online DPO': 'online-dpo', SFT: 'sft', Reward: 'reward', PPO: 'ppo', BCO: 'bco' }));

export function trainerOfCard(dir: string): string | null {
  const card = join(dir, 'README.md');
  if (!existsSync(card)) return null;
  const m = /This model was trained with \[?([A-Za-z][A-Za-z0-9 -]*?)\]?(?:\(|,|\.|\s+a method)/.exec(readFileSync(card, 'utf8'));
  if (!m) return null;
  return CARD_TRAINERS.get(m[1]) ?? m[1].toLowerCase();
}

/**
 * Metric names alone cannot tell DPO with an NLL term (`rpo_alpha`, loss_type "sft": it logs `nll_loss` too) from
 * CPO/SimPO: CPO's rewards are β·logps (a constant ratio), DPO's are β·(logps − ref logps).
 */
export function refineTrainer(trainer: string, series: Series): string {
  if (trainer !== 'cpo/simpo') return trainer;
  const rewards = new Map(finite(series['rewards/chosen']));
  const ratios = finite(series['logps/chosen'])
    .filter(([step, l]) => rewards.has(step) && l !== 0)
    .map(([step, l]) => (rewards.get(step) ?? 0) / l);
  if (ratios.length < 2) return trainer;
  const k = ratios[0];
  return ratios.every((r) => Math.abs(r - k) <= 1e-3 * Math.abs(k)) ? 'cpo/simpo' : 'dpo (with nll_loss: rpo_alpha or sft)';
}
