/**
 * The project's own tiny GPT-2 model (2 layers, d=32, byte-level vocabulary of 257), built by test/gpt2.ts,
 * and a float64 pure-TypeScript forward pass that the engine is checked against. `node out/test/tinyModel.js DIR`
 * writes the model folder (test/fixtures/tiny-gpt2 is such a folder, committed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGpt2Onnx, byteTokenizerJson, gpt2ConfigJson, type Gpt2Config, type Gpt2Weights, randomGpt2Weights } from './gpt2.js';

export const TINY: Gpt2Config = { vocabSize: 257, nPositions: 64, nEmbd: 32, nLayer: 2, nHead: 4 };
export const TINY_SEED = 20261129;

export function tinyWeights(): Gpt2Weights {
  return randomGpt2Weights(TINY, TINY_SEED);
}

export function writeTinyModel(dir: string, cfg: Gpt2Config = TINY, w: Gpt2Weights = tinyWeights()): void {
  mkdirSync(dir, { recursive: true });
  const tok = byteTokenizerJson();
  writeFileSync(join(dir, 'model.onnx'), buildGpt2Onnx(cfg, w));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(gpt2ConfigJson(cfg, tok.eos), null, 2) + '\n');
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok.tokenizer) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 2) + '\n');
}

function layerNorm(x: Float64Array, g: Float32Array, b: Float32Array, eps = 1e-5): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  v /= n;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((x[i] - mean) / Math.sqrt(v + eps)) * g[i] + b[i];
  return out;
}

function matvec(x: Float64Array, W: Float32Array, bias: Float32Array | null, outDim: number): Float64Array {
  const out = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    let s = bias ? bias[j] : 0;
    for (let i = 0; i < x.length; i++) s += x[i] * W[i * outDim + j];
    out[j] = s;
  }
  return out;
}

/** Hidden states after every block (h[0] = embeddings) and log-softmax rows, in float64. */
export function forward(cfg: Gpt2Config, w: Gpt2Weights, ids: number[]): { hidden: Float64Array[][]; logprobs: Float64Array[] } {
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const Dh = D / H;
  const T = ids.length;
  let x: Float64Array[] = ids.map((id, t) => {
    const v = new Float64Array(D);
    for (let i = 0; i < D; i++) v[i] = w.wte[id * D + i] + w.wpe[t * D + i];
    return v;
  });
  const hidden: Float64Array[][] = [x.map((v) => v.slice())];
  for (const L of w.layers) {
    const a = x.map((v) => layerNorm(v, L.ln1w, L.ln1b));
    const qkv = a.map((v) => matvec(v, L.attnW, L.attnB, 3 * D));
    const att = x.map(() => new Float64Array(D));
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < Dh; i++) dot += qkv[t][h * Dh + i] * qkv[s][D + h * Dh + i];
          scores.push(dot / Math.sqrt(Dh));
        }
        const m = Math.max(...scores);
        const e = scores.map((z) => Math.exp(z - m));
        const sum = e.reduce((p, q) => p + q, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < Dh; i++) att[t][h * Dh + i] += (e[s] / sum) * qkv[s][2 * D + h * Dh + i];
      }
    }
    x = x.map((v, t) => {
      const o = matvec(att[t], L.projW, L.projB, D);
      return v.map((z, i) => z + o[i]);
    });
    x = x.map((v) => {
      const m = layerNorm(v, L.ln2w, L.ln2b);
      const h1 = matvec(m, L.fcW, L.fcB, 4 * D).map((z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))));
      const o = matvec(h1, L.fcProjW, L.fcProjB, D);
      return v.map((z, i) => z + o[i]);
    });
    hidden.push(x.map((v) => v.slice()));
  }
  const logprobs = x.map((v) => {
    const f = layerNorm(v, w.lnfw, w.lnfb);
    const logits = new Float64Array(cfg.vocabSize);
    for (let j = 0; j < cfg.vocabSize; j++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += f[i] * w.wte[j * D + i];
      logits[j] = s;
    }
    let m = -Infinity;
    for (const z of logits) m = Math.max(m, z);
    let sum = 0;
    for (const z of logits) sum += Math.exp(z - m);
    const lse = m + Math.log(sum);
    return logits.map((z) => z - lse);
  });
  return { hidden, logprobs };
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node out/test/tinyModel.js DIR');
  writeTinyModel(dir);
  console.log(`wrote ${dir}`);
}
