import { ScoringModel } from '../../out/src/core/engine/model.js';
import { scoreFile } from '../../out/src/core/engine/score.js';
import { readFileSync } from 'node:fs';
process.env.HF_HUB_CACHE = '/work/shared/demo/hf/hf-cache/hub';
const S = '/work/shared';
for (const [name, dir, conv] of [['qwen2', 'qwen2-bf16-sharded', 'trl-legacy'], ['qwen3', 'qwen3-fp16', 'trl-legacy'], ['lora', 'llama-lora', 'trl-legacy'], ['qwen2-trl', 'qwen2-bf16-sharded', 'trl']]) {
  const t0 = Date.now();
  const policy = await ScoringModel.load(`${S}/demo/hf/${dir}`, { provider: 'cpu', cacheDir: '/tmp/plcache' });
  const ref = policy.baseOf();
  console.log(name, policy.description, policy.deviceNote, 'load ms', Date.now() - t0);
  const gold = readFileSync(`${S}/demo/golden/hf/${name}-dev-1-10.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const opts = conv === 'trl' ? { beta: 0.1, convention: 'trl', maxLength: 1024, truncationMode: 'keep_start', maxPromptLength: null, maxCompletionLength: null, lines: [1, 10], noCache: true } : { beta: 0.1, convention: 'trl-legacy', maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 10], noCache: true };
  let max = 0, maxRef = 0, idsOk = true, maxM = 0;
  for await (const r of scoreFile(`${S}/data/hh-harmless/dev.jsonl`, policy, ref, opts)) {
    const g = gold.find((x) => x.line === r.line);
    for (const side of ['chosen', 'rejected']) {
      const mine = r[side], gs = g[side];
      if (JSON.stringify(mine.tokens.map((t) => t.id)) !== JSON.stringify(gs.ids)) { idsOk = false; console.log('ids differ', r.line, side, mine.tokens.length, gs.ids.length); }
      mine.tokens.forEach((t, i) => { max = Math.max(max, Math.abs(t.logp - gs.logp[i])); if (gs.ref_logp) maxRef = Math.max(maxRef, Math.abs(t.ref_logp - gs.ref_logp[i])); });
    }
    if (g.margin !== undefined) maxM = Math.max(maxM, Math.abs(r.margin - g.margin));
  }
  console.log(name, 'ids ok', idsOk, 'max |dlogp|', max, 'ref', maxRef, 'margin', maxM);
}
