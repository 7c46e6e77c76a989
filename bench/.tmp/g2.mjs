import { ScoringModel } from '../../out/src/core/engine/model.js';
import { scoreFile } from '../../out/src/core/engine/score.js';
import { spinalTrace } from '../../out/src/core/spinal/spinal.js';
import { recordsOnLines } from '../../out/src/core/records.js';
import { readFileSync } from 'node:fs';
const S = '/work/shared';
const policy = await ScoringModel.load('/tmp/noonnx/tiny-hh-dpo', { provider: 'cpu', cacheDir: '/tmp/plcache' });
const ref = await ScoringModel.load('/tmp/noonnx/tiny-hh-sft', { provider: 'cpu', cacheDir: '/tmp/plcache' });
console.log(policy.description);
const gold = readFileSync(`${S}/demo/golden/dev-1-50.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
let max = 0, ids = true;
for await (const r of scoreFile(`${S}/data/hh-harmless/dev.jsonl`, policy, ref, { beta: 0.1, convention: 'trl-legacy', maxPromptLength: 192, maxCompletionLength: 128, lines: [1, 50], noCache: true })) {
  const g = gold.find((x) => x.line === r.line);
  for (const s of ['chosen', 'rejected']) { if (JSON.stringify(r[s].tokens.map(t=>t.id)) !== JSON.stringify(g[s].ids)) ids = false; r[s].tokens.forEach((t, i) => { max = Math.max(max, Math.abs(t.logp - g[s].logp[i]), Math.abs(t.ref_logp - g[s].ref_logp[i])); }); }
}
console.log('gpt2 built: ids', ids, 'max', max);
const recs = (await recordsOnLines(`${S}/data/hh-harmless/dev.jsonl`, [1, 32])).records ?? (await recordsOnLines(`${S}/data/hh-harmless/dev.jsonl`, [1, 32]));
for (const [dir, g] of [['/tmp/noonnx/tiny-hh-sft', 'spinal-sft.json'], ['/tmp/noonnx/tiny-hh-dpo', 'spinal-dpo.json'], ['/tmp/noonnx/tiny-hh-llama-lm', 'spinal-llama.json']]) {
  const tr = await spinalTrace(dir, Array.isArray(recs) ? recs : recs.records, { provider: 'cpu', convention: 'trl-legacy', maxPromptLength: 192, maxCompletionLength: 128, cacheDir: '/tmp/plcache' });
  const gold = JSON.parse(readFileSync(`${S}/demo/golden/${g}`, 'utf8'));
  const gl = gold.layers ?? gold;
  let m = 0; tr.layers.forEach((l, i) => { m = Math.max(m, Math.abs(l.contraction - gl[i].contraction), l.transport === null ? 0 : Math.abs(l.transport - gl[i].transport)); });
  console.log(g, 'tokens', tr.tokens, gold.tokens, 'max diff', m);
}
