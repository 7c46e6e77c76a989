/**
 * The tokenizers people train with (../shared/demo/real-tokenizers: tiny Qwen3 and Llama 3 checkpoints carrying the
 * real tokenizer files and chat templates), against goldens from an independent implementation of TRL HEAD (`trl`) and
 * TRL 0.28 (`trl-legacy`) with Python jinja2 and Hugging Face's Rust tokenizers: for every record file × length
 * setting × record, the prompt ids, the response ids (exact), each response token's logp (≤ 1e-5), the records the
 * trainer drops, and TRL's warning where the prompt's ids are not a prefix of prompt + response.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreFile } from '../../src/core/engine/score.js';
import { isScored, isSkipped, type ScoreLine } from '../../src/core/contract.js';
import type { LengthLimits } from '../../src/core/tokenize/encoder.js';
import { shared, skipWithoutShared } from '../helpers.js';

interface Gold {
  file: string;
  setting: string;
  args: string[];
  line: number;
  dropped?: boolean;
  reason?: string;
  prompt_ids?: number[];
  rejected_prompt_ids?: number[];
  chosen_ids?: number[];
  rejected_ids?: number[];
  chosen_logp?: number[];
  rejected_logp?: number[];
  trl_warning?: string;
}

const root = (): string => join(shared, 'demo', 'real-tokenizers');

/** The length limits of a golden line's CLI arguments. */
function limitsOf(args: string[]): LengthLimits & { convention: 'trl' | 'trl-legacy' } {
  const get = (k: string): string | undefined => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (k: string): number | null => (get(k) === undefined ? null : Number(get(k)));
  const convention = get('--convention') as 'trl' | 'trl-legacy';
  return {
    convention,
    maxPromptLength: convention === 'trl-legacy' ? (num('--max-prompt-length') ?? 512) : null,
    maxCompletionLength: num('--max-completion-length'),
    maxLength: num('--max-length') ?? 1024,
    truncationMode: (get('--truncation-mode') as 'keep_start' | 'keep_end' | undefined) ?? (convention === 'trl-legacy' ? 'keep_end' : 'keep_start'),
  };
}

/** Every difference between PrefLens' lines and the golden ones (empty when they agree). */
export function differences(g: Gold[], got: ScoreLine[]): string[] {
  const out: string[] = [];
  for (const x of g) {
    const where = `${x.file}:${x.line} [${x.setting}]`;
    const r = got.find((y) => y.line === x.line);
    if (!r) {
      out.push(`${where}: no output line`);
      continue;
    }
    if (x.dropped) {
      if (!isSkipped(r)) out.push(`${where}: the trainer drops it (${x.reason}), PrefLens scored it`);
      continue;
    }
    if (!isScored(r)) {
      out.push(`${where}: not scored (${isSkipped(r) ? r.skipped : r.error}), the trainer trains on it`);
      continue;
    }
    const prompt = r.prompt?.ids;
    if (JSON.stringify(prompt) !== JSON.stringify(x.prompt_ids)) out.push(`${where}: prompt ids ${JSON.stringify(prompt)} ≠ ${JSON.stringify(x.prompt_ids)}`);
    const rp = r.rejected?.prompt_ids ?? prompt;
    if (JSON.stringify(rp) !== JSON.stringify(x.rejected_prompt_ids ?? x.prompt_ids)) out.push(`${where}: rejected prompt ids ${JSON.stringify(rp)} ≠ ${JSON.stringify(x.rejected_prompt_ids ?? x.prompt_ids)}`);
    for (const side of ['chosen', 'rejected'] as const) {
      const mine = r[side];
      const ids = x[`${side}_ids`] ?? [];
      const logp = x[`${side}_logp`] ?? [];
      const got = mine?.tokens.map((t) => t.id) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(ids)) {
        out.push(`${where}: ${side} ids ${JSON.stringify(got)} ≠ ${JSON.stringify(ids)}`);
        continue;
      }
      const worst = Math.max(0, ...(mine?.tokens ?? []).map((t, i) => Math.abs(t.logp - logp[i])));
      if (!(worst <= 1e-5)) out.push(`${where}: ${side} logp off by ${worst.toExponential(2)}`);
    }
    if (Boolean(x.trl_warning) !== Boolean(r.warning)) out.push(`${where}: TRL ${x.trl_warning ? 'warns' : 'does not warn'} (${x.trl_warning ?? ''}), PrefLens ${r.warning ? `warns: ${r.warning}` : 'does not'}`);
  }
  return out;
}

for (const model of ['qwen3', 'llama3'])
  for (const convention of ['trl', 'trl-legacy'])
    test(`real tokenizers: ${model} under ${convention}: every record file, length setting and record equals the independent TRL goldens`, async (t) => {
      if (skipWithoutShared(t)) return;
      const golds = readFileSync(join(root(), 'golden', `${model}.${convention}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Gold);
      const policy = await ScoringModel.load(join(root(), 'models', model), { provider: 'cpu', threads: 1 });
      const problems: string[] = [];
      const groups = new Map<string, Gold[]>();
      for (const g of golds) {
        const k = `${g.file}\0${JSON.stringify(g.args)}`;
        groups.set(k, [...(groups.get(k) ?? []), g]);
      }
      let lines = 0;
      for (const [k, g] of groups) {
        const [file] = k.split('\0');
        const got: ScoreLine[] = [];
        for await (const r of scoreFile(join(root(), 'records', file), policy, null, { beta: 0.1, ...limitsOf(g[0].args), noCache: true })) got.push(r);
        problems.push(...differences(g, got));
        lines += g.length;
      }
      await policy.release();
      console.log(`${model} ${convention}: ${lines} record × setting lines, ${problems.length} differences`);
      assert.deepEqual(problems, []);
    });
