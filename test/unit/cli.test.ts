import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fixture, repoRoot, tempFile } from '../helpers.js';

const cli = join(repoRoot, 'dist', 'cli.js');
const run = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('stats --json: the contract shape', () => {
  const r = run('stats', fixture('trl-standard.jsonl'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  for (const k of ['file', 'format', 'records', 'errors', 'checks', 'lengths']) assert.ok(k in j, k);
  const checks = j.checks as Record<string, number[]>;
  assert.deepEqual(Object.keys(checks).sort(), ['contradiction', 'duplicate', 'emptyPrompt', 'emptyResponse', 'encoding', 'identical', 'lowSeparation', 'promptMismatch', 'scoreInversion', 'scoreTie', 'truncationRisk', 'zeroVarianceGroup']);
  assert.deepEqual(checks.identical, [2]);
  const lengths = j.lengths as { chosenLongerShare: number };
  assert.equal(typeof lengths.chosenLongerShare, 'number');
});

test('stats: human-readable summary by default', () => {
  const r = run('stats', fixture('hh.jsonl'));
  assert.equal(r.code, 0);
  assert.match(r.out, /format\s+hh/);
  assert.match(r.out, /promptMismatch\s+1\s+2/);
});

test('bad lines exit 0 and are listed; unreadable or empty files exit 1 with one line, no stack', () => {
  const bad = run('stats', fixture('bad.jsonl'), '--json');
  assert.equal(bad.code, 0);
  assert.equal((JSON.parse(bad.out) as { errors: unknown[] }).errors.length, 4);
  for (const f of [fixture('empty.jsonl'), fixture('nope.jsonl'), fixture('.')]) {
    const r = run('stats', f);
    assert.equal(r.code, 1, f);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /\bat .*\.js:\d+/);
  }
});

test('usage errors exit 2', () => {
  assert.equal(run().code, 2);
  assert.equal(run('frobnicate').code, 2);
  assert.equal(run('stats').code, 2);
  assert.equal(run('stats', fixture('hh.jsonl'), '--format', 'nope').code, 2);
  assert.equal(run('stats', fixture('hh.jsonl'), '--bogus').code, 2);
});

test('--format override and --tokenizer errors', () => {
  const r = run('stats', fixture('hh.jsonl'), '--format', 'trl-standard', '--json');
  assert.equal(r.code, 0);
  assert.equal((JSON.parse(r.out) as { format: string }).format, 'trl-standard');
  const t = run('stats', fixture('hh.jsonl'), '--tokenizer', fixture('no-such-dir'));
  assert.equal(t.code, 1);
  assert.match(t.err, /no tokenizer\.json/);
});

test('stats: the truncation check follows the convention; auto takes trl-legacy when prompt/completion lengths are given, else trl', () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
  const f = tempFile('conv.jsonl', JSON.stringify({ prompt: words(600), chosen: ' a b', rejected: ' c' }) + '\n');
  const lines = (...args: string[]): number[] => (JSON.parse(run('stats', f, '--json', ...args).out) as { checks: { truncationRisk: number[] } }).checks.truncationRisk;
  assert.deepEqual(lines(), [], 'trl: 600 + 2 + EOS fits in max_length 1024');
  assert.deepEqual(lines('--max-prompt-length', '512'), [1], 'trl-legacy: the prompt is over max_prompt_length');
  assert.deepEqual(lines('--convention', 'trl-legacy'), [1], 'trl-legacy with its default 512');
  assert.deepEqual(lines('--convention', 'trl', '--max-length', '600'), [1]);
  assert.equal(run('stats', f, '--convention', 'nope').code, 2);
});

test('spinal tokenizes as score does: the convention is resolved, printed on stderr, and changes the response tokens it traces', () => {
  const tiny = join(repoRoot, 'test', 'fixtures', 'tiny-gpt2');
  const trace = (...args: string[]): { tokens: number; err: string } => {
    const r = run('spinal', fixture('trl-standard.jsonl'), '--model', tiny, '--json', '--cache-dir', join(repoRoot, 'out', '.spinal-cache'), ...args);
    assert.equal(r.code, 0, r.err);
    return { tokens: (JSON.parse(r.out) as { tokens: number }).tokens, err: r.err };
  };
  const legacy = trace('--max-prompt-length', '8', '--max-completion-length', '4');
  assert.match(legacy.err, /convention trl-legacy \(max prompt\/completion lengths are set/);
  const trl = trace('--convention', 'trl', '--max-length', '60');
  assert.match(trl.err, /convention trl \(chosen\)/);
  assert.ok(trl.tokens > legacy.tokens, `${trl.tokens} > ${legacy.tokens}: legacy keeps 4 response tokens`);
});

test('CLI commands are one table: a command added to it is in the usage and is dispatched, with no other edit; its input errors exit 1', async () => {
  const { main, usage } = await import('../../src/cli/main.js');
  const { COMMANDS } = await import('../../src/cli/commands/index.js');
  const { InputError } = await import('../../src/core/errors.js');
  let got: string[] = [];
  const extra = {
    name: 'echo-test',
    usage: 'echo-test ARG…\n      prints nothing; exits with the number of its arguments',
    run: async (argv: string[]): Promise<number> => {
      got = argv;
      if (argv[0] === 'bad') throw new InputError('echo-test: bad input');
      return argv.length;
    },
  };
  const table = [...COMMANDS, extra];
  assert.match(usage(table), /\n  echo-test ARG…\n        prints nothing/);
  assert.doesNotMatch(usage(), /echo-test/);
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main(['echo-test', 'a', 'b'], table), 2);
    assert.deepEqual(got, ['a', 'b']);
    assert.equal(await main(['echo-test', 'bad'], table), 1);
    assert.equal(await main(['echo-test'], COMMANDS), 2, 'not in the table: a usage error');
  } finally {
    process.stderr.write = write;
  }
  for (const c of COMMANDS) assert.match(usage(), new RegExp(`\\n  ${c.name} `), `${c.name} is in the usage`);
});

test('score --json is accepted (the output is JSON Lines either way); each line names the ids its responses were scored after', () => {
  const args = ['score', fixture('trl-standard.jsonl'), '--policy', fixture('tiny-gpt2'), '--lines', '1-2', '--no-cache', '--max-length', '60'];
  const plain = run(...args);
  const json = run(...args, '--json');
  assert.equal(json.code, 0, json.err);
  assert.equal(json.out, plain.out);
  const first = JSON.parse(json.out.split('\n')[0]) as { prompt: { ids: number[] }; chosen: { tokens: Array<{ id: number }> } };
  assert.ok(first.prompt.ids.length > 0);
  const rec = JSON.parse(readFileSync(fixture('trl-standard.jsonl'), 'utf8').split('\n')[0]) as { prompt: string };
  // the tiny GPT-2 vocabulary is bytes: the prompt's ids are its UTF-8 bytes
  assert.deepEqual(first.prompt.ids, [...Buffer.from(rec.prompt, 'utf8')]);
});
