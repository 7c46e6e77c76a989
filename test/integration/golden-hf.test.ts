/**
 * Checkpoints as people have them (../shared/demo/hf, no ONNX anywhere) against the independent PyTorch goldens
 * (../shared/demo/golden/hf): sharded bf16 Qwen2 (both conventions), fp16 Qwen3, and a LoRA adapter whose base
 * is only in a hub cache (policy, reference = its base, margins). Then the demo DPO run with every model.onnx
 * removed: the same numbers as with them, and the same SPINAL traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ScoringModel } from '../../src/core/engine/model.js';
import { scoreFile, type ScoredRecord } from '../../src/core/engine/score.js';
import { spinalTrace } from '../../src/core/spinal/spinal.js';
import { recordsOnLines } from '../../src/core/records.js';
import { parseRun } from '../../src/core/runs/runs.js';
import { runModels } from '../../src/core/runs/checkpoints.js';
import type { PreferenceRecord } from '../../src/core/types.js';
import { repoRoot, scored, shared, skipWithoutShared } from '../helpers.js';

interface Side {
  prompt_ids: number[];
  ids: number[];
  logp: number[];
  sum_logp: number;
  ref_logp?: number[];
  sum_ref_logp?: number;
  sum_reward?: number;
}
interface Gold {
  line: number;
  chosen: Side;
  rejected: Side;
  margin?: number;
}

const dev = (): string => join(shared, 'data', 'hh-harmless', 'dev.jsonl');
const gold = (name: string): Gold[] => readFileSync(join(shared, 'demo', 'golden', 'hf', name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Gold);
const LEGACY = { convention: 'trl-legacy' as const, maxPromptLength: 192, maxCompletionLength: 128 };
const TRL = { convention: 'trl' as const, maxPromptLength: null, maxCompletionLength: null, maxLength: 1024, truncationMode: 'keep_start' as const };

async function score(policy: ScoringModel, ref: ScoringModel | null, limits: typeof LEGACY | typeof TRL, lines: [number, number]): Promise<ScoredRecord[]> {
  const out: ScoredRecord[] = [];
  for await (const r of scoreFile(dev(), policy, ref, { beta: 0.1, ...limits, lines, noCache: true })) out.push(scored(r));
  return out;
}

function compare(g: Gold[], got: ScoredRecord[], withRef: boolean): number {
  let max = 0;
  for (const x of g) {
    const r = got.find((y) => y.line === x.line);
    assert.ok(r?.chosen && r.rejected, `line ${x.line} scored`);
    for (const [gs, mine] of [[x.chosen, r.chosen], [x.rejected, r.rejected]] as const) {
      assert.deepEqual(mine.tokens.map((t) => t.id), gs.ids, `line ${x.line}: token ids`);
      mine.tokens.forEach((t, i) => {
        const d = Math.abs(t.logp - gs.logp[i]);
        max = Math.max(max, d);
        assert.ok(d <= 1e-5, `line ${x.line} token ${i}: logp ${t.logp} vs ${gs.logp[i]}`);
        if (withRef && gs.ref_logp) {
          const dr = Math.abs((t.ref_logp ?? NaN) - gs.ref_logp[i]);
          max = Math.max(max, dr);
          assert.ok(dr <= 1e-5, `line ${x.line} token ${i}: ref_logp ${t.ref_logp} vs ${gs.ref_logp[i]}`);
        }
      });
      assert.ok(Math.abs(mine.logp - gs.sum_logp) <= 1e-4, `line ${x.line}: sum logp`);
      if (withRef && gs.sum_reward !== undefined) assert.ok(Math.abs((mine.reward ?? NaN) - gs.sum_reward) <= 1e-4, `line ${x.line}: sum reward`);
    }
    if (withRef && x.margin !== undefined) assert.ok(Math.abs((r.margin ?? NaN) - x.margin) <= 1e-4, `line ${x.line}: margin ${r.margin} vs ${x.margin}`);
  }
  return max;
}

const cache = (): string => mkdtempSync(join(tmpdir(), 'preflens-hf-'));

for (const [name, folder, limits] of [
  ['qwen2-dev-1-10.jsonl', 'qwen2-bf16-sharded', LEGACY],
  ['qwen2-trl-dev-1-10.jsonl', 'qwen2-bf16-sharded', TRL],
  ['qwen3-dev-1-10.jsonl', 'qwen3-fp16', LEGACY],
] as const) {
  test(`${folder} (no ONNX) matches ${name}: token ids, per-token logp within 1e-5`, async (t) => {
    if (skipWithoutShared(t)) return;
    const m = await ScoringModel.load(join(shared, 'demo', 'hf', folder), { provider: 'cpu', cacheDir: cache() });
    assert.equal(m.kind, 'checkpoint');
    const max = compare(gold(name), await score(m, null, limits, [1, 10]), false);
    console.log(`${folder} vs ${name}: max |Δ logp| ${max.toExponential(2)} (${m.description})`);
  });
}

test('LoRA adapter with its base in the hub cache only: policy, reference (= the base, same session) and margins match lora-dev-1-10', async (t) => {
  if (skipWithoutShared(t)) return;
  const prev = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = join(shared, 'demo', 'hf', 'hf-cache', 'hub');
  try {
    const m = await ScoringModel.load(join(shared, 'demo', 'hf', 'llama-lora'), { provider: 'cpu', cacheDir: cache() });
    assert.equal(m.kind, 'adapter');
    assert.match(m.description, /LoRA adapter \(r 8, α 16; targets q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj\) on base preflens-demo\/tiny-hh-llama-lm from \$HF_HUB_CACHE/);
    const ref = m.baseOf();
    assert.ok(ref);
    assert.equal(ref.session, m.session);
    const max = compare(gold('lora-dev-1-10.jsonl'), await score(m, ref, LEGACY, [1, 10]), true);
    console.log(`llama-lora vs lora-dev-1-10: max |Δ| ${max.toExponential(2)}`);
    // The CLI does the same with no --ref, and says so.
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'score', dev(), '--policy', join(shared, 'demo', 'hf', 'llama-lora'), '--lines', '1-3', '--convention', 'trl-legacy', '--max-prompt-length', '192', '--max-completion-length', '128', '--no-cache'], { encoding: 'utf8', env: { ...process.env, PREFLENS_CACHE_DIR: cache() } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the reference is the adapter's base .*sharing the policy's session and one copy of the base weights/);
    const g = gold('lora-dev-1-10.jsonl');
    for (const l of r.stdout.trim().split('\n')) {
      const o = JSON.parse(l) as { line: number; margin: number };
      assert.ok(Math.abs(o.margin - (g.find((x) => x.line === o.line)?.margin ?? NaN)) <= 1e-4);
    }
  } finally {
    if (prev === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = prev;
  }
});

/** The demo folders with every file but model.onnx, as symlinks (a run as TRL leaves it). */
function withoutOnnx(): string {
  const root = mkdtempSync(join(tmpdir(), 'preflens-noonnx-'));
  const copy = (src: string, dst: string): void => {
    mkdirSync(dst, { recursive: true });
    for (const f of readdirSync(src)) {
      if (f === 'model.onnx') continue;
      const p = join(src, f);
      if (statSync(p).isDirectory()) copy(p, join(dst, f));
      else symlinkSync(p, join(dst, f));
    }
  };
  copy(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), join(root, 'tiny-hh-dpo'));
  copy(join(shared, 'demo', 'models', 'tiny-hh-sft'), join(root, 'tiny-hh-sft'));
  return root;
}

test('the demo DPO run without any model.onnx: the same numbers as the ONNX exports (within 1e-5), and checkpoints still listed for comparison', async (t) => {
  if (skipWithoutShared(t)) return;
  const root = withoutOnnx();
  const c = cache();
  const built = [await ScoringModel.load(join(root, 'tiny-hh-dpo'), { provider: 'cpu', cacheDir: c }), await ScoringModel.load(join(root, 'tiny-hh-sft'), { provider: 'cpu', cacheDir: c })];
  const onnx = [await ScoringModel.load(join(shared, 'demo', 'runs', 'tiny-hh-dpo'), { provider: 'cpu', cacheDir: c }), await ScoringModel.load(join(shared, 'demo', 'models', 'tiny-hh-sft'), { provider: 'cpu', cacheDir: c })];
  assert.equal(built[0].kind, 'checkpoint');
  assert.equal(onnx[0].kind, 'onnx');
  const a = await score(built[0], built[1], LEGACY, [1, 50]);
  const b = await score(onnx[0], onnx[1], LEGACY, [1, 50]);
  let max = 0;
  a.forEach((r, i) => {
    for (const side of ['chosen', 'rejected'] as const)
      r[side]?.tokens.forEach((tok, j) => {
        const o = b[i][side]?.tokens[j];
        max = Math.max(max, Math.abs(tok.logp - (o?.logp ?? NaN)), Math.abs((tok.ref_logp ?? 0) - (o?.ref_logp ?? NaN)));
      });
    assert.ok(Math.abs((r.margin ?? NaN) - (b[i].margin ?? NaN)) <= 1e-4);
  });
  console.log(`built GPT-2 graph vs Optimum-style export, lines 1–50: max |Δ| ${max.toExponential(2)}`);
  assert.ok(max <= 1e-5, `max ${max}`);
  const run = parseRun(join(root, 'tiny-hh-dpo'));
  const models = runModels(run);
  assert.ok(models.length >= 2 && run.checkpoints.every((ck) => ck.hasSafetensors && !ck.hasOnnx && !ck.hasAdapter));
});

for (const [name, dir] of [
  ['spinal-sft', 'tiny-hh-sft'],
  ['spinal-dpo', 'tiny-hh-dpo'],
] as const) {
  test(`${name} from safetensors only: the same SPINAL trace as the golden (within 1e-5)`, async (t) => {
    if (skipWithoutShared(t)) return;
    const root = withoutOnnx();
    const g = JSON.parse(readFileSync(join(shared, 'demo', 'golden', `${name}.json`), 'utf8')) as { layers: Array<{ contraction: number; transport: number | null; tokens: number }> };
    const recs: PreferenceRecord[] = recordsOnLines(dev(), [1, 32]);
    const trace = await spinalTrace(join(root, dir), recs, { ...LEGACY, cacheDir: cache() });
    assert.equal(trace.tokens, g.layers[0].tokens);
    let max = 0;
    trace.layers.forEach((l, i) => {
      max = Math.max(max, Math.abs(l.contraction - g.layers[i].contraction), Math.abs((l.transport ?? 0) - (g.layers[i].transport ?? 0)));
    });
    assert.ok(max <= 1e-5, `max ${max}`);
  });
}
