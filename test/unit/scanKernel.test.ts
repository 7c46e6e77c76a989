/**
 * The WebAssembly scan kernel (src/wasm/scanKernel.ts, driven by src/core/fastScan.ts) against the JavaScript path
 * it replaces: on generated files full of what the kernel must get exactly right or hand back (escapes, Unicode,
 * control characters, invalid UTF-8 and JSON, duplicates that differ only in case and spacing, contradictions,
 * low-separation pairs, CRLF, blank lines, lines across its 8 MB input buffer), the scan result — every check,
 * every length statistic, every index entry — must equal the JavaScript-only scan's, with one thread and with
 * several workers. And the kernel must really take the lines it is meant for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, statSync } from 'node:fs';
import { scanFile } from '../../src/core/scan/index.js';
import { RangeBuilder } from '../../src/core/scan/builder.js';
import * as L from '../../src/core/kernels/layout.js';
import { CHECK_BITS } from '../../src/core/checks/table.js';
import { FORMAT_NAMES } from '../../src/core/types.js';
import { KIND_CODES, ROW_FLOATS, ROW_INTS, RowFloat, RowInt } from '../../src/core/checks/record.js';
import { LengthSeries } from '../../src/core/scan/types.js';
import { DEFAULT_CHECK_OPTIONS } from '../../src/core/checks/record.js';
import { analyzeText, normalizedHash, textSignature } from '../../src/core/checks/text.js';
import { assertKernelSameAsJavaScript, comparableScan, fixture, rng, scanWorkerScript, tempFile } from '../helpers.js';


// Pieces of text: plain words, case and spacing variants, punctuation, escapes JSON.stringify writes (\n \t \" \\
// and \u00XX for control characters), and Unicode the kernel decodes itself (2-, 3- and 4-byte UTF-8, U+FFFD,
// C1 controls, Unicode spaces, CJK).
const PIECES = [
  'the', 'model', 'Answer', 'QUESTION', 'is', 'a', 'good', 'one', 'x_1', '42', 'don\'t', 'e.g.', '(yes)', '"quoted"',
  'back\\slash', 'tab\there', 'line\nbreak', '  ', ' ', '\t', '\n\n', 'café', 'naïve', 'Ünïcödé', '中文字', 'カタカナ',
  '한국어', '😀', '𝔘𝔫𝔦', '\uFFFD', '\u0085', '\u00A0', '\u3000', '\u2028', '\u0001', '\u007F', '/', '—', '“x”', '…',
];

function text(r: () => number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) {
    const p = r() < 0.7 ? PIECES[Math.floor(r() * 9)] : PIECES[Math.floor(r() * PIECES.length)];
    s += (i > 0 && r() < 0.85 ? ' ' : '') + p;
  }
  return s;
}

/** A variant that normalises to the same text: other ASCII case and whitespace runs. */
function renormalised(s: string, r: () => number): string {
  return s.replace(/[A-Za-z]/g, (c) => (r() < 0.3 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).replace(/ /g, () => (r() < 0.2 ? ' \t ' : ' '));
}

function generate(seed: number, records: number): string {
  const r = rng(seed);
  const out: string[] = [];
  const hh: Array<{ chosen: string; rejected: string }> = [];
  for (let i = 0; i < records; i++) {
    const kind = r();
    let line: string;
    if (kind < 0.55) {
      // Anthropic HH transcripts
      let prompt = '';
      for (let t = 0, n = 1 + Math.floor(r() * 3); t < n; t++) prompt += `\n\nHuman: ${text(r, 3 + Math.floor(r() * 30))}\n\nAssistant:` + (t < n - 1 ? ` ${text(r, 2 + Math.floor(r() * 20))}` : '');
      const c = ` ${text(r, Math.floor(r() * 25))}`;
      const v = r();
      let rej: string;
      if (v < 0.05) rej = c; // identical
      else if (v < 0.15) rej = c.replace(/(\S+)(\s*)$/, (_m, w: string, sp: string) => (r() < 0.5 ? `${w} extra${sp}` : `other${sp}`)); // low separation
      else if (v < 0.2) rej = ' '; // empty response
      else rej = ` ${text(r, Math.floor(r() * 25))}`;
      let rec = { chosen: prompt + c, rejected: (r() < 0.05 ? prompt.replace('Human:', 'Human: hm') : prompt) + rej };
      const d = r();
      if (d < 0.08 && hh.length > 0) rec = hh[Math.floor(r() * hh.length)]; // exact duplicate, anywhere earlier
      else if (d < 0.12 && hh.length > 0) {
        const o = hh[Math.floor(r() * hh.length)];
        rec = { chosen: renormalised(o.chosen, r), rejected: renormalised(o.rejected, r) }; // normalised duplicate
      } else if (d < 0.16 && hh.length > 0) {
        const o = hh[Math.floor(r() * hh.length)];
        rec = { chosen: o.rejected, rejected: o.chosen }; // contradiction
      } else if (d < 0.18) rec = { chosen: rec.chosen, rejected: rej }; // rejected without an Assistant turn
      hh.push(rec);
      line = r() < 0.1 ? JSON.stringify({ rejected: rec.rejected, chosen: rec.chosen }) : JSON.stringify(rec);
    } else if (kind < 0.85) {
      const rec: Record<string, unknown> = { prompt: text(r, 1 + Math.floor(r() * 40)), chosen: text(r, Math.floor(r() * 30)), rejected: text(r, Math.floor(r() * 30)) };
      if (r() < 0.05) rec.score_chosen = Math.floor(r() * 10);
      if (r() < 0.05) rec.id = `r${i}`;
      line = JSON.stringify(rec);
    } else if (kind < 0.9) line = JSON.stringify({ prompt: 'p', completion: text(r, 5), label: r() < 0.5 });
    else if (kind < 0.93) line = '{"prompt": "p", "chosen": "c", "rejected": "r"'; // truncated
    else if (kind < 0.95) line = '';
    else line = JSON.stringify({ prompt: text(r, 4), chosen: text(r, 4), rejected: text(r, 4), chosen2: 'x' });
    // Spellings the kernel must hand back: \/ and \u escapes of ordinary characters, duplicate keys.
    const s = r();
    if (s < 0.03) line = line.replace('/', '\\/');
    else if (s < 0.06) line = line.replace('é', '\\u00e9');
    else if (s < 0.07) line = line.replace('{"chosen"', '{"chosen":"dup","chosen"');
    else if (s < 0.08) line = line + '  ';
    out.push(line + (r() < 0.1 ? '\r\n' : '\n'));
  }
  return out.join('');
}

test('kernel = JavaScript path on generated HH / TRL files with every hard case (3 seeds)', async () => {
  for (const seed of [1, 2, 3]) {
    const p = tempFile(`gen-${seed}.jsonl`, generate(seed, 1500));
    await assertKernelSameAsJavaScript(p, `seed ${seed}`);
    // The file's format forced the other way: every HH line goes back to JavaScript.
    const forced = comparableScan(await scanFile(p, { format: 'trl-standard', workers: 1 }));
    assert.deepEqual(forced, comparableScan(await scanFile(p, { format: 'trl-standard', exactOnly: true, workers: 1 })), `seed ${seed}: --format trl-standard`);
  }
});

test('kernel = JavaScript path on a 24 MB file (lines across the 8 MB input buffer, a line longer than it)', async () => {
  const big = generate(9, 40000);
  const long = JSON.stringify({ chosen: `\n\nHuman: hi\n\nAssistant: ${'word '.repeat(2_000_000)}`, rejected: '\n\nHuman: hi\n\nAssistant: no' });
  const p = tempFile('big.jsonl', big + long + '\n' + big.slice(0, 200000).replace(/\n[^\n]*$/, '\n'));
  assert.ok(statSync(p).size > 24e6);
  await assertKernelSameAsJavaScript(p, '24 MB');
});

test('the kernel itself reads HH and TRL standard lines (none handed back), and hands back what it must', () => {
  const count = (file: string, format: 'hh' | 'trl-standard'): { fast: number; slow: number } => {
    const b = new RangeBuilder(format, DEFAULT_CHECK_OPTIONS);
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
  assert.deepEqual(count(fixture('hh.jsonl'), 'hh'), { fast: 3, slow: 0 });
  const lines = [
    '{"prompt":"Why?","chosen":"Because.","rejected":"No."}',
    '{"prompt": "a", "chosen": "b\\nc", "rejected": "d \\"e\\""}',
    '{"prompt":"p","chosen":"c","rejected":"r","score_chosen":1}', // a number: JavaScript
    '{"prompt":"p\\u0041","chosen":"c","rejected":"r"}', // a \u escape: JavaScript
  ].map((l) => Buffer.from(l + '\n'));
  const invalidUtf8 = Buffer.concat([Buffer.from('{"prompt":"caf'), Buffer.from([0xc3]), Buffer.from('","chosen":"c","rejected":"r"}\n')]);
  const trl = tempFile('trl.jsonl', Buffer.concat([...lines, invalidUtf8]));
  assert.deepEqual(count(trl, 'trl-standard'), { fast: 2, slow: 3 });
});

test('texts that normalise alike have equal normalised hashes and equal signatures', () => {
  const r = rng(5);
  for (let i = 0; i < 2000; i++) {
    const s = text(r, Math.floor(r() * 30));
    const v = renormalised(s, r);
    assert.equal(normalizedHash(v), normalizedHash(s));
    assert.equal(analyzeText(v).sig, analyzeText(s).sig, JSON.stringify([s, v]));
  }
  assert.notEqual(analyzeText('a b').sig, analyzeText('ab').sig);
  assert.notEqual(textSignature(3, 10, 100), textSignature(3, 10, 101));
});

test('length statistics (counts per value in the kernel, values ≥ 2¹⁶ listed) equal a sort of the known lengths', async () => {
  const r = rng(11);
  const prompts: number[] = [];
  const chosen: number[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // "w " repeated k times: 2k characters, k word tokens; some beyond 65,536 characters.
    const k = r() < 0.02 ? 40000 + Math.floor(r() * 30000) : Math.floor(r() * 300);
    const c = Math.floor(r() * 50);
    prompts.push(k);
    chosen.push(c);
    lines.push(JSON.stringify({ prompt: 'w '.repeat(k), chosen: 'x '.repeat(c), rejected: 'y' }));
  }
  const p = tempFile('lengths.jsonl', lines.join('\n') + '\n');
  const expect = (ks: number[], scale: number): Record<string, number> => {
    const v = ks.map((k) => k * scale).sort((a, b) => a - b);
    const q = (x: number): number => v[Math.min(v.length - 1, Math.floor(x * (v.length - 1) + 0.5))];
    return { count: v.length, mean: Math.round((v.reduce((s, x) => s + x, 0) / v.length) * 100) / 100, min: v[0], p50: q(0.5), p95: q(0.95), max: v[v.length - 1] };
  };
  for (const options of [{ workers: 1 }, { workers: 3, parallelThreshold: 0, workerScript: scanWorkerScript }, { workers: 1, exactOnly: true }]) {
    const res = await scanFile(p, options);
    assert.deepEqual(res.lengths.prompt.chars, expect(prompts, 2), JSON.stringify(options));
    assert.deepEqual(res.lengths.prompt.tokens, expect(prompts, 1));
    assert.deepEqual(res.lengths.chosen.chars, expect(chosen, 2));
    assert.deepEqual(res.lengths.chosen.tokens, expect(chosen, 1));
  }
});

test('the kernel layout: the codes the kernel writes are the engine\'s, every slot has its own place', () => {
  assert.equal(L.BIT_IDENTICAL, CHECK_BITS.identical);
  assert.equal(L.BIT_EMPTY, CHECK_BITS.emptyResponse);
  assert.equal(L.BIT_PROMPT_MISMATCH, CHECK_BITS.promptMismatch);
  assert.equal(L.BIT_LOW_SEPARATION, CHECK_BITS.lowSeparation);
  assert.equal(L.BIT_TRUNCATION, CHECK_BITS.truncationRisk);
  assert.equal(L.BIT_ENCODING, CHECK_BITS.encoding);
  assert.equal(FORMAT_NAMES[L.FORMAT_HH], 'hh');
  assert.equal(FORMAT_NAMES[L.FORMAT_TRL_STANDARD], 'trl-standard');
  assert.equal(L.AGG_SLOTS, L.AGG_FORMATS + FORMAT_NAMES.length, 'one aggregate slot per format');
  const distinct = (prefix: string, size: number): void => {
    const v = Object.entries(L).filter(([k]) => k.startsWith(prefix)).map(([, x]) => x as number);
    assert.equal(new Set(v).size, v.length, `${prefix}* are distinct`);
    assert.ok(v.every((x) => x >= 0 && x < size), `${prefix}* fit in ${size}`);
  };
  distinct('CFG_', L.CFG_WORDS + 1);
  distinct('ROW_I_', L.ROW_I_STRIDE + 1);
  distinct('ROW_F_', L.ROW_F_STRIDE + 1);
  distinct('LS_', L.SERIES);
  assert.equal(Object.keys(RowInt).length, ROW_INTS);
  assert.equal(Object.keys(RowFloat).length, ROW_FLOATS);
  assert.equal(Object.keys(LengthSeries).length, L.SERIES);
  assert.deepEqual([...KIND_CODES].slice(0, 2), ['pair', 'unpaired'], 'the kernel writes kind 0 for pairs, 1 for KTO; every other kind counts in the candidate series');
});

test('the key routines (radix sort of fingerprints, repeated values, the values two sorted lists share) equal a plain JavaScript computation', async () => {
  const { KeyKernel } = await import('../../src/core/scan/kernel.js');
  const kk = new KeyKernel();
  const rand = rng(7);
  for (const n of [0, 1, 5, 4096, 200000]) {
    // 53-bit keys, a third of them repeated, some negative (no key), some equal to the other list's
    const keys = new Float64Array(n);
    const other = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = i > 2 && rand() < 0.3 ? keys[Math.floor(rand() * i)] : rand() < 0.05 ? -1 : Math.floor(rand() * 2 ** 53);
      other[i] = rand() < 0.2 ? keys[i] : Math.floor(rand() * 2 ** 53);
    }
    const fps = (k: Float64Array, skip?: Float64Array): number[] => [...k].filter((x, i) => x >= 0 && !(skip && skip[i] === x)).map((x) => x % 2 ** 32).sort((a, b) => a - b);
    const a = kk.sortedFingerprints(keys);
    assert.deepEqual([...a], fps(keys), `sorted, n = ${n}`);
    const b = kk.sortedFingerprints(other, keys);
    assert.deepEqual([...b], fps(other, keys), `sorted without equal keys, n = ${n}`);
    const count = new Map<number, number>();
    for (const x of a) count.set(x, (count.get(x) ?? 0) + 1);
    assert.deepEqual([...kk.repeated(a)], [...count].filter(([, c]) => c > 1).map(([x]) => x), `repeated, n = ${n}`);
    const inB = new Set(b);
    assert.deepEqual([...kk.common(a, b)], [...new Set(a)].filter((x) => inB.has(x)), `common, n = ${n}`);
    assert.deepEqual([...kk.common(b, a)], [...new Set(b)].filter((x) => count.has(x)), `common the other way, n = ${n}`);
  }
});
