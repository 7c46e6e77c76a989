/** `preflens spinal`: the SPINAL layer trace (PrefLens' operationalisation) of a model over records. */
import { parseArgs } from 'node:util';
import type { ProviderChoice } from '../../core/engine/model.js';
import { recordsOnLines } from '../../core/records.js';
import type { CliCommand } from '../command.js';
import { range, skipped, tokenization, UsageError } from '../options.js';

async function spinal(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      lines: { type: 'string' },
      'max-prompt-length': { type: 'string' },
      'max-completion-length': { type: 'string' },
      convention: { type: 'string' },
      'max-length': { type: 'string' },
      'truncation-mode': { type: 'string' },
      json: { type: 'boolean' },
      'hidden-states': { type: 'string' },
      device: { type: 'string' },
      'cache-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('spinal takes exactly one FILE');
  if (!values.model) throw new UsageError('spinal needs --model DIR');
  const file = positionals[0];
  const recs = recordsOnLines(file, range(values.lines, 'lines'), { onSkipped: skipped(file) });
  const { spinalTrace } = await import('../../core/spinal/spinal.js');
  const lim = tokenization(values, values.model);
  process.stderr.write(`preflens: convention ${lim.limits.convention} (${lim.reason})\n`);
  const t = await spinalTrace(values.model, recs, {
    ...lim.limits,
    hiddenStates: values['hidden-states']?.split(',').map((x) => x.trim()).filter(Boolean),
    provider: (values.device ?? 'cpu') as ProviderChoice,
    cacheDir: values['cache-dir'],
  });
  if (values.json) process.stdout.write(JSON.stringify(t) + '\n');
  else {
    process.stdout.write(`SPINAL trace (PrefLens' operationalisation) of ${t.model}: ${t.records} records, ${t.tokens} response tokens\n`);
    process.stdout.write('layer  contraction α  transport 𝓛\n');
    for (const l of t.layers) process.stdout.write(`${String(l.layer).padStart(5)}  ${l.contraction.toFixed(4).padStart(13)}  ${l.transport === null ? '—' : l.transport.toFixed(4).padStart(11)}\n`);
  }
  return 0;
}

export const spinalCommand: CliCommand = { name: 'spinal', usage: `spinal FILE --model DIR [--lines A-B] [--convention trl|trl-legacy] [--max-length N]
      [--max-prompt-length N] [--max-completion-length N] [--json]
      SPINAL layer trace (PrefLens' operationalisation): contraction and transport per layer
      over the response tokens of the selected records, tokenized as in score.
      --hidden-states a,b,… names the tensors.`, run: spinal };
