/**
 * The scan kernel's conversational records (src/wasm/scan/conv.ts, issue #20) against the JavaScript path: TRL
 * conversational files with an explicit prompt list, UltraFeedback-binarized rows (a string prompt beside two whole
 * conversations, prompt_id, messages, scores) and implicit prompts, full of what the kernel must read exactly or hand
 * back — every check, every length statistic, every index entry equal to the JavaScript-only scan's, with one thread
 * and with several workers; and the kernel must really read the records it is meant for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, statSync } from 'node:fs';
import { scanFile } from '../../src/core/scan/index.js';
import { RangeBuilder } from '../../src/core/scan/builder.js';
import { DEFAULT_CHECK_OPTIONS } from '../../src/core/checks/record.js';
import { assertKernelSameAsJavaScript, rng, tempFile } from '../helpers.js';
import { conversation, m, type Msg, response, text } from '../conv.js';


/** `v` with every string (not keys) passed through `f`. */
function deep(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => deep(x, f));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'role' ? x : deep(x, f)]));
  return v;
}

function generate(seed: number, records: number): string {
  const r = rng(seed);
  const out: string[] = [];
  const seen: Array<Record<string, unknown>> = [];
  const renorm = (s: string): string => s.replace(/[A-Za-z]/g, (c) => (r() < 0.3 ? c.toUpperCase() : c)).replace(/ /g, () => (r() < 0.2 ? ' \t ' : ' '));
  for (let i = 0; i < records; i++) {
    const prompt = conversation(r);
    const c = text(r, Math.floor(r() * 25));
    const rej = response(r, c);
    const kind = r();
    let rec: Record<string, unknown>;
    if (kind < 0.4) {
      // UltraFeedback-binarized
      const chosen = [...prompt, m('assistant', c)];
      let rejected = [...prompt, m('assistant', rej)];
      if (r() < 0.04) rejected = [m('user', 'another prompt'), m('assistant', rej)]; // own prompts differ
      if (r() < 0.03) rejected = [...chosen]; // the same conversation
      // the hub's Parquet-born files list content before role
      const flip = r() < 0.5 ? (ms: Msg[]): Msg[] => ms.map((x) => ({ content: x.content, role: x.role })) : (ms: Msg[]): Msg[] => ms;
      rec = { prompt: (prompt.find((x) => x.role === 'user')?.content as string) ?? '', prompt_id: `${i}`.padStart(64, '0'), chosen: flip(chosen), rejected: flip(rejected), messages: chosen };
      const s = r();
      if (s < 0.6) {
        rec.score_chosen = Math.floor(r() * 10);
        rec.score_rejected = r() < 0.2 ? rec.score_chosen : Math.floor(r() * 10) + (r() < 0.3 ? 0.5 : 0);
      } else if (s < 0.65) rec.score_chosen = null;
      else if (s < 0.68) rec.score_chosen = '8.0'; // a numeric string: the exact path reads it
    } else if (kind < 0.75) {
      rec = { prompt, chosen: [m('assistant', c)], rejected: [m('assistant', rej)] };
      if (r() < 0.05) (rec.chosen as Msg[]).push(m('user', 'and?'), m('assistant', 'more')); // a response of several turns
      if (r() < 0.04) (rec.rejected as Msg[]).push(m('assistant', r() < 0.5 ? rej : `${rej}\n`)); // two assistant turns in a row
      if (r() < 0.03) rec.rejected = [m('assistant', (rec.chosen as Msg[]).map((x) => x.content).join('\n\n'))]; // one turn that reads as several
      if (r() < 0.03) rec.rejected = [];
      if (r() < 0.05) rec.id = r() < 0.5 ? i : { source: 'x', tags: ['a', 1.5e-3, true, null, { deep: [[[]]] }] };
    } else if (kind < 0.9) {
      // implicit prompt, no prompt key (Tulu, torchtune's HH)
      rec = { chosen: [...prompt, m('assistant', c)], rejected: [...prompt, m('assistant', rej)] };
      if (r() < 0.3) rec.source = 'tulu';
    } else if (kind < 0.93) rec = { prompt, chosen: [m('assistant', c, { name: 'bot', tool_calls: [] })], rejected: [m('gpt', rej)] };
    else if (kind < 0.95) rec = { prompt: [m('human', 'hi'), m('tool', 'out')], chosen: [m('assistant', c)], rejected: [m('assistant', rej)] };
    else if (kind < 0.97) rec = { prompt, chosen: [m('assistant', [{ type: 'text', text: c }])], rejected: [m('assistant', rej)] }; // content parts
    else rec = { prompt, chosen: [{ from: 'gpt', value: c }], rejected: [m('assistant', rej)] };
    // duplicates, normalised duplicates and contradictions of earlier records
    const d = r();
    if (d < 0.06 && seen.length) rec = seen[Math.floor(r() * seen.length)];
    else if (d < 0.1 && seen.length) rec = deep(seen[Math.floor(r() * seen.length)], renorm) as Record<string, unknown>;
    else if (d < 0.14 && seen.length) {
      const o = seen[Math.floor(r() * seen.length)];
      rec = { ...o, chosen: o.rejected, rejected: o.chosen };
    }
    seen.push(rec);
    let line = r() < 0.15 ? JSON.stringify(rec, null, 1).replace(/\n/g, ' ') : r() < 0.3 ? JSON.stringify(rec).replace(/":/g, '": ').replace(/,"/g, ', "') : JSON.stringify(rec);
    // spellings the kernel must hand back or read: \/ and \u escapes, duplicate keys, keys it does not know, bad JSON
    const s = r();
    if (s < 0.02) line = line.replace('/', '\\/');
    else if (s < 0.04) line = line.replace('é', '\\u00e9');
    else if (s < 0.05) line = line.replace('"role"', '"\\u0072ole"');
    else if (s < 0.06) line = line.replace('{"prompt"', '{"chosen":[],"prompt"');
    else if (s < 0.07) line = line.replace(/}$/, ',"tools":[]}');
    else if (s < 0.08) line = line.replace(/}$/, ',"chat_template_kwargs":{"enable_thinking":false}}');
    else if (s < 0.09) line = line.replace(/}$/, ',"x":01}');
    else if (s < 0.1) line = line.replace(/}$/, ',"x":tru}');
    else if (s < 0.11) line = line.replace(/}$/, ',"x":[1,]}');
    else if (s < 0.12) line = line.replace(/}$/, ',"x":-1.5E+3}');
    else if (s < 0.13) line = line.replace(/}$/, ',"x":"\\ud800"}');
    else if (s < 0.14) line = line.replace(/}$/, ',"score_chosen":1e400}');
    else if (s < 0.15) line = line.slice(0, Math.floor(line.length / 2));
    else if (s < 0.16) line = line + '  ';
    out.push(line + (r() < 0.1 ? '\r\n' : '\n'));
  }
  return out.join('');
}

test('kernel = JavaScript path on generated conversational files (TRL, UltraFeedback-binarized, implicit prompts) with every hard case (3 seeds)', async () => {
  for (const seed of [1, 2, 3]) {
    const p = tempFile(`conv-${seed}.jsonl`, generate(seed, 1500));
    const s = await scanFile(p, { workers: 1 });
    assert.equal(s.format, 'trl-conversational');
    assert.ok(s.records > 1000 && s.errorCount > 10, `seed ${seed}: ${s.records} records, ${s.errorCount} errors`);
    await assertKernelSameAsJavaScript(p, `seed ${seed}`);
  }
});

test('the kernel itself reads conversational lines (none handed back), and hands back what it must', () => {
  const count = (lines: string[]): { fast: number; slow: number } => {
    const file = tempFile('conv-count.jsonl', lines.join('\n') + '\n');
    const b = new RangeBuilder('trl-conversational', DEFAULT_CHECK_OPTIONS);
    let slow = 0;
    const fd = openSync(file, 'r');
    try {
      b.kernel.scanLines(fd, 0, statSync(file).size, () => slow++, () => undefined);
    } finally {
      closeSync(fd);
    }
    b.kernel.drain();
    return { fast: b.count, slow };
  };
  const uf = JSON.stringify({ prompt: 'Hi?', prompt_id: 'ab', chosen: [m('user', 'Hi?'), m('assistant', 'Hello.')], rejected: [m('user', 'Hi?'), m('assistant', 'Go away.')], messages: [m('user', 'Hi?'), m('assistant', 'Hello.')], score_chosen: 8.5, score_rejected: 3 });
  const trl = JSON.stringify({ prompt: [m('system', 'Be brief.'), m('user', 'Why "x"?\nSay.')], chosen: [m('assistant', 'Because — café 😀.')], rejected: [m('assistant', 'No.')] });
  const implicit = JSON.stringify({ chosen: [m('user', 'a'), m('assistant', 'b')], rejected: [m('user', 'a'), m('assistant', 'c')], source: { n: [1, -2.5e3, true, null] } });
  const severalTurns = JSON.stringify({ prompt: [m('user', 'x')], chosen: [m('assistant', 'a'), m('user', 'b'), m('assistant', 'c')], rejected: [m('assistant', 'b')] });
  const ownPrompts = JSON.stringify({ chosen: [m('user', 'q'), m('assistant', 'a')], rejected: [m('user', 'other q'), m('assistant', 'b')] }); // promptMismatch
  assert.deepEqual(count([uf, trl, implicit, severalTurns, ownPrompts]), { fast: 5, slow: 0 });
  const back = [
    JSON.stringify({ prompt: [m('tool', 'x')], chosen: [m('assistant', 'a')], rejected: [m('assistant', 'b')] }), // a role it does not know
    JSON.stringify({ prompt: [m('user', 'x')], chosen: [m('assistant', [{ type: 'text', text: 'a' }])], rejected: [m('assistant', 'b')] }), // content parts
    JSON.stringify({ prompt: 'p', chosen: [m('user', 'p'), m('assistant', 'a')], rejected: [m('user', 'p'), m('assistant', 'b')], score_chosen: '8' }), // a numeric string
    // a response of several turns whose newlines could hide a join ("a\n\n" + "b" against "a" + "\nb"…)
    JSON.stringify({ prompt: [m('user', 'x')], chosen: [m('assistant', 'a\n'), m('assistant', 'b')], rejected: [m('assistant', 'a\n\nb')] }),
  ];
  assert.deepEqual(count(back), { fast: 0, slow: 4 });
});

test('conversational scores: UltraFeedback\'s score_chosen/score_rejected feed scoreTie and scoreInversion (kernel = JavaScript path)', async () => {
  const row = (sc: unknown, sr: unknown): string => JSON.stringify({ prompt: 'q', chosen: [m('user', 'q'), m('assistant', 'a')], rejected: [m('user', 'q'), m('assistant', 'b b b b b b')], score_chosen: sc, score_rejected: sr });
  const p = tempFile('conv-scores.jsonl', [row(8, 3), row(5, 5), row(2.5, 7.25), row(0.1, 0.1), row(1e-3, 0.001), row(-0, 0), row(null, 3), row(7, 1e2)].join('\n') + '\n');
  const s = await scanFile(p, { workers: 1 });
  assert.deepEqual(s.checks.scoreTie, [2, 4, 5, 6]);
  assert.deepEqual(s.checks.scoreInversion, [3, 8]);
  await assertKernelSameAsJavaScript(p, 'scores');
});
