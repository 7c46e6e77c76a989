import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalize, FieldError } from '../../src/core/formats/normalize.js';
import { formatOfRecord } from '../../src/core/formats/detect.js';
import { join } from 'node:path';
import { fixture, repoRoot, tempFile } from '../helpers.js';

const base = { index: 0, line: 1, offset: 0 };

test('detection by keys for every format', () => {
  assert.equal(formatOfRecord({ prompt: 'p', chosen: 'c', rejected: 'r' }), 'trl-standard');
  assert.equal(formatOfRecord({ prompt: [{ role: 'user', content: 'p' }], chosen: [{ role: 'assistant', content: 'c' }], rejected: [{ role: 'assistant', content: 'r' }] }), 'trl-conversational');
  assert.equal(formatOfRecord({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: c' }), 'hh');
  assert.equal(formatOfRecord({ conversations: [], chosen: {}, rejected: {} }), 'sharegpt');
  assert.equal(formatOfRecord({ chosen_messages: [], rejected_messages: [] }), 'sharegpt');
  assert.equal(formatOfRecord({ prompt: 'p', completion: 'c', label: true }), 'kto');
  assert.equal(formatOfRecord({ messages: [], label: false }), 'kto');
  assert.equal(formatOfRecord({ instruction: 'i', output_1: 'a', output_2: 'b', preference: 1 }), 'pairwise-index');
  assert.equal(formatOfRecord({ question: 'q', response_j: 'a', response_k: 'b' }), 'pairwise-index');
  assert.equal(formatOfRecord({ prompt: 'p', completions: [{ response: 'a', overall_score: 1 }] }), 'ranked');
  assert.equal(formatOfRecord({ message_tree_id: 'x', prompt: { text: 'p', role: 'prompter', replies: [] } }), 'ranked');
  assert.equal(formatOfRecord({ prompt: 'p', completions: ['a', 'b'], rewards: [1, 0] }), 'group');
  assert.equal(formatOfRecord({ foo: 1 }), null);
  assert.equal(formatOfRecord([1, 2]), null);
});

test('HH: prompt up to and including the last Assistant turn; the response keeps its leading space', () => {
  const [r] = normalize({ chosen: '\n\nHuman: hi\n\nAssistant: yo\n\nHuman: q\n\nAssistant: A!', rejected: '\n\nHuman: hi\n\nAssistant: yo\n\nHuman: q\n\nAssistant: B' }, 'hh', base);
  assert.equal(r.prompt, '\n\nHuman: hi\n\nAssistant: yo\n\nHuman: q\n\nAssistant:');
  assert.deepEqual(r.candidates.map((c) => c.text), [' A!', ' B']);
  assert.equal(r.rejectedPrompt, undefined);
});

test('HH: a different prompt in the rejected transcript is kept for the prompt-mismatch check', () => {
  const [r] = normalize({ chosen: '\n\nHuman: a\n\nAssistant: x', rejected: '\n\nHuman: b\n\nAssistant: y' }, 'hh', base);
  assert.equal(r.rejectedPrompt, '\n\nHuman: b\n\nAssistant:');
});

test('trl conversational implicit prompt: the shared prefix of the two conversations', () => {
  const [r] = normalize(
    {
      chosen: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }],
      rejected: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Go' }],
    },
    'trl-conversational',
    base,
  );
  assert.deepEqual(r.promptMessages, [{ role: 'user', content: 'Hi' }]);
  assert.deepEqual(r.candidates.map((c) => c.text), ['Hello', 'Go']);
});

test('sharegpt: system field and roles are mapped; typed content parts are joined', () => {
  const [r] = normalize(
    { system: 'S', conversations: [{ from: 'human', value: 'Q' }], chosen: { from: 'gpt', value: 'A' }, rejected: { from: 'gpt', value: 'B' } },
    'sharegpt',
    base,
  );
  assert.deepEqual(r.promptMessages, [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }]);
  const [v1] = normalize(
    {
      chosen_messages: [{ role: 'user', content: [{ type: 'text', value: 'Q' }] }, { role: 'assistant', content: [{ type: 'text', value: 'A' }] }],
      rejected_messages: [{ role: 'user', content: [{ type: 'text', value: 'Q' }] }, { role: 'assistant', content: [{ type: 'text', value: 'B' }] }],
    },
    'sharegpt',
    base,
  );
  assert.equal(v1.prompt, 'user: Q');
  assert.deepEqual(v1.candidates.map((c) => c.text), ['A', 'B']);
});

test('pairwise index: preference 2 makes output_2 chosen; 0 is a tie', () => {
  const [r] = normalize({ instruction: 'i', output_1: 'a', output_2: 'b', preference: 2 }, 'pairwise-index', base);
  assert.deepEqual(r.candidates.map((c) => [c.role, c.text]), [['chosen', 'b'], ['rejected', 'a']]);
  const [t] = normalize({ instruction: 'i', output_1: 'a', output_2: 'a', preference: 0 }, 'pairwise-index', base);
  assert.equal(t.tie, true);
});

test('KTO from messages: the trailing assistant turn is the completion', () => {
  const [r] = normalize({ messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }], label: false }, 'kto', base);
  assert.equal(r.label, false);
  assert.equal(r.candidates[0].text, 'A');
  assert.equal(r.prompt, 'user: Q');
});

test('ranked lists are ordered best first; groups keep reward columns', () => {
  const [r] = normalize({ prompt: 'p', completions: [{ response: 'a', overall_score: 1 }, { response: 'b', overall_score: 3 }] }, 'ranked', base);
  assert.deepEqual(r.candidates.map((c) => c.text), ['b', 'a']);
  const [g] = normalize({ prompt: 'p', completions: ['x', 'y'], reward_acc: [1, 0], reward_fmt: [0.5, 0.5] }, 'group', base);
  assert.deepEqual(g.candidates.map((c) => ({ ...c.rewards })), [{ reward_acc: 1, reward_fmt: 0.5 }, { reward_acc: 0, reward_fmt: 0.5 }]);
});

test('OpenAssistant trees: one ranked record per prompter message with fully ranked replies', () => {
  const tree = {
    message_tree_id: 't',
    prompt: {
      text: 'Q', role: 'prompter',
      replies: [
        { text: 'A1', role: 'assistant', rank: 1, replies: [{ text: 'follow', role: 'prompter', replies: [{ text: 'x', role: 'assistant', rank: 0 }, { text: 'y', role: 'assistant' }] }] },
        { text: 'A0', role: 'assistant', rank: 0, replies: [] },
      ],
    },
  };
  const recs = normalize(tree, 'ranked', base);
  assert.equal(recs.length, 1);
  assert.deepEqual(recs[0].candidates.map((c) => c.text), ['A0', 'A1']);
});

test('schema errors name the field', () => {
  const err = (f: () => unknown): FieldError => {
    try {
      f();
    } catch (e) {
      if (e instanceof FieldError) return e;
      throw e;
    }
    throw new Error('no error');
  };
  assert.equal(err(() => normalize({ prompt: 'p', chosen: 1, rejected: 'r' }, 'trl-standard', base)).field, 'chosen');
  assert.equal(err(() => normalize({ prompt: 'p', chosen: 'c' }, 'trl-standard', base)).field, 'rejected');
  assert.equal(err(() => normalize({ conversations: [{ from: 'human' }], chosen: { from: 'gpt', value: 'a' }, rejected: { from: 'gpt', value: 'b' } }, 'sharegpt', base)).field, 'conversations[0].value');
  assert.equal(err(() => normalize({ prompt: 'p', completions: ['a', 'b'], rewards: [1] }, 'group', base)).field, 'rewards');
});

test('UltraFeedback-binarized: a string prompt beside whole conversations — the user turn is the prompt, never scored as a response', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { readRecord } = await import('../../src/core/records.js');
  const file = fixture('ultrafeedback-binarized.jsonl');
  const scan = await scanFile(file, { workers: 1 });
  assert.equal(scan.format, 'trl-conversational');
  assert.equal(scan.errorCount, 0);
  const rec = readRecord(file, scan.index, 0, scan.format).record;
  assert.ok(rec);
  assert.deepEqual(rec.promptMessages, [{ role: 'user', content: 'What color is the sky?' }]);
  assert.deepEqual(rec.candidates[0].messages, [{ role: 'assistant', content: 'It is blue on a clear day.' }]);
  assert.deepEqual(rec.candidates[1].messages, [{ role: 'assistant', content: 'Green.' }]);
  assert.equal(rec.candidates[1].text, 'Green.');
});

test("TRL's implicit-prompt rule for strings: the space before the first difference goes to the completions", () => {
  const [r] = normalize({ chosen: 'The sky is blue.', rejected: 'The sky is green.' }, 'trl-standard', base);
  assert.equal(r.prompt, 'The sky is');
  assert.deepEqual(r.candidates.map((c) => c.text), [' blue.', ' green.']);
  const [q] = normalize({ chosen: 'Answer:yes', rejected: 'Answer:no' }, 'trl-standard', base);
  assert.equal(q.prompt, 'Answer:');
});

test('LLaMA-Factory alpaca preference rows: system, history turns, then instruction and input joined by a newline', () => {
  assert.equal(formatOfRecord({ instruction: 'x', input: '', chosen: 'a', rejected: 'b' }), 'alpaca');
  const rows = JSON.parse(readFileSync(fixture('alpaca-pref.json'), 'utf8')) as unknown[];
  const [a] = normalize(rows[0], 'alpaca', base);
  assert.deepEqual(a.promptMessages, [{ role: 'user', content: 'Translate to French.\nGood morning' }]);
  assert.deepEqual(a.candidates.map((c) => c.text), ['Bonjour', 'Bonsoir']);
  const [b] = normalize(rows[1], 'alpaca', base);
  assert.deepEqual(b.promptMessages, [
    { role: 'system', content: 'You are a storyteller.' },
    { role: 'user', content: 'Start a story.' },
    { role: 'assistant', content: 'Once upon a time...' },
    { role: 'user', content: 'Continue the story.' },
  ]);
  const [c] = normalize(rows[2], 'alpaca', base);
  assert.deepEqual(c.promptMessages, [{ role: 'user', content: 'Say hi.' }]);
  assert.throws(() => normalize({ instruction: 'x', chosen: 'a', rejected: 'b', history: [['q']] }, 'alpaca', base), (e: unknown) => e instanceof FieldError && e.field === 'history[0]');
});

test('kto_tag rows: a boolean label as LLaMA-Factory requires; anything else is an error on that line and field', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const scan = await scanFile(fixture('kto-tag.jsonl'), { workers: 1 });
  assert.equal(scan.format, 'kto');
  assert.equal(scan.records, 2);
  assert.deepEqual(scan.labels, { desirable: 1, undesirable: 1 });
  assert.deepEqual(scan.errors, [{ line: 3, field: 'kto_tag', message: 'field "kto_tag": expected true or false, got a string' }]);
});

test("TRL's prompt-only, prompt-completion and stepwise-supervision datasets: recognised, with their own checks", async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const po = await scanFile(fixture('prompt-only.jsonl'), { workers: 1, checks: { maxPromptLength: 64 } });
  assert.equal(po.format, 'prompt-only');
  assert.equal(po.records, 5);
  assert.deepEqual(po.checks.emptyPrompt, [3], 'an empty prompt: nothing to generate from');
  assert.deepEqual(po.checks.duplicate, [4], 'the same prompt twice');
  assert.deepEqual(po.checks.truncationRisk, [5], 'a prompt longer than max_prompt_length (GRPO)');
  assert.equal(po.lengths.prompt.tokens.count, 5);
  const pc = await scanFile(fixture('prompt-completion.jsonl'), { workers: 1 });
  assert.equal(pc.format, 'prompt-completion');
  assert.equal(pc.records, 3);
  assert.deepEqual(pc.checks.emptyPrompt, [3]);
  const sw = await scanFile(fixture('stepwise.jsonl'), { workers: 1 });
  assert.equal(sw.format, 'stepwise');
  assert.equal(sw.records, 2);
  assert.deepEqual(sw.errors, [{ line: 3, field: 'labels[0]', message: 'field "labels[0]": expected true or false, got a string' }]);
  const [rec] = normalize({ prompt: 'p', completions: ['a', 'b'], labels: [true, false] }, 'stepwise', base);
  assert.deepEqual(rec.candidates.map((c) => [c.text, c.label]), [['a', true], ['b', false]]);
  // A preference row with a missing field is still an error, not a prompt-only record.
  assert.equal(formatOfRecord({ prompt: 'p', chosen: 'a' }), null);
});

test('zero-variance groups as TRL decides them: the sum of the reward functions, and torch.isclose(std, 0)', async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const rows = [
    { prompt: 'p1', completions: ['a', 'b'], rewards: [0.1 + 0.2, 0.3] }, // equal up to float noise: no signal
    { prompt: 'p2', completions: ['a', 'b'], reward_acc: [1, 0], reward_fmt: [0, 1] }, // each function varies, the sums do not
    { prompt: 'p3', completions: ['a', 'b'], reward_acc: [1, 0], reward_fmt: [1, 0] },
    { prompt: 'p4', completions: ['a', 'b'], rewards: [0.3, 0.3 + 1e-6] },
  ];
  const file = tempFile('zv.jsonl', rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const r = await scanFile(file, { workers: 1 });
  assert.equal(r.format, 'group');
  assert.deepEqual(r.checks.zeroVarianceGroup, [1, 2]);
  // With TRL's reward_weights the weighted sums decide: reward_fmt at 0.5 gives line 2 signal (1 vs 0.5).
  const weighted = await scanFile(file, { workers: 1, checks: { rewardWeights: { reward_fmt: 0.5 } } });
  assert.deepEqual(weighted.checks.zeroVarianceGroup, [1]);
  // The CLI flag, and its usage error.
  const { spawnSync } = await import('node:child_process');
  const cli = (...a: string[]) => spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'stats', file, '--json', ...a], { encoding: 'utf8' });
  const out = cli('--reward-weights', 'reward_fmt=0.5');
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual((JSON.parse(out.stdout) as { checks: Record<string, number[]> }).checks.zeroVarianceGroup, [1]);
  assert.equal(cli('--reward-weights', 'reward_fmt').status, 2);
});

test("identical conversations are an identical pair, not an empty one: TRL's extract_prompt keeps the last common message as the completion", async () => {
  const { scanFile } = await import('../../src/core/scan/index.js');
  const conv = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }];
  const b = { index: 0, line: 1, offset: 0 };
  // implicit prompt (TRL conversational without a prompt), and UltraFeedback-binarized (a string prompt beside them)
  const [implicit] = normalize({ chosen: conv, rejected: conv }, 'trl-conversational', b);
  assert.deepEqual(implicit.promptMessages, [conv[0]]);
  assert.deepEqual(implicit.candidates.map((c) => c.text), ['Hello.', 'Hello.']);
  const [uf] = normalize({ prompt: 'Hi', prompt_id: 'x', chosen: conv, rejected: conv, messages: conv, score_chosen: 5, score_rejected: 5 }, 'trl-conversational', b);
  assert.deepEqual(uf.candidates.map((c) => c.text), ['Hello.', 'Hello.']);
  // one conversation the start of the other: the last common message opens both completions
  const [prefix] = normalize({ chosen: conv, rejected: [...conv, { role: 'user', content: 'More?' }, { role: 'assistant', content: 'No.' }] }, 'trl-conversational', b);
  assert.deepEqual(prefix.promptMessages, [conv[0]]);
  // plain text without a prompt: the last common character
  const [text] = normalize({ chosen: 'Same answer.', rejected: 'Same answer.' }, 'trl-standard', b);
  assert.deepEqual([text.prompt, text.candidates[0].text], ['Same answer', '.']);
  const f = tempFile('identical.jsonl', [JSON.stringify({ chosen: conv, rejected: conv }), JSON.stringify({ prompt: 'Hi', chosen: conv, rejected: conv, score_chosen: 1, score_rejected: 2 }), JSON.stringify({ chosen: 'Same answer.', rejected: 'Same answer.' })].join('\n') + '\n');
  const r = await scanFile(f, { index: false, inline: true });
  assert.deepEqual(r.checks.identical, [1, 2, 3]);
  assert.deepEqual(r.checks.emptyResponse, []);
});
