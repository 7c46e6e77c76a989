/** The engine on the project's own tiny GPT-2 model, checked against a float64 pure-TypeScript forward pass. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { ScoringModel, ModelError } from '../../src/core/engine/model.js';
import { rawHash, scoreFile, scoreRecords, type ScoredRecord, type ScoreLine } from '../../src/core/engine/score.js';
import type { ScoreJobMessage, ScoreJobResult, ScoreJobSpec } from '../../src/workers/scoreWorker.js';
import { buildGpt2Onnx } from '../gpt2.js';
import { addScoringOutputs, STAT_OUTPUTS } from '../../src/core/engine/graph.js';
import { decodeModel } from '../../src/core/engine/onnx.js';
import { TINY, tinyWeights, forward, writeTinyModel } from '../tinyModel.js';
import { fixture, repoRoot, scored, tempFile } from '../helpers.js';

const tiny = fixture('tiny-gpt2');
const limits = { beta: 0.1, maxPromptLength: 24, maxCompletionLength: 32 };
const cacheDir = (): string => mkdtempSync(join(tmpdir(), 'preflens-cache-'));

test('the committed tiny model is exactly what the builder makes', () => {
  assert.deepEqual(readFileSync(join(tiny, 'model.onnx')), Buffer.from(buildGpt2Onnx(TINY, tinyWeights())));
});

test('per-token logp, entropy, rank and top-k mass match a float64 TypeScript forward pass', async () => {
  const model = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cacheDir() });
  const out: ScoredRecord[] = [];
  for await (const r of scoreFile(fixture('trl-standard.jsonl'), model, model, { ...limits, noCache: true })) out.push(scored(r));
  assert.equal(out.length, 6);
  const w = tinyWeights();
  let checked = 0;
  let maxErr = 0;
  for (const r of out) {
    const lines = readFileSync(fixture('trl-standard.jsonl'), 'utf8').split('\n');
    const rec = JSON.parse(lines[r.line - 1]) as { prompt: string; chosen: string; rejected: string };
    const promptIds = [...Buffer.from(rec.prompt, 'utf8')].slice(-24);
    for (const [text, resp] of [[rec.chosen, r.chosen], [rec.rejected, r.rejected]] as const) {
      assert.ok(resp);
      const ids = [...[...Buffer.from(text, 'utf8')], 256].slice(0, 32);
      assert.deepEqual(resp.tokens.map((t) => t.id), ids, 'byte-level ids + EOS');
      const { logprobs } = forward(TINY, w, [...promptIds, ...ids]);
      resp.tokens.forEach((t, i) => {
        const row = logprobs[promptIds.length - 1 + i];
        const lp = row[ids[i]];
        const p = Array.from(row, Math.exp);
        const entropy = -p.reduce((s, q, j) => s + q * row[j], 0);
        const rank = 1 + Array.from(row).filter((z) => z > lp).length;
        const topk = [...p].sort((a, b) => b - a).slice(0, 10).reduce((s, q) => s + q, 0);
        maxErr = Math.max(maxErr, Math.abs(t.logp - lp));
        assert.ok(Math.abs(t.logp - lp) < 1e-4, `logp ${t.logp} vs ${lp}`);
        assert.ok(Math.abs(t.entropy - entropy) < 1e-4, `entropy ${t.entropy} vs ${entropy}`);
        assert.ok(Math.abs(t.topk_mass - topk) < 1e-4, `top-k mass ${t.topk_mass} vs ${topk}`);
        if (Math.abs(row[ids[i]] - [...row].sort((a, b) => b - a)[rank - 1]) > 1e-5) assert.equal(t.rank, rank);
        assert.equal(t.ref_logp, t.logp, 'same model as reference');
        assert.equal(t.reward, 0);
        checked++;
      });
      const sum = resp.tokens.reduce((s, t) => s + t.logp, 0);
      assert.ok(Math.abs(resp.logp - sum) < 1e-9);
    }
    assert.equal(r.margin, 0);
    assert.ok(Math.abs((r.dpo_loss ?? 0) - Math.log(2)) < 1e-12, 'margin 0 → loss log 2');
  }
  assert.ok(checked > 100);
  console.log(`tiny model: ${checked} tokens, max |Δ logp| vs float64 forward ${maxErr.toExponential(2)}`);
});

test('token offsets: multi-byte characters split across byte tokens span the whole character', async () => {
  const model = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cacheDir() });
  const text = ' a’b😀c';
  const p = tempFile('mb.jsonl', JSON.stringify({ prompt: 'Q', chosen: text, rejected: ' x' }) + '\n');
  const [r] = await collect(scoreFile(p, model, model, { ...limits, noCache: true }));
  const toks = r.chosen?.tokens ?? [];
  // bytes: ' ' a (’ = 3 bytes) b (😀 = 4 bytes) c + EOS
  assert.equal(toks.length, 1 + 1 + 3 + 1 + 4 + 1 + 1);
  assert.deepEqual(toks.slice(2, 5).map((t) => [t.start, t.end]), [[2, 3], [2, 3], [2, 3]]);
  assert.deepEqual(toks.slice(6, 10).map((t) => [t.start, t.end]), [[4, 6], [4, 6], [4, 6], [4, 6]]);
  assert.equal(text.slice(toks[6].start, toks[6].end), '😀');
  assert.deepEqual([toks.at(-1)?.start, toks.at(-1)?.end, toks.at(-1)?.id], [text.length, text.length, 256]);
});

function assertClose(a: unknown, b: unknown, tol: number, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${path}: ${a} vs ${b}`);
    return;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    assert.equal(a, b, path);
    return;
  }
  const ka = Object.keys(a);
  assert.deepEqual(ka, Object.keys(b), path);
  for (const k of ka) assertClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol, `${path}.${k}`);
}

async function collect(g: AsyncGenerator<ScoreLine>): Promise<ScoredRecord[]> {
  const out: ScoredRecord[] = [];
  for await (const x of g) out.push(scored(x));
  return out;
}

test('graph surgery adds the statistics outputs and drops the logits', () => {
  const aug = decodeModel(addScoringOutputs(readFileSync(join(tiny, 'model.onnx')), 10));
  const outs = (aug.graph?.output ?? []).map((o) => o.name);
  assert.deepEqual(outs, [...STAT_OUTPUTS]);
  assert.ok((aug.graph?.input ?? []).some((i) => i.name === 'pl_targets'));
});

test('clear errors: missing folder or file, foreign tokenizer, different tokenizers, too many positions', async () => {
  await assert.rejects(ScoringModel.load(fixture('no-such-model'), { provider: 'cpu' }), (e: unknown) => e instanceof ModelError && /no such model folder/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'preflens-model-'));
  cpSync(tiny, dir, { recursive: true });
  const noOnnx = mkdtempSync(join(tmpdir(), 'preflens-model-'));
  cpSync(join(tiny, 'config.json'), join(noOnnx, 'config.json'));
  await assert.rejects(ScoringModel.load(noOnnx, { provider: 'cpu' }), /no model\.onnx/);
  // A tokenizer with more tokens than the model's logits.
  const big = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  for (let i = 0; i < 300; i++) big.model.vocab[`extra${i}`] = 257 + i;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(big));
  await assert.rejects(ScoringModel.load(dir, { provider: 'cpu', cacheDir: cacheDir() }), (e: unknown) => e instanceof ModelError && /557 tokens but the model's logits are 257 wide/.test(e.message));
  // Policy and reference with different tokenizers.
  const other = mkdtempSync(join(tmpdir(), 'preflens-model-'));
  cpSync(tiny, other, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(other, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  cfg.model_max_length = 63;
  writeFileSync(join(other, 'tokenizer_config.json'), JSON.stringify(cfg));
  const a = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cacheDir() });
  const b = await ScoringModel.load(other, { provider: 'cpu', cacheDir: cacheDir() });
  await assert.rejects(scoreRecords([], a, b, { ...limits }), /different tokenizers/);
  // Longer than n_positions without truncation: the record's line is named.
  await assert.rejects(collect(scoreFile(fixture('hh.jsonl'), a, a, { beta: 0.1, maxPromptLength: null, maxCompletionLength: null, noCache: true })), /line 1: prompt \+ first = \d+ tokens, more than the 64 positions/);
});

test('a corrupted cache entry is detected and recomputed, never returned', async () => {
  const dir = cacheDir();
  const model = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: dir });
  const first = await collect(scoreFile(fixture('trl-standard.jsonl'), model, null, { ...limits, cacheDir: dir }));
  const entries: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.bin')) entries.push(p);
    }
  };
  walk(join(dir, 'scores'));
  // one entry per distinct sequence: lines 1 and 4 (swapped responses) share theirs
  assert.ok(entries.length >= 8 && entries.length < 12, `${entries.length} entries`);
  const buf = readFileSync(entries[0]);
  buf[20] ^= 0xff;
  writeFileSync(entries[0], buf);
  writeFileSync(entries[1], buf.subarray(0, 10)); // torn write
  let tokens = 0;
  const again = await collect(scoreFile(fixture('trl-standard.jsonl'), model, null, { ...limits, cacheDir: dir, onProgress: (p) => (tokens = p.tokens) }));
  // Recomputed sequences run in a different batch (other padding): float32 results may differ in the last bits.
  assertClose(again, first, 1e-5);
  assert.ok(tokens > 0 && tokens < 200, `only the two damaged sequences were recomputed (${tokens} tokens)`);
});

test('preflens score CLI: shards partition the records; usage and input errors', () => {
  const cli = join(repoRoot, 'dist', 'cli.js');
  const run = (...a: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [cli, 'score', ...a], { encoding: 'utf8', env: { ...process.env, PREFLENS_CACHE_DIR: cacheDir() } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const base = [fixture('trl-standard.jsonl'), '--policy', tiny, '--ref', tiny, '--max-prompt-length', '24', '--max-completion-length', '32'];
  const all = run(...base);
  assert.equal(all.code, 0, all.err);
  const lines = (s: string): number[] => s.trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line);
  assert.deepEqual(lines(all.out), [1, 2, 3, 4, 5, 6]);
  const s0 = lines(run(...base, '--shard', '0/2').out);
  const s1 = lines(run(...base, '--shard', '1/2').out);
  assert.deepEqual([...s0, ...s1].sort(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(s0, [1, 3, 5]);
  assert.deepEqual(lines(run(...base, '--lines', '2-3').out), [2, 3]);
  assert.match(all.err, /6 records, \d+ tokens computed.*tokens\/s, device cpu/);
  const keys = Object.keys(JSON.parse(all.out.split('\n')[0]) as object);
  assert.deepEqual(keys, ['line', 'format', 'prompt', 'chosen', 'rejected', 'margin', 'dpo_loss', 'implicit_accuracy', 'ipo_loss', 'orpo_log_odds_ratio', 'hinge_loss', 'mean_logp_margin', 'simpo_loss', 'flags']);
  const out = tempFile('o.jsonl', '');
  assert.equal(run(...base, '--out', out).code, 0);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 6);
  assert.equal(run(fixture('trl-standard.jsonl')).code, 2, 'no --policy');
  assert.equal(run(...base, '--shard', '2/2').code, 2);
  assert.equal(run(...base, '--beta', '-1').code, 2);
  const same = run(...base, '--out', fixture('trl-standard.jsonl'));
  assert.equal(same.code, 1);
  assert.match(same.err, /never writes to a dataset/);
  const missing = run(fixture('trl-standard.jsonl'), '--policy', fixture('nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no such model folder/);
});

test('--shard auto: three Slurm array tasks (and a Kubernetes Indexed Job) together give exactly the unsharded output', async () => {
  const cli = join(repoRoot, 'dist', 'cli.js');
  const cache = cacheDir();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX|PREFLENS_SHARDS)/.test(k)));
  const run = (env: Record<string, string>, ...a: string[]): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((done) => {
      const p = spawn(process.execPath, [cli, 'score', fixture('trl-standard.jsonl'), '--policy', tiny, '--ref', tiny, '--max-prompt-length', '24', '--max-completion-length', '32', ...a], { env: { ...clean, PREFLENS_CACHE_DIR: cache, ...env } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => done({ code, out, err }));
    });
  const all = await run({});
  assert.equal(all.code, 0, all.err);
  const byLine = (s: string): Map<number, string> => new Map(s.trim().split('\n').filter(Boolean).map((l) => [(JSON.parse(l) as { line: number }).line, l]));
  const want = byLine(all.out);
  // The three array tasks run at once, as a scheduler would start them.
  const slurm = await Promise.all([0, 1, 2].map((i) => run({ SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: '3' }, '--shard', 'auto')));
  const k8s = await Promise.all([0, 1, 2].map((i) => run({ JOB_COMPLETION_INDEX: String(i), PREFLENS_SHARDS: '3' }, '--shard', 'auto')));
  for (const parts of [slurm, k8s]) {
    const got = new Map<number, string>();
    for (const p of parts) {
      assert.equal(p.code, 0, p.err);
      for (const [line, text] of byLine(p.out)) {
        assert.ok(!got.has(line), `line ${line} scored by two shards`);
        got.set(line, text);
      }
    }
    assert.deepEqual([...got.keys()].sort((a, b) => a - b), [...want.keys()]);
    for (const [line, text] of want) assertClose([JSON.parse(got.get(line) as string) as ScoreLine], [JSON.parse(text) as ScoreLine], 1e-5);
  }
  assert.match(slurm[1].err, /shard 1\/3 \(Slurm array task 1 of 3\)/);
  const offset = await run({ SLURM_ARRAY_TASK_ID: '11', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_COUNT: '3' }, '--shard', 'auto');
  assert.deepEqual([...byLine(offset.out).keys()], [...byLine(slurm[1].out).keys()]);
  const none = await run({}, '--shard', 'auto');
  assert.equal(none.code, 2);
  assert.match(none.err, /--shard auto needs SLURM_ARRAY_TASK_ID/);
  assert.equal((await run({ JOB_COMPLETION_INDEX: '0' }, '--shard', 'auto')).code, 2, 'PREFLENS_SHARDS missing');
});

test('writeTinyModel is deterministic', () => {
  const d = mkdtempSync(join(tmpdir(), 'preflens-tiny-'));
  writeTinyModel(d);
  for (const f of ['model.onnx', 'config.json', 'tokenizer.json', 'tokenizer_config.json'])
    assert.deepEqual(readFileSync(join(d, f)), readFileSync(join(tiny, f)), f);
});

/** A scoring job of the extension's kind: the records at refs of the file's index (no scan in the worker). */
async function scoreJob(spec: Omit<ScoreJobSpec, 'refs' | 'format'>, opts: { lines?: [number, number]; script?: string; onMessage?: (m: ScoreJobMessage) => void; signal?: AbortSignal } = {}) {
  const { startJob } = await import('../../src/core/jobs.js');
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { refsOnLines } = await import('../../src/core/records.js');
  const scan = await scanFile(spec.file);
  const full: ScoreJobSpec = { ...spec, refs: refsOnLines(scan.index, opts.lines), format: scan.format };
  return startJob<ScoreJobSpec, ScoreJobMessage, ScoreJobResult>(opts.script ?? join(repoRoot, 'dist', 'scoreWorker.js'), full, { onMessage: opts.onMessage, signal: opts.signal, cancel: 'message' });
}

test('scoring runs in a worker thread from index refs, reports progress and stops when cancelled', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(JSON.stringify({ prompt: `Question ${i}?`, chosen: ` Answer number ${i} is fine.`, rejected: ` No ${i}.` }));
  const file = tempFile('many.jsonl', lines.join('\n') + '\n');
  const spec = { file, policy: tiny, ref: tiny, beta: 0.1, limits: { convention: 'trl-legacy' as const, maxPromptLength: 24, maxCompletionLength: 32, maxLength: null, truncationMode: 'keep_start' as const }, provider: 'cpu' as const, cacheDir: cacheDir() };
  const got: number[] = [];
  let progress = 0;
  const ac = new AbortController();
  const end = await scoreJob(spec, {
    signal: ac.signal,
    onMessage: (m) => {
      if (m.type === 'record') {
        got.push(m.record.line);
        if (got.length === 16) ac.abort();
      }
      if (m.type === 'progress') {
        progress++;
        assert.ok(m.tokensPerSecond > 0 && m.etaSeconds >= 0);
      }
    },
  });
  assert.equal(end.type, 'cancelled');
  assert.ok(got.length >= 16 && got.length < 400, `stopped early after ${got.length} records`);
  assert.ok(progress > 0);
  const records: ScoredRecord[] = [];
  const done = await scoreJob(spec, { lines: [101, 110], onMessage: (m) => void (m.type === 'record' && records.push(scored(m.record))) });
  assert.equal(done.type, 'done');
  assert.equal(done.type === 'done' ? done.result.records : 0, 10);
  assert.deepEqual(records.map((r) => r.line), [101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
  // A viewer's records carry what the heatmap shows without a tokenizer: the prompt as the model saw it, the raw
  // text's hash and each response's score-cache key, under which the alternatives are found.
  const model = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cacheDir() });
  const r = records[0];
  assert.equal(r.prompt?.text, model.tokenizer.texts({ index: 0, line: 101, offset: 0, format: 'trl-standard', kind: 'pair', prompt: 'Question 100?', candidates: [] }).prompt);
  assert.ok(r.prompt && r.prompt.ids.length > 0, 'and its ids');
  assert.equal(r.raw_sha256, rawHash(lines[100]));
  const { tokenAlternatives } = await import('../../src/core/engine/alternatives.js');
  const alts = tokenAlternatives({ cacheDir: spec.cacheDir, contentHash: model.contentHash, k: model.k, seqKey: r.chosen?.seq_key ?? '', tokens: r.chosen?.tokens.length ?? 0, token: 1 }, model.tokenizer);
  assert.ok(Array.isArray(alts) && alts.length === 5, String(alts));
  if (Array.isArray(alts)) {
    assert.ok(alts[0].prob >= alts[4].prob);
    // The actual token's probability is among the policy's top-k when its rank is ≤ 5.
    const t = r.chosen?.tokens[1];
    if (t && t.rank <= 5) assert.ok(alts.some((x) => x.id === t.id && Math.abs(Math.log(x.prob) - t.logp) < 1e-5));
  }
  assert.match(String(tokenAlternatives({ cacheDir: spec.cacheDir, contentHash: model.contentHash, k: model.k, seqKey: '0'.repeat(64), tokens: 3, token: 0 }, model.tokenizer)), /not in the score cache/);
});

test('SPINAL graph surgery on the tiny model: hidden states equal the TypeScript forward pass', async () => {
  const { addHiddenOutputs, findHiddenStates } = await import('../../src/core/spinal/hidden.js');
  const ort = await import('onnxruntime-node');
  const bytes = readFileSync(join(tiny, 'model.onnx'));
  assert.deepEqual(findHiddenStates(decodeModel(bytes)).names, ['/m/embed', '/m/h.0/Add_1_output_0', '/m/h.1/Add_1_output_0']);
  const { bytes: aug, names } = addHiddenOutputs(bytes);
  const s = await ort.InferenceSession.create(aug);
  const ids = [72, 101, 108, 108, 111, 256];
  const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 6]), attention_mask: new ort.Tensor('int64', new BigInt64Array(6).fill(1n), [1, 6]) });
  const { hidden } = forward(TINY, tinyWeights(), ids);
  names.forEach((n, l) => {
    const h = out[n].data as Float32Array;
    for (let t = 0; t < 6; t++) for (let j = 0; j < TINY.nEmbd; j++) assert.ok(Math.abs(h[t * TINY.nEmbd + j] - hidden[l][t][j]) < 1e-4, `layer ${l}`);
  });
  assert.throws(() => addHiddenOutputs(bytes, ['no/such/tensor']), /no tensor named/);
});

test('SPINAL contraction with fewer tokens than hidden units (N ≤ D) follows the definition: K = min(N − 1, D)', async () => {
  const { contraction } = await import('../../src/core/spinal/spinal.js');
  const { EigenvalueDecomposition, Matrix } = await import('ml-matrix');
  const next = (() => {
    let a = 7;
    return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  })();
  for (const [N, D] of [[9, 32], [32, 32], [40, 16]]) {
    const rows = Array.from({ length: N }, (_, i) => Float64Array.from({ length: D }, (_, j) => next() * (1 + ((i * 7 + j) % 5))));
    // The definition, computed another way: σ_k² are the eigenvalues of the N × N Gram matrix of the centred rows.
    const mean = Array.from({ length: D }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / N);
    const C = new Matrix(rows.map((r) => Array.from(r, (x, j) => x - mean[j])));
    const eig = new EigenvalueDecomposition(C.mmul(C.transpose()), { assumeSymmetric: true });
    const sv = eig.realEigenvalues.map((v) => Math.sqrt(Math.max(0, v))).sort((a, b) => b - a);
    const K = Math.min(N - 1, D);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = Math.floor(K / 2) + 1; k <= K; k++) {
      xs.push(Math.log(k));
      ys.push(Math.log(sv[k - 1]));
    }
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const want = -xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const got = await contraction(rows, D);
    assert.ok(Math.abs(got - want) < 1e-6 * Math.max(1, Math.abs(want)), `N=${N}, D=${D}: ${got} vs ${want}`);
  }
});

test('SPINAL contraction: the tail slope of a power-law spectrum is its exponent', async () => {
  const { contractionFromSingularValues } = await import('../../src/core/spinal/spinal.js');
  const sv = Array.from({ length: 64 }, (_, i) => 5 * (i + 1) ** -1.7);
  assert.ok(Math.abs(contractionFromSingularValues(sv) - 1.7) < 1e-12);
});

test('failure scenarios: a bad ONNX file, a crashing worker, cancel within a second, changed records detected', async () => {
  // A corrupt model: a clear message naming the file, no crash.
  const bad = mkdtempSync(join(tmpdir(), 'preflens-bad-'));
  cpSync(tiny, bad, { recursive: true });
  writeFileSync(join(bad, 'model.onnx'), Buffer.from('this is not a protobuf'));
  await assert.rejects(ScoringModel.load(bad, { provider: 'cpu', cacheDir: cacheDir() }), (e: unknown) => e instanceof ModelError && /model\.onnx: not a valid ONNX model/.test(e.message));
  // The same through the worker: an error message, and the worker is gone.
  const spec = { file: fixture('trl-standard.jsonl'), policy: bad, ref: null, beta: 0.1, limits: { convention: 'trl-legacy' as const, maxPromptLength: 24, maxCompletionLength: 32, maxLength: null, truncationMode: 'keep_start' as const }, provider: 'cpu' as const, cacheDir: cacheDir() };
  const end = await scoreJob(spec);
  assert.equal(end.type, 'error');
  assert.match(end.type === 'error' ? end.message : '', /not a valid ONNX model/);
  // A worker that dies: reported, never hangs.
  const crash = tempFile('crash.js', 'process.exit(3)');
  const dead = await scoreJob(spec, { script: crash });
  assert.equal(dead.type, 'error');
  assert.match(dead.type === 'error' ? dead.message : '', /exited \(code 3\)/);
  // Cancel: stops within a second.
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(JSON.stringify({ prompt: `Q ${i}?`, chosen: ` A ${i} is long enough to take a little while.`, rejected: ` N ${i}.` }));
  const many = tempFile('many2.jsonl', lines.join('\n') + '\n');
  let cancelledAt = 0;
  const ac = new AbortController();
  const stop = await scoreJob(
    { ...spec, file: many, policy: tiny, ref: tiny },
    {
      signal: ac.signal,
      onMessage: (m) => {
        if (m.type === 'record' && cancelledAt === 0) {
          cancelledAt = Date.now();
          ac.abort();
        }
      },
    },
  );
  assert.equal(stop.type, 'cancelled');
  const ms = Date.now() - cancelledAt;
  console.log(`cancel: stopped ${ms} ms after the request`);
  assert.ok(ms < 1000, `${ms} ms`);
  // Records that changed on disk are recognised by their hash; the others keep theirs.
  const f = tempFile('change.jsonl', readFileSync(fixture('trl-standard.jsonl')));
  const model = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cacheDir() });
  const before = await collect(scoreFile(f, model, null, { ...limits, forViewer: true, noCache: true }));
  const text = readFileSync(f, 'utf8').split('\n');
  text[1] = text[1].replace('Blue.', 'Green.');
  writeFileSync(f, text.join('\n'));
  const { scanFile } = await import('../../src/core/scan/index.js');
  const { readRecord } = await import('../../src/core/records.js');
  const now = await scanFile(f);
  const changed = before.filter((r, i) => rawHash(readRecord(f, now.index, i, now.format).raw) !== r.raw_sha256).map((r) => r.line);
  assert.deepEqual(changed, [2]);
});

test('conversational records use the chat template as TRL does (prompt with generation prompt; completion = rest)', async () => {
  const { ModelTokenizer } = await import('../../src/core/tokenize/encoder.js');
  const { normalize } = await import('../../src/core/formats/normalize.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-chat-'));
  cpSync(tiny, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  cfg.chat_template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
  const tok = ModelTokenizer.load(dir);
  assert.ok(tok.hasChatTemplate);
  const [rec] = normalize({ prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello!' }], rejected: [{ role: 'assistant', content: 'Go.' }] }, 'trl-conversational', { index: 0, line: 1, offset: 0 });
  const t = tok.texts(rec);
  assert.equal(t.prompt, '<|user|>Hi<|endoftext|><|assistant|>');
  // full = <|user|>Hi<eos><|assistant|>Hello!<eos>; minus the prompt rendering
  assert.deepEqual(t.responses, ['Hello!<|endoftext|>', 'Go.<|endoftext|>']);
  const enc = tok.encodeRecord(rec, { maxPromptLength: null, maxCompletionLength: null });
  assert.equal(enc.promptIds.length, Buffer.byteLength(t.prompt) - '<|endoftext|>'.length + 1, 'the EOS inside the prompt is one special token');
});

test('convention trl: a record whose prompt alone fills max_length is skipped, keep_end keeps the end, offsets stay on the response', async () => {
  const { ModelTokenizer } = await import('../../src/core/tokenize/encoder.js');
  const { normalize } = await import('../../src/core/formats/normalize.js');
  const tok = ModelTokenizer.load(tiny);
  const [rec] = normalize({ prompt: 'Question?', chosen: ' Yes, it is.', rejected: ' No.' }, 'trl-standard', { index: 0, line: 1, offset: 0 });
  // The tiny tokenizer is byte-level: one token per byte, EOS appended as text (one special token).
  const full = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: null });
  assert.equal(full.convention, 'trl');
  assert.deepEqual(full.responses[0].promptIds, [...Buffer.from('Question?')]);
  assert.deepEqual(full.responses[0].ids, [...Buffer.from(' Yes, it is.'), tok.eosId]);
  assert.deepEqual(full.responses[0].starts.slice(0, 3), [0, 1, 2]);
  assert.deepEqual([full.responses[0].starts.at(-1), full.responses[0].ends.at(-1)], [12, 12], 'EOS sits at the end of the response');
  // keep_start: the sequence keeps its first 12 tokens: 9 of prompt, 3 of response.
  const cut = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 12 });
  assert.deepEqual(cut.responses[0].ids, [...Buffer.from(' Ye')]);
  assert.ok(cut.responses[0].truncated && cut.skipped === undefined);
  // The prompt alone fills max_length: TRL drops the record.
  const drop = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 9 });
  assert.match(drop.skipped ?? '', /prompt alone is 9 tokens, max_length is 9/);
  // keep_end: the last 8 tokens of prompt + response (5 for ' No.' + EOS); the prompt's start goes first.
  const end = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 8, truncationMode: 'keep_end' });
  assert.deepEqual(end.responses[1].promptIds, [...Buffer.from('on?')]);
  assert.ok(end.responses[1].promptTruncated && !end.responses[1].truncated);
  assert.deepEqual(end.responses[1].ids, [...Buffer.from(' No.'), tok.eosId]);
  // Everything but the response's last tokens cut: the first kept token is the context, not a prediction.
  const tail = tok.encodeRecord(rec, { convention: 'trl', maxPromptLength: null, maxCompletionLength: null, maxLength: 4, truncationMode: 'keep_end' });
  assert.deepEqual(tail.responses[0].promptIds, [...Buffer.from('i')]);
  assert.deepEqual(tail.responses[0].ids, [...Buffer.from('s.'), tok.eosId]);
  assert.equal(tail.responses[0].text.slice(tail.responses[0].starts[0], tail.responses[0].ends[0]), 's');
  // Through the CLI: the skipped record is one line {"line", "skipped"}, the others are scored.
  const f = tempFile('skip.jsonl', [JSON.stringify({ prompt: 'A much longer question here?', chosen: ' a', rejected: ' b' }), JSON.stringify({ prompt: 'Q?', chosen: ' a', rejected: ' b' })].join('\n') + '\n');
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'score', f, '--policy', tiny, '--convention', 'trl', '--max-length', '10', '--no-cache'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; skipped?: string; chosen?: unknown });
  assert.deepEqual(lines[0], { line: 1, skipped: 'the prompt alone is 28 tokens, max_length is 10: TRL drops this record (truncation_mode keep_start)' });
  assert.ok(lines[1].chosen && lines[1].skipped === undefined);
  assert.match(r.stderr, /convention trl \(chosen\): joint tokenization, max_length 10, truncation_mode keep_start/);
});

test('convention auto: the model card names the TRL version; else max prompt/completion lengths mean trl-legacy; else trl', async () => {
  const { resolveConvention } = await import('../../src/core/tokenize/convention.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-card-'));
  assert.deepEqual(resolveConvention('auto', dir, false), { convention: 'trl', reason: 'TRL ≥ 0.29 by default' });
  assert.equal(resolveConvention('auto', dir, true).convention, 'trl-legacy');
  writeFileSync(join(dir, 'README.md'), '---\nlibrary_name: transformers\n---\n### Framework versions\n\n- TRL: 0.28.0\n- Transformers: 4.57.0\n');
  assert.deepEqual(resolveConvention('auto', dir, false), { convention: 'trl-legacy', reason: 'the model card names TRL 0.28.0' });
  writeFileSync(join(dir, 'README.md'), '- TRL: 1.2.0\n');
  assert.equal(resolveConvention('auto', dir, true).convention, 'trl', 'the model card wins over the lengths');
  assert.equal(resolveConvention('trl-legacy', dir, false).convention, 'trl-legacy');
});

test('chat templates as TRL applies them: a prompt ending on an assistant turn is continued, tools and chat_template_kwargs come from the record, a template error skips only that record', async () => {
  const { ModelTokenizer } = await import('../../src/core/tokenize/encoder.js');
  const { normalize, FieldError } = await import('../../src/core/formats/normalize.js');
  const dir = mkdtempSync(join(tmpdir(), 'preflens-chat2-'));
  cpSync(tiny, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  cfg.chat_template = [
    "{% if tools %}[tools:{{ tools | length }}]{% endif %}{% if lang %}[lang:{{ lang }}]{% endif %}",
    "{% for m in messages %}{% if loop.index0 > 0 and m['role'] == 'user' and messages[loop.index0 - 1]['role'] == 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}",
    "<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
  ].join('');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
  const tok = ModelTokenizer.load(dir);
  const b = { index: 0, line: 1, offset: 0 };
  // Prefill: the prompt's last turn is the assistant's; the model continues it (no end token, no generation prompt).
  const [pre] = normalize({ prompt: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Well,' }], chosen: [{ role: 'assistant', content: ' yes.' }], rejected: [{ role: 'assistant', content: ' no.' }] }, 'trl-conversational', b);
  assert.equal(tok.texts(pre).prompt, '<|user|>Hi<|end|><|assistant|>Well,');
  // tools (a JSON string, as datasets store them) and chat_template_kwargs reach the template.
  const [withTools] = normalize(
    { prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }], tools: JSON.stringify([{ name: 'f' }, { name: 'g' }]), chat_template_kwargs: { lang: 'fr' } },
    'trl-conversational',
    b,
  );
  assert.equal(tok.texts(withTools).prompt, '[tools:2][lang:fr]<|user|>Hi<|end|><|assistant|>');
  assert.throws(() => normalize({ prompt: [{ role: 'user', content: 'x' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }], tools: '{not json' }, 'trl-conversational', b), (e: unknown) => e instanceof FieldError && e.field === 'tools');
  // A record whose roles do not alternate: that record is reported, not scored; its neighbours are.
  const f = tempFile(
    'chat.jsonl',
    [
      { prompt: [{ role: 'user', content: 'A' }], chosen: [{ role: 'assistant', content: 'x' }], rejected: [{ role: 'assistant', content: 'y' }] },
      { prompt: [{ role: 'user', content: 'B' }, { role: 'user', content: 'C' }], chosen: [{ role: 'assistant', content: 'x' }], rejected: [{ role: 'assistant', content: 'y' }] },
      { prompt: [{ role: 'user', content: 'D' }], chosen: [{ role: 'assistant', content: 'x' }], rejected: [{ role: 'assistant', content: 'y' }] },
    ]
      .map((x) => JSON.stringify(x))
      .join('\n') + '\n',
  );
  const model = await ScoringModel.load(dir, { provider: 'cpu', cacheDir: cacheDir() });
  const out: ScoreLine[] = [];
  for await (const r of scoreFile(f, model, null, { ...limits, noCache: true })) out.push(r);
  assert.deepEqual(out.map((r) => ('skipped' in r ? `skipped ${r.line}` : `scored ${r.line}`)), ['scored 1', 'skipped 2', 'scored 3']);
  assert.match((out[1] as { skipped: string }).skipped, /chat template cannot render this record: Conversation roles must alternate/);
  // No EOS after the template's own end token (trl-legacy): the response ends with <|end|>, not with an extra EOS.
  const enc = tok.encodeRecord(pre, { maxPromptLength: null, maxCompletionLength: null });
  assert.notEqual(enc.responses[0].ids.at(-1), tok.eosId);
});

test('an ONNX export with external data (model.onnx + model.onnx_data, as exports over 2 GB are) scores as the inline one; a data file reached through a symlink too', async () => {
  const { encodeModel: enc, decodeModel: dec } = await import('../../src/core/engine/onnx.js');
  const { symlinkSync } = await import('node:fs');
  const root = mkdtempSync(join(tmpdir(), 'preflens-ext-'));
  const dir = join(root, 'model');
  cpSync(tiny, dir, { recursive: true });
  const m = dec(readFileSync(join(tiny, 'model.onnx')));
  const chunks: Buffer[] = [];
  let off = 0;
  for (const t of m.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.length < 64) continue;
    const b = Buffer.from(t.rawData);
    chunks.push(b);
    t.externalData = [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: String(off) }, { key: 'length', value: String(b.length) }];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    off += b.length;
  }
  assert.ok(chunks.length > 3);
  // the data file lives elsewhere, reached through a symlink (a hub cache's blobs/)
  mkdirSync(join(root, 'blobs'));
  writeFileSync(join(root, 'blobs', 'data'), Buffer.concat(chunks));
  symlinkSync(join(root, 'blobs', 'data'), join(dir, 'model.onnx_data'));
  writeFileSync(join(dir, 'model.onnx'), enc(m));
  const cache = cacheDir();
  const inline = await ScoringModel.load(tiny, { provider: 'cpu', cacheDir: cache });
  const external = await ScoringModel.load(dir, { provider: 'cpu', cacheDir: cache });
  assert.notEqual(external.contentHash, inline.contentHash);
  const a = await collect(scoreFile(fixture('trl-standard.jsonl'), inline, null, { ...limits, cacheDir: cache, noCache: true }));
  const b = await collect(scoreFile(fixture('trl-standard.jsonl'), external, null, { ...limits, cacheDir: cache, noCache: true }));
  assertClose(b, a, 1e-6);
});
