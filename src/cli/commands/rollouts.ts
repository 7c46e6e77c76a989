/** `preflens rollouts`: a GRPO run's rollouts grouped per prompt and step, with the rollout checks. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { rewardWeightsOption, UsageError } from '../options.js';

async function rollouts(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, 'reward-weights': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('rollouts takes one DIR');
  const { readRollouts, rolloutContext, rolloutsJson } = await import('../../core/rollouts/rollouts.js');
  const weights = values['reward-weights'] === undefined ? undefined : rewardWeightsOption(values['reward-weights']);
  const r = await readRollouts(positionals[0], rolloutContext(positionals[0], weights));
  for (const p of r.problems) process.stderr.write(`warning ${p.file}: ${p.where}: ${p.message}\n`);
  if (values.json) {
    process.stdout.write(JSON.stringify(rolloutsJson(r)) + '\n');
    return 0;
  }
  const groups = r.steps.reduce((a, s) => a + s.groups.length, 0);
  process.stdout.write(`${r.dir}: ${r.source} rollouts, ${r.steps.length} steps, ${groups} groups, reward functions ${r.rewardNames.join(', ')}\n`);
  for (const s of r.steps) {
    const z = s.groups.filter((g) => g.zeroVariance).length;
    const totals = s.groups.flatMap((g) => g.total).filter((t): t is number => t !== null);
    const mean = totals.length ? `mean total reward ${(totals.reduce((a, b) => a + b, 0) / totals.length).toFixed(3)}` : 'no total reward (no completion has a numeric reward)';
    process.stdout.write(`  step ${s.step}: ${s.groups.length} groups of ${s.groups.map((g) => g.size).join('/')}, ${mean}, ${z} with zero variance\n`);
  }
  if (!r.checks.length) process.stdout.write('checks: none fired\n');
  for (const c of r.checks) process.stdout.write(`${c.severity.padEnd(7)} ${c.id}: ${c.message} steps ${c.steps.slice(0, 8).join(', ')}${c.steps.length > 8 ? ', …' : ''}\n`);
  return 0;
}

export const rolloutsCommand: CliCommand = { name: 'rollouts', usage: `rollouts DIR [--json] [--reward-weights a=1,b=0.5]
      GRPO rollouts of a run (TRL completions/completions_NNNNN.parquet, verl <step>.jsonl, NeMo RL
      exp_NNN/train_data_step<N>.jsonl): groups per prompt and step with each reward, the total, the
      advantage and the lengths; zero-variance groups, reward against length, disagreeing reward functions
      (weights: the run's args, else 1)`, run: rollouts };
