// bench/score: `preflens score` against PyTorch (Debian's python3-torch with OpenBLAS) on the same records, the
// same token sequences and the same CPU threads, in one run; plus the achieved share of this machine's matrix-
// multiply FLOP/s for a GPT-2-small-shaped random model (12 layers, d=768, vocab 50257) built by the project's
// ONNX builder, against a large MatMul through onnxruntime measured in the same run.
// and a Qwen2.5-0.5B-shaped bf16 checkpoint opened from safetensors, against PyTorch on the same checkpoint.
// Usage: npm run build && node bench/score.mjs [--records 200] [--threads 2] [--skip-qwen]
// Last line: {"tokens", "preflens_tok_s", "torch_tok_s", "ratio_vs_torch", "gpt2_small_tok_s", "flops_share"}
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { qwenShape } from './shapes.mjs';

const require = createRequire(import.meta.url);
const repo = resolve(import.meta.dirname, '..');
const out = (p) => require(join(repo, 'out', p));
const { ScoringModel } = out('src/core/engine/model.js');
const { runJobs } = out('src/core/engine/scorer.js');
const { buildGpt2Onnx, randomGpt2Weights, gpt2ConfigJson, byteTokenizerJson, rng } = out('test/gpt2.js');
const { encodeModel, floatTensor, valueInfo, node } = out('src/core/engine/onnx.js');
const { scanFile } = out('src/core/scan/index.js');
const { readRecord } = out('src/core/records.js');
const ort = require('onnxruntime-node');

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const N = Number(opt('records', '200'));
const threads = Number(opt('threads', '2'));
const shared = resolve(repo, '..', 'shared');
const data = join(shared, 'data', 'hh-harmless', 'dev.jsonl');
const policyDir = join(shared, 'demo', 'runs', 'tiny-hh-dpo');
if (!existsSync(data)) {
  console.log(`bench/score: skipped: ${data} is absent`);
  process.exit(0);
}
const work = join(repo, 'bench', '.data');
mkdirSync(work, { recursive: true });
const budget = 4096;

// 1. preflens score (CLI), reference-free so that both sides run one model.
const cli = spawnSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'score', data, '--policy', policyDir, '--lines', `1-${N}`,
  '--max-prompt-length', '192', '--max-completion-length', '128', '--no-cache', '--device', 'cpu', '--threads', String(threads), '--out', join(work, 'score-out.jsonl')], { encoding: 'utf8' });
if (cli.status !== 0) throw new Error(cli.stderr);
const m = /(\d+) records, (\d+) tokens computed.*?, ([\d.]+) s, (\d+) tokens\/s/.exec(cli.stderr);
const preflensTokS = Number(m[4]);
const tokens = Number(m[2]);

// 2. The same sequences for PyTorch.
const model = await ScoringModel.load(policyDir, { provider: 'cpu', threads, cacheDir: join(work, 'cache') });
const scan = await scanFile(data);
const jobs = [];
for (let i = 0; i < N; i++) {
  const rec = readRecord(data, scan.index, i, scan.format).record;
  const enc = model.tokenizer.encodeRecord(rec, { maxPromptLength: 192, maxCompletionLength: 128 });
  for (const r of enc.responses) jobs.push(model.tokenizer.sequence(enc.convention, r));
}
writeFileSync(join(work, 'jobs.json'), JSON.stringify(jobs));
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // Debian's python3-torch is for the system Python
const py = spawnSync(python, [join(repo, 'bench', 'torch_score.py'), policyDir, join(work, 'jobs.json'), String(threads), String(budget)], { encoding: 'utf8' });
let torch = null;
if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop());
else console.log(`torch: not available (${py.stderr.trim().split('\n').pop()}); install: apt-get install python3-torch libopenblas0-pthread`);

// 3. Matrix-multiply ceiling through onnxruntime: X[2048,768] · W[768,3072], same threads.
const [M, K, Nn] = [2048, 768, 3072];
const r = rng(7);
const Wm = new Float32Array(K * Nn).map(() => r() * 0.02);
const mm = encodeModel({
  irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
  graph: { name: 'mm', node: [node('MatMul', ['x', 'w'], ['y'], 'mm')], initializer: [floatTensor('w', Wm, [K, Nn])],
    input: [valueInfo('x', 1, [M, K])], output: [valueInfo('y', 1, [M, Nn])] },
});
const mmSession = await ort.InferenceSession.create(mm, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
const X = new ort.Tensor('float32', new Float32Array(M * K).map(() => r()), [M, K]);
await mmSession.run({ x: X });
// Best of 5 rounds of 5 runs: the ceiling is what the machine can do when nothing else interferes.
let matmulFlops = 0;
for (let round = 0; round < 5; round++) {
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await mmSession.run({ x: X });
  matmulFlops = Math.max(matmulFlops, (2 * M * K * Nn * 5) / ((performance.now() - t0) / 1000));
}
let t;

// 4. GPT-2-small shape, random weights, built by the project's ONNX builder.
const cfg = { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12 };
const gdir = join(work, 'gpt2-small-random');
if (!existsSync(join(gdir, 'model.onnx'))) {
  mkdirSync(gdir, { recursive: true });
  const tok = byteTokenizerJson();
  writeFileSync(join(gdir, 'model.onnx'), buildGpt2Onnx(cfg, randomGpt2Weights(cfg, 3)));
  writeFileSync(join(gdir, 'config.json'), JSON.stringify(gpt2ConfigJson(cfg, tok.eos)));
  writeFileSync(join(gdir, 'tokenizer.json'), JSON.stringify(tok.tokenizer));
  writeFileSync(join(gdir, 'tokenizer_config.json'), JSON.stringify(tok.config));
}
const g = await ScoringModel.load(gdir, { provider: 'cpu', threads, cacheDir: join(work, 'cache') });
const seqs = Array.from({ length: 4 }, (_, b) => ({ ids: Array.from({ length: 512 }, (_, i) => (i * 7919 + b * 104729) % 50257), respStart: 1 }));
await runJobs(g, seqs, { tokenBudget: 2048, maxBatch: 4 });
let gTokS = 0;
for (let i = 0; i < 3; i++) {
  t = performance.now();
  await runJobs(g, seqs, { tokenBudget: 2048, maxBatch: 4 });
  gTokS = Math.max(gTokS, (4 * 512) / ((performance.now() - t) / 1000));
}
const D = 768;
const T = 512;
const flopsPerToken = 2 * (12 * 12 * D * D + D * 50257) + 2 * 2 * 12 * T * D;
const share = (gTokS * flopsPerToken) / matmulFlops;

// 5. A checkpoint with the shape of Qwen2.5-0.5B (vocabulary 151,936, d = 896, 24 layers, 14 query / 2 key-value
// heads, tied embeddings), random bf16 weights written by the project's own code, opened the way a user's checkpoint
// is: the graph built from config.json, weights read in place. Each side runs in its own process (peak RSS).
let qwen = null;
if (!args.includes('--skip-qwen')) {
  const { defaultTokenBudget } = out('src/core/engine/scorer.js');
  const qdir = qwenShape(work, out);
  const qjobs = Array.from({ length: 4 }, (_, b) => ({ ids: Array.from({ length: 512 }, (_, i) => (i * 7919 + b * 104729 + 13) % 151936), respStart: 1 }));
  writeFileSync(join(work, 'qwen-jobs.json'), JSON.stringify(qjobs));
  const child = spawnSync(process.execPath, [join(repo, 'bench', 'checkpoint-child.mjs'), qdir, join(work, 'qwen-jobs.json'), String(threads), join(work, 'cache')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(child.stderr);
  const mine = JSON.parse(child.stdout.trim().split('\n').pop());
  const tq = spawnSync(python, [join(repo, 'bench', 'torch_qwen2.py'), qdir, join(work, 'qwen-jobs.json'), String(threads), String(defaultTokenBudget(151936))], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const theirs = tq.status === 0 ? JSON.parse(tq.stdout.trim().split('\n').pop()) : null;
  if (!theirs) console.log(`torch (qwen): not available (${tq.stderr.trim().split('\n').pop()})`);
  const P = 151936 * 896 + 24 * (896 * 896 + 896 + 2 * (896 * 128 + 128) + 896 * 896 + 3 * 896 * 4864 + 2 * 896) + 896;
  const qT = 512;
  const qFlopsPerToken = 2 * (24 * (896 * 896 * 2 + 2 * 896 * 128 + 3 * 896 * 4864) + 896 * 151936) + 2 * 2 * 24 * qT * 896;
  const f32mb = (P * 4) / 2 ** 20;
  qwen = { mine, theirs, P, f32mb, share: (mine.tok_s * qFlopsPerToken) / matmulFlops };
}

if (torch) {
  const { readFileSync } = await import('node:fs');
  const mine = readFileSync(join(work, 'score-out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).reduce((a, x) => a + x.chosen.logp + x.rejected.logp, 0);
  console.log(`check          Σ logp preflens ${mine.toFixed(3)} vs torch ${torch.sum_logp.toFixed(3)} (|Δ| ${Math.abs(mine - torch.sum_logp).toExponential(1)})`);
  if (!/openblas/i.test(torch.blas)) console.log(`warning: torch uses ${torch.blas}, not OpenBLAS: install libopenblas0-pthread for a meaningful comparison`);
}
console.log(`records        lines 1-${N} of dev.jsonl, ${jobs.length} sequences, ${tokens} tokens, ${threads} threads, demo policy (GPT-2, 6 layers, d=128)`);
console.log(`preflens score ${preflensTokS} tokens/s (onnxruntime, statistics in the graph)`);
if (torch) {
  console.log(`pytorch        ${torch.tok_s.toFixed(0)} tokens/s (torch ${torch.torch}, BLAS ${torch.blas.split('/').slice(-2).join('/')}, same sequences and statistics)`);
  console.log(`ratio          ${(preflensTokS / torch.tok_s).toFixed(2)}× PyTorch`);
}
console.log(`matmul ceiling ${(matmulFlops / 1e9).toFixed(1)} GFLOP/s (onnxruntime MatMul ${M}×${K}·${K}×${Nn}, ${threads} threads)`);
console.log(`gpt2-small     ${gTokS.toFixed(0)} tokens/s at 4×512 → ${((gTokS * flopsPerToken) / 1e9).toFixed(1)} GFLOP/s = ${(share * 100).toFixed(0)}% of the MatMul ceiling`);
if (qwen) {
  const { mine, theirs, P, f32mb, share: qs } = qwen;
  console.log(`qwen2.5-0.5b   shape checkpoint (${(P / 1e6).toFixed(0)}M parameters, bf16, float32 size ${f32mb.toFixed(0)} MB): ${mine.description}`);
  console.log(`  preflens     load ${mine.load_s.toFixed(1)} s, peak RSS while loading ${mine.load_peak_mb.toFixed(0)} MB = ${(mine.load_peak_mb / f32mb).toFixed(2)}× the float32 size; scoring ${mine.tok_s.toFixed(1)} tokens/s (4×512 tokens, batches of ≤ ${mine.budget} tokens), ${(qs * 100).toFixed(0)}% of the MatMul ceiling, peak RSS ${mine.peak_mb.toFixed(0)} MB`);
  if (theirs) {
    console.log(`  pytorch      load ${theirs.load_s.toFixed(1)} s, peak RSS while loading ${theirs.load_peak_mb.toFixed(0)} MB; ${theirs.tok_s.toFixed(1)} tokens/s, peak RSS ${theirs.peak_mb.toFixed(0)} MB`);
    console.log(`  ratio        ${(mine.tok_s / theirs.tok_s).toFixed(2)}× PyTorch; Σ logp ${mine.sum_logp.toFixed(2)} vs ${theirs.sum_logp.toFixed(2)} (relative |Δ| ${(Math.abs(mine.sum_logp - theirs.sum_logp) / Math.abs(theirs.sum_logp)).toExponential(1)})`);
  }
}
console.log(JSON.stringify({
  tokens,
  preflens_tok_s: preflensTokS,
  torch_tok_s: torch ? Math.round(torch.tok_s) : null,
  ratio_vs_torch: torch ? +(preflensTokS / torch.tok_s).toFixed(3) : null,
  gpt2_small_tok_s: Math.round(gTokS),
  flops_share: +share.toFixed(3),
  qwen_tok_s: qwen ? +qwen.mine.tok_s.toFixed(2) : null,
  qwen_flops_share: qwen ? +qwen.share.toFixed(3) : null,
  qwen_ratio_vs_torch: qwen?.theirs ? +(qwen.mine.tok_s / qwen.theirs.tok_s).toFixed(3) : null,
  qwen_load_peak_over_f32: qwen ? +(qwen.mine.load_peak_mb / qwen.f32mb).toFixed(3) : null,
  qwen_peak_mb: qwen ? Math.round(qwen.mine.peak_mb) : null,
  torch_qwen_peak_mb: qwen?.theirs ? Math.round(qwen.theirs.peak_mb) : null,
}));
