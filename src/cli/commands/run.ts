/** `preflens run`: a training run's series, checkpoints and run checks (several runs: a sweep to compare). */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { UsageError } from '../options.js';
import { problemPlace } from '../../core/runs/types.js';

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length < 1) throw new UsageError('run takes one DIR, or several to compare');
  const { parseRun } = await import('../../core/runs/runs.js');
  const runs = positionals.map((d) => parseRun(d));
  const json = (r: (typeof runs)[number]): Record<string, unknown> => ({ dir: r.dir, format: r.format, trainer: r.trainer, steps: r.steps, series: r.series, eval: r.eval, epochs: r.epochs, checkpoints: r.checkpoints, checks: r.checks, referenceModel: r.referenceModel, eventFiles: r.eventFiles, settings: r.settings, problems: r.problems });
  // NaN/Infinity are not JSON: they are written as null in the series (the non-finite check lists their steps).
  const write = (j: unknown): boolean => process.stdout.write(JSON.stringify(j, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n');
  // Several runs (a sweep to compare): {"runs": [one run object each, as for one DIR]}.
  if (values.json) write(runs.length === 1 ? json(runs[0]) : { runs: runs.map(json) });
  else for (const r of runs) {
    process.stdout.write(`${r.dir}: ${r.format}, ${r.trainer} trainer, ${r.steps} steps, ${Object.keys(r.series).length} train series, ${Object.keys(r.eval).length} eval series, ${r.checkpoints.length} checkpoints\n`);
    for (const f of r.eventFiles) process.stdout.write(`  events ${f}\n`);
    for (const p of r.problems) process.stdout.write(`warning ${p.file}: ${problemPlace(p)}: ${p.message}\n`);
    for (const c of r.checkpoints) process.stdout.write(`  checkpoint ${c.step}: ${c.path}${c.hasOnnx ? ' (onnx)' : ''}${c.hasSafetensors ? ' (safetensors)' : ''}${c.hasAdapter ? ' (adapter)' : ''}\n`);
    if (!r.checks.length) process.stdout.write('checks: none fired\n');
    for (const c of r.checks) process.stdout.write(`${c.severity.padEnd(7)} ${c.id}: ${c.message} [${c.source}] steps ${c.steps.slice(0, 8).join(', ')}${c.steps.length > 8 ? ', …' : ''}\n`);
  }
  return 0;
}

export const runCommand: CliCommand = { name: 'run', usage: `run DIR [DIR …] [--json]
      a training run: metric series, eval series, checkpoints and run checks; several: {"runs": [...]}`, run };
