/** TensorBoard event files (src/core/runs/tfevents.ts) and runs that have them (issue #13, item 1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { crc32c, readEventFile } from '../../src/core/runs/tfevents.js';
import { parseRun } from '../../src/core/runs/runs.js';
import { eventBytes, frame } from '../tfevents.js';
import { repoRoot } from '../helpers.js';

test('CRC-32C is Castagnoli (the standard check value of "123456789" is 0xE3069283)', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

test('scalars (simple_value and TF2 tensors), text settings; a corrupt record and a truncated tail are reported with their offsets and the rest is read', () => {
  const args = JSON.stringify({ learning_rate: 5e-7, beta: 0.1, output_dir: 'runs/dpo' });
  const records = [
    frame(eventBytes(0, [])),
    frame(eventBytes(0, [{ tag: 'args/text_summary', text: args }])),
    frame(eventBytes(5, [{ tag: 'train/loss', simple: 0.69 }, { tag: 'train/rewards/margins', tensor: 0.01 }])),
    frame(eventBytes(10, [{ tag: 'train/loss', simple: 0.6 }, { tag: 'train/rewards/margins', tensor: 0.2, as: 'float_val' }])),
    frame(eventBytes(15, [{ tag: 'train/loss', simple: 0.5 }])), // corrupted below
    frame(eventBytes(20, [{ tag: 'train/loss', simple: 0.4 }, { tag: 'eval/rewards/accuracies', tensor: 0.75, as: 'double' }])),
  ];
  const corruptAt = records.slice(0, 4).reduce((s, r) => s + r.length, 0);
  records[4][20] ^= 0xff;
  const tail = frame(eventBytes(25, [{ tag: 'train/loss', simple: 0.3 }]));
  const whole = concat([...records, tail.subarray(0, tail.length - 7)]);
  const tailAt = whole.length - (tail.length - 7);
  const dir = mkdtempSync(join(tmpdir(), 'preflens-tb-'));
  const file = join(dir, 'events.out.tfevents.1700000000.host.1.0');
  writeFileSync(file, whole);
  const r = readEventFile(file);
  assert.deepEqual(r.scalars.get('train/loss'), [[5, Math.fround(0.69)], [10, Math.fround(0.6)], [20, Math.fround(0.4)]]);
  assert.deepEqual(r.scalars.get('train/rewards/margins'), [[5, Math.fround(0.01)], [10, Math.fround(0.2)]]);
  assert.deepEqual(r.scalars.get('eval/rewards/accuracies'), [[20, 0.75]]);
  assert.equal(r.texts.get('args'), args);
  assert.deepEqual(r.problems.map((p) => [p.offset, p.message.split(':')[0]]), [[corruptAt, 'corrupt record'], [tailAt, 'truncated record']]);
  assert.equal(r.end, tailAt);
  // A growing file: the cut-off record is not a problem, and the next read starts where this one ended.
  const live = readEventFile(file, 0, true);
  assert.equal(live.problems.length, 1);
  writeFileSync(file, concat([whole.subarray(0, tailAt), tail]));
  const next = readEventFile(file, live.end, true);
  assert.deepEqual(next.scalars.get('train/loss'), [[25, Math.fround(0.3)]]);
  // A damaged length: reading resynchronises on the next valid record.
  const bad = concat([frame(eventBytes(1, [{ tag: 'a', simple: 1 }])), frame(eventBytes(2, [{ tag: 'a', simple: 2 }])), frame(eventBytes(3, [{ tag: 'a', simple: 3 }]))]);
  const second = frame(eventBytes(1, [{ tag: 'a', simple: 1 }])).length;
  bad[second + 2] ^= 0x40; // the second record's length
  writeFileSync(file, bad);
  const rs = readEventFile(file);
  assert.deepEqual(rs.scalars.get('a'), [[1, 1], [3, 3]]);
  assert.match(rs.problems[0].message, /length's CRC does not match/);
  assert.equal(rs.problems[0].offset, second);
});

test('a run with only TensorBoard logs (runs/<name>/events.out.tfevents.*), and one beside trainer_state.json: curves merged, settings, preflens run --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-tbrun-'));
  mkdirSync(join(dir, 'runs', 'Nov29_12-00-00_host'), { recursive: true });
  const ev = [frame(eventBytes(0, [])), frame(eventBytes(0, [{ tag: 'args/text_summary', text: '{"beta": 0.1}' }, { tag: 'model_config/text_summary', text: '{"model_type": "qwen2"}' }]))];
  for (let s = 1; s <= 12; s++) ev.push(frame(eventBytes(s * 10, [{ tag: 'train/loss', simple: 0.7 - s * 0.02 }, { tag: 'train/rewards/margins', simple: s * 0.05 }, { tag: 'train/logps/chosen', simple: -100 - s * 4 }, { tag: 'train/logps/rejected', simple: -120 - s }])));
  writeFileSync(join(dir, 'runs', 'Nov29_12-00-00_host', 'events.out.tfevents.1.host.1.0'), concat(ev));
  const r = parseRun(dir);
  assert.equal(r.format, 'tensorboard');
  assert.equal(r.trainer, 'dpo');
  assert.equal(r.steps, 120);
  assert.equal(r.series.loss.length, 12);
  assert.deepEqual({ ...r.settings }, { args: '{"beta": 0.1}', model_config: '{"model_type": "qwen2"}' });
  assert.ok(r.checks.some((c) => c.id === 'likelihood-displacement'), 'run checks apply to TensorBoard curves');
  // Beside trainer_state.json (written at checkpoints only): its steps stay, the event files add the later ones.
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ global_step: 60, log_history: [{ step: 60, loss: 0.5, epoch: 0.5 }] }));
  const both = parseRun(dir);
  assert.equal(both.format, 'trainer_state');
  assert.equal(both.series.loss.length, 12);
  assert.deepEqual(both.series.loss.find((x) => x[0] === 60), [60, 0.5]);
  const cli = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'run', dir, '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const j = JSON.parse(cli.stdout) as { eventFiles: string[]; settings: Record<string, string>; problems: unknown[]; epochs: Array<[number, number]> };
  assert.equal(j.eventFiles.length, 1);
  assert.deepEqual(j.epochs, [[60, 0.5]], 'the step → epoch map, for an x-axis by epoch');
  assert.equal(j.settings.args, '{"beta": 0.1}');
  assert.deepEqual(j.problems, []);
  // Several runs: {"runs": [one object each]}, in the order given.
  const two = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'run', dir, join(repoRoot, 'test', 'fixtures', 'runs', 'collapse'), '--json'], { encoding: 'utf8' });
  assert.equal(two.status, 0, two.stderr);
  const runs = (JSON.parse(two.stdout) as { runs: Array<{ dir: string; checks: Array<{ id: string }> }> }).runs;
  assert.equal(runs.length, 2);
  assert.equal(runs[0].dir, dir);
  assert.ok(runs[1].checks.some((c) => c.id === 'collapse'));
});
