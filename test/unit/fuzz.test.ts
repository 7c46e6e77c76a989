/**
 * Mutation fuzzer for the line index, format detection, normalisation and checks, over the project's fixtures and
 * the real files of ../shared/data. Properties: the engine never throws (an empty result is an InputError), every
 * mutated line is either read or reported with its line number, every untouched good line is still read, and the
 * WebAssembly kernel's result equals the JavaScript-only scan's.
 * PREFLENS_FUZZ_CASES sets the number of cases (default 200 here; e.g. 20000 for a long run on demand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { scanFile } from '../../src/core/scan/index.js';
import { InputError } from '../../src/core/errors.js';
import { readRecord } from '../../src/core/records.js';
import { comparableScan, fixture, shared, repoRoot, rng } from '../helpers.js';

const CASES = Number(process.env.PREFLENS_FUZZ_CASES ?? 200);
const workerScript = join(repoRoot, 'out', 'src', 'workers', 'scanWorker.js');

function bases(): Array<{ name: string; lines: Buffer[] }> {
  const files = ['trl-standard.jsonl', 'trl-conversational.jsonl', 'hh.jsonl', 'kto.jsonl', 'ranked.jsonl', 'group.jsonl'].map(fixture);
  for (const p of ['data/hh-harmless/dev.jsonl', 'data/oasst/en_100_tree.jsonl', 'data/llamafactory/v1_dpo_demo.jsonl']) if (existsSync(join(shared, p))) files.push(join(shared, p));
  return files.map((f) => {
    const all = readFileSync(f);
    const lines: Buffer[] = [];
    let s = 0;
    for (let i = 0; i <= all.length; i++) if (i === all.length || all[i] === 0x0a) {
      if (i > s) lines.push(all.subarray(s, i));
      s = i + 1;
    }
    return { name: f, lines: lines.slice(0, 60) };
  });
}

type Mutation = (b: Buffer, r: () => number, others: Buffer[]) => Buffer;
const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, Math.floor(r() * b.length)),
  byteFlip: (b, r) => {
    const c = Buffer.from(b);
    for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
      const i = Math.floor(r() * c.length);
      const v = Math.floor(r() * 256);
      c[i] = v === 0x0a ? 0x20 : v;
    }
    return c;
  },
  invalidUtf8: (b, r) => {
    const i = Math.floor(r() * b.length);
    return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xfe, 0xc3]), b.subarray(i)]);
  },
  hugeNumber: (b) => Buffer.from(b.toString('latin1').replace(/"([a-z_]+)": (-?\d+(\.\d+)?|true|false|"[^"]{0,20}")/, '"$1": 1e999'), 'latin1'),
  deepNesting: (_b, r) => {
    const n = 1000 + Math.floor(r() * 20000);
    return Buffer.from('{"prompt": ' + '['.repeat(n) + ']'.repeat(n) + ', "chosen": "a", "rejected": "b"}');
  },
  duplicateKeys: (b) => Buffer.from(b.toString('latin1').replace(/^\{/, '{"chosen": 12, "rejected": [1], '), 'latin1'),
  wrongType: (b, r) => Buffer.from(b.toString('latin1').replace(/: "(?:[^"\\]|\\.)*"/, [': 42', ': null', ': {"x": 1}', ': [1, 2]', ': true'][Math.floor(r() * 5)]), 'latin1'),
  nulBytes: (b, r) => {
    const i = Math.floor(r() * b.length);
    return Buffer.concat([b.subarray(0, i), Buffer.from([0, 0, 0]), b.subarray(i)]);
  },
  otherFormat: (_b, r, others) => others[Math.floor(r() * others.length)] ?? Buffer.from('{}'),
  garbage: (_b, r) => Buffer.from(Array.from({ length: 1 + Math.floor(r() * 100000) }, () => 32 + Math.floor(r() * 90)).map((c) => (c === 0x0a ? 0x20 : c))),
  emptyObject: () => Buffer.from('{}'),
  topLevelArray: () => Buffer.from('[{"prompt": "p", "chosen": "c", "rejected": "r"}]'),
};

test(`fuzz: ${CASES} mutated files: never throws, bad lines reported, good lines read, kernel = JavaScript path`, async () => {
  const r = rng(20261129);
  const bs = bases();
  const all = bs.flatMap((b) => b.lines);
  const dir = mkdtempSync(join(tmpdir(), 'preflens-fuzz-'));
  const counts: Record<string, number> = {};
  // every case is checked, and each that breaks a property is counted and listed (the run does not stop at the first)
  const failures: string[] = [];
  let recordsRead = 0;
  let errorsReported = 0;
  for (let c = 0; c < CASES; c++) {
    const base = bs[Math.floor(r() * bs.length)];
    const lines: Buffer[] = base.lines.map((l) => Buffer.from(l));
    const mutated = new Set<number>();
    const nMut = 1 + Math.floor(r() * Math.min(5, lines.length));
    for (let k = 0; k < nMut; k++) {
      const i = Math.floor(r() * lines.length);
      const names = Object.keys(MUTATIONS);
      const m = names[Math.floor(r() * names.length)];
      counts[m] = (counts[m] ?? 0) + 1;
      lines[i] = MUTATIONS[m](lines[i], r, all);
      mutated.add(i + 1);
    }
    const crlf = r() < 0.2;
    const p = join(dir, `case-${c}.jsonl`);
    writeFileSync(p, Buffer.concat(lines.flatMap((l) => [l, Buffer.from(crlf ? '\r\n' : '\n')])));
    const parallel = r() < 0.25;
    let res;
    try {
      res = await scanFile(p, parallel ? { workers: 2, parallelThreshold: 0, workerScript } : { workers: 1 });
    } catch (e) {
      if (e instanceof InputError) continue; // nothing readable at all: reported as one clear message
      failures.push(`case ${c} (${base.name}): the engine threw ${e instanceof Error ? e.stack : String(e)}`);
      continue;
    }
    try {
      const reference = await scanFile(p, { exactOnly: true, workers: 1 });
      assert.deepEqual(comparableScan(res), comparableScan(reference), `case ${c} (${base.name}): the kernel and the JavaScript path differ`);
      const read = new Set(Array.from(res.index.line));
      const reported = new Set(res.errors.map((e) => e.line));
      lines.forEach((l, i) => {
        const line = i + 1;
        const blank = l.toString('latin1').trim() === '';
        if (blank) return;
        if (!mutated.has(line)) assert.ok(read.has(line) || base.name.includes('oasst'), `case ${c}: good line ${line} of ${base.name} not read`);
        else if (!read.has(line) && !reported.has(line)) {
          // An OpenAssistant tree may legitimately hold no fully ranked prompt (no record, not an error).
          const t = l.toString('utf8');
          assert.ok(/message_tree_id/.test(t), `case ${c}: mutated line ${line} neither read nor reported`);
        }
      });
      for (const e of res.errors) assert.ok(e.line >= 1 && e.line <= lines.length, `error line ${e.line} out of range`);
      for (let i = 0; i < Math.min(3, res.records); i++) readRecord(p, res.index, i, res.format);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    recordsRead += res.records;
    errorsReported += res.errorCount;
  }
  console.log(`fuzz: ${CASES} cases, ${failures.length} failures, ${recordsRead} records read, ${errorsReported} bad lines reported; mutations ${JSON.stringify(counts)}`);
  assert.equal(failures.length, 0, `${failures.length} of ${CASES} cases failed:\n${failures.slice(0, 5).join('\n')}`);
});

test('fuzz: truncated and byte-flipped JSON arrays never throw', async () => {
  const r = rng(7);
  const src = [fixture('sharegpt.json'), fixture('pairwise.json'), ...[join(shared, 'data', 'llamafactory', 'dpo_en_demo.json')].filter(existsSync)];
  const dir = mkdtempSync(join(tmpdir(), 'preflens-fuzz-'));
  for (let c = 0; c < Math.max(20, Math.floor(CASES / 5)); c++) {
    const b = Buffer.from(readFileSync(src[c % src.length]));
    const cut = r() < 0.5 ? b.subarray(0, Math.floor(r() * b.length)) : b;
    for (let k = 0; k < 3; k++) cut[Math.floor(r() * cut.length)] = Math.floor(r() * 256);
    const p = join(dir, `a${c}.json`);
    writeFileSync(p, cut);
    try {
      const res = await scanFile(p);
      for (let i = 0; i < res.records; i++) readRecord(p, res.index, i, res.format);
    } catch (e) {
      assert.ok(e instanceof InputError, `case ${c}: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
});

test('a 50 MB line among good lines: read, good neighbours intact', async () => {
  const big = JSON.stringify({ prompt: 'p', chosen: 'x'.repeat(50 * 1024 * 1024), rejected: 'y' });
  const dir = mkdtempSync(join(tmpdir(), 'preflens-fuzz-'));
  const p = join(dir, 'big.jsonl');
  writeFileSync(p, `{"prompt":"a","chosen":"b","rejected":"c d e f"}\n${big}\n{"prompt":"a2","chosen":"b2","rejected":"c2 d e f"}\n`);
  const res = await scanFile(p);
  assert.deepEqual(Array.from(res.index.line), [1, 2, 3]);
  assert.equal(res.lengths.chosen.chars.max, 50 * 1024 * 1024);
});
