/**
 * Builds GPT-2-architecture ONNX models from weights with the project's own code (onnx-proto): the tiny test
 * model, and random models of any shape for benchmarks. Test and benchmark code: the extension never builds models. Layout and tensor names follow HF GPT-2 (Conv1D weights
 * [in, out], tied LM head); node names follow `/m/h.N/…` like torch exports, so graph surgery finds the layers.
 * LayerNormalization needs opset 17; GELU is the tanh form ("gelu_new").
 */
import { DT, encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo } from '../src/core/engine/onnx.js';
import { bytesToUnicode } from '../src/core/tokenize/offsets.js';

export interface Gpt2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  eps?: number;
}

export interface Gpt2Layer {
  ln1w: Float32Array;
  ln1b: Float32Array;
  attnW: Float32Array; // [D, 3D]
  attnB: Float32Array; // [3D]
  projW: Float32Array; // [D, D]
  projB: Float32Array;
  ln2w: Float32Array;
  ln2b: Float32Array;
  fcW: Float32Array; // [D, 4D]
  fcB: Float32Array;
  fcProjW: Float32Array; // [4D, D]
  fcProjB: Float32Array;
}

export interface Gpt2Weights {
  wte: Float32Array; // [V, D]
  wpe: Float32Array; // [P, D]
  layers: Gpt2Layer[];
  lnfw: Float32Array;
  lnfb: Float32Array;
}

/** Deterministic pseudo-random normal numbers (mulberry32 + Box–Muller). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function randomGpt2Weights(cfg: Gpt2Config, seed = 1): Gpt2Weights {
  const r = rng(seed);
  const D = cfg.nEmbd;
  const t = (n: number, std: number, mean = 0): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = mean + std * r();
    return a;
  };
  return {
    wte: t(cfg.vocabSize * D, 0.5),
    wpe: t(cfg.nPositions * D, 0.1),
    layers: Array.from({ length: cfg.nLayer }, () => ({
      ln1w: t(D, 0.1, 1),
      ln1b: t(D, 0.05),
      attnW: t(D * 3 * D, 0.5 / Math.sqrt(D)),
      attnB: t(3 * D, 0.05),
      projW: t(D * D, 0.5 / Math.sqrt(D)),
      projB: t(D, 0.05),
      ln2w: t(D, 0.1, 1),
      ln2b: t(D, 0.05),
      fcW: t(D * 4 * D, 0.5 / Math.sqrt(D)),
      fcB: t(4 * D, 0.05),
      fcProjW: t(4 * D * D, 0.5 / Math.sqrt(4 * D)),
      fcProjB: t(D, 0.05),
    })),
    lnfw: t(D, 0.1, 1),
    lnfb: t(D, 0.05),
  };
}

export function buildGpt2Onnx(cfg: Gpt2Config, w: Gpt2Weights): Uint8Array {
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const Dh = D / H;
  const eps = cfg.eps ?? 1e-5;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const n = (op: string, ins: string[], outs: string[], name: string, attrs: Record<string, number | number[]> = {}): void => {
    nodes.push(node(op, ins, outs, name, attrs));
  };
  const W = (name: string, a: Float32Array, dims: number[]): string => {
    inits.push(floatTensor(name, a, dims));
    return name;
  };
  inits.push(int64Tensor('c_axis1', [1]), int64Tensor('c_axis0', [0]), int64Tensor('c_axes12', [1, 2]), int64Tensor('c_zero', [0], []), int64Tensor('c_one', [1], []));
  inits.push(int64Tensor('c_headshape', [0, 0, H, Dh]), int64Tensor('c_flatshape', [0, 0, D]), int64Tensor('c_split', [D, D, D]));
  inits.push({ name: 'c_scale', dims: [], dataType: DT.FLOAT, floatData: [1 / Math.sqrt(Dh)] });
  inits.push({ name: 'c_neginf', dims: [], dataType: DT.FLOAT, floatData: [-1e9] });
  inits.push({ name: 'c_half', dims: [], dataType: DT.FLOAT, floatData: [0.5] }, { name: 'c_onef', dims: [], dataType: DT.FLOAT, floatData: [1] });
  inits.push({ name: 'c_gelu_a', dims: [], dataType: DT.FLOAT, floatData: [0.044715] }, { name: 'c_gelu_s', dims: [], dataType: DT.FLOAT, floatData: [Math.sqrt(2 / Math.PI)] });
  W('transformer.wte.weight', w.wte, [cfg.vocabSize, D]);
  W('transformer.wpe.weight', w.wpe, [cfg.nPositions, D]);
  // embeddings + positions
  n('Gather', ['transformer.wte.weight', 'input_ids'], ['/m/wte/out'], '/m/wte/Gather');
  n('Shape', ['input_ids'], ['/m/shape'], '/m/Shape');
  n('Gather', ['/m/shape', 'c_one'], ['/m/T'], '/m/GatherT', { axis: 0 });
  n('Range', ['c_zero', '/m/T', 'c_one'], ['/m/pos'], '/m/Range');
  n('Gather', ['transformer.wpe.weight', '/m/pos'], ['/m/wpe/out'], '/m/wpe/Gather');
  n('Add', ['/m/wte/out', '/m/wpe/out'], ['/m/embed'], '/m/Add');
  // masks: causal [T,T] and padding [B,1,1,T]
  n('Unsqueeze', ['/m/pos', 'c_axis1'], ['/m/rows'], '/m/UnsqueezeRows');
  n('Unsqueeze', ['/m/pos', 'c_axis0'], ['/m/cols'], '/m/UnsqueezeCols');
  n('LessOrEqual', ['/m/cols', '/m/rows'], ['/m/causal'], '/m/Causal');
  n('Cast', ['attention_mask'], ['/m/padb'], '/m/CastMask', { to: DT.BOOL });
  n('Unsqueeze', ['/m/padb', 'c_axes12'], ['/m/pad4'], '/m/UnsqueezeMask');
  n('And', ['/m/causal', '/m/pad4'], ['/m/mask'], '/m/And');
  let x = '/m/embed';
  w.layers.forEach((L, l) => {
    const p = `/m/h.${l}`;
    const t = `transformer.h.${l}`;
    n('LayerNormalization', [x, W(`${t}.ln_1.weight`, L.ln1w, [D]), W(`${t}.ln_1.bias`, L.ln1b, [D])], [`${p}/ln_1/out`], `${p}/ln_1/LayerNormalization`, { axis: -1, epsilon: eps });
    n('MatMul', [`${p}/ln_1/out`, W(`${t}.attn.c_attn.weight`, L.attnW, [D, 3 * D])], [`${p}/attn/qkv0`], `${p}/attn/c_attn/MatMul`);
    n('Add', [`${p}/attn/qkv0`, W(`${t}.attn.c_attn.bias`, L.attnB, [3 * D])], [`${p}/attn/qkv`], `${p}/attn/c_attn/Add`);
    n('Split', [`${p}/attn/qkv`, 'c_split'], [`${p}/attn/q0`, `${p}/attn/k0`, `${p}/attn/v0`], `${p}/attn/Split`, { axis: -1 });
    for (const z of ['q', 'k', 'v']) n('Reshape', [`${p}/attn/${z}0`, 'c_headshape'], [`${p}/attn/${z}1`], `${p}/attn/Reshape_${z}`);
    n('Transpose', [`${p}/attn/q1`], [`${p}/attn/q`], `${p}/attn/Transpose_q`, { perm: [0, 2, 1, 3] });
    n('Transpose', [`${p}/attn/k1`], [`${p}/attn/kT`], `${p}/attn/Transpose_k`, { perm: [0, 2, 3, 1] });
    n('Transpose', [`${p}/attn/v1`], [`${p}/attn/v`], `${p}/attn/Transpose_v`, { perm: [0, 2, 1, 3] });
    n('MatMul', [`${p}/attn/q`, `${p}/attn/kT`], [`${p}/attn/s0`], `${p}/attn/MatMul_qk`);
    n('Mul', [`${p}/attn/s0`, 'c_scale'], [`${p}/attn/s1`], `${p}/attn/Scale`);
    n('Where', ['/m/mask', `${p}/attn/s1`, 'c_neginf'], [`${p}/attn/s2`], `${p}/attn/Where`);
    n('Softmax', [`${p}/attn/s2`], [`${p}/attn/pr`], `${p}/attn/Softmax`, { axis: -1 });
    n('MatMul', [`${p}/attn/pr`, `${p}/attn/v`], [`${p}/attn/o0`], `${p}/attn/MatMul_pv`);
    n('Transpose', [`${p}/attn/o0`], [`${p}/attn/o1`], `${p}/attn/Transpose_o`, { perm: [0, 2, 1, 3] });
    n('Reshape', [`${p}/attn/o1`, 'c_flatshape'], [`${p}/attn/o2`], `${p}/attn/Reshape_o`);
    n('MatMul', [`${p}/attn/o2`, W(`${t}.attn.c_proj.weight`, L.projW, [D, D])], [`${p}/attn/o3`], `${p}/attn/c_proj/MatMul`);
    n('Add', [`${p}/attn/o3`, W(`${t}.attn.c_proj.bias`, L.projB, [D])], [`${p}/attn/out`], `${p}/attn/c_proj/Add`);
    n('Add', [x, `${p}/attn/out`], [`${p}/Add_output_0`], `${p}/Add`);
    n('LayerNormalization', [`${p}/Add_output_0`, W(`${t}.ln_2.weight`, L.ln2w, [D]), W(`${t}.ln_2.bias`, L.ln2b, [D])], [`${p}/ln_2/out`], `${p}/ln_2/LayerNormalization`, { axis: -1, epsilon: eps });
    n('MatMul', [`${p}/ln_2/out`, W(`${t}.mlp.c_fc.weight`, L.fcW, [D, 4 * D])], [`${p}/mlp/h0`], `${p}/mlp/c_fc/MatMul`);
    n('Add', [`${p}/mlp/h0`, W(`${t}.mlp.c_fc.bias`, L.fcB, [4 * D])], [`${p}/mlp/h`], `${p}/mlp/c_fc/Add`);
    // gelu_new(h) = 0.5 h (1 + tanh(√(2/π) (h + 0.044715 h³)))
    n('Mul', [`${p}/mlp/h`, `${p}/mlp/h`], [`${p}/mlp/h2`], `${p}/mlp/act/Mul_1`);
    n('Mul', [`${p}/mlp/h2`, `${p}/mlp/h`], [`${p}/mlp/h3`], `${p}/mlp/act/Mul_2`);
    n('Mul', [`${p}/mlp/h3`, 'c_gelu_a'], [`${p}/mlp/h3a`], `${p}/mlp/act/Mul_3`);
    n('Add', [`${p}/mlp/h`, `${p}/mlp/h3a`], [`${p}/mlp/inner`], `${p}/mlp/act/Add_1`);
    n('Mul', [`${p}/mlp/inner`, 'c_gelu_s'], [`${p}/mlp/inner2`], `${p}/mlp/act/Mul_4`);
    n('Tanh', [`${p}/mlp/inner2`], [`${p}/mlp/th`], `${p}/mlp/act/Tanh`);
    n('Add', [`${p}/mlp/th`, 'c_onef'], [`${p}/mlp/th1`], `${p}/mlp/act/Add_2`);
    n('Mul', [`${p}/mlp/h`, `${p}/mlp/th1`], [`${p}/mlp/g0`], `${p}/mlp/act/Mul_5`);
    n('Mul', [`${p}/mlp/g0`, 'c_half'], [`${p}/mlp/g`], `${p}/mlp/act/Mul_6`);
    n('MatMul', [`${p}/mlp/g`, W(`${t}.mlp.c_proj.weight`, L.fcProjW, [4 * D, D])], [`${p}/mlp/o0`], `${p}/mlp/c_proj/MatMul`);
    n('Add', [`${p}/mlp/o0`, W(`${t}.mlp.c_proj.bias`, L.fcProjB, [D])], [`${p}/mlp/out`], `${p}/mlp/c_proj/Add`);
    n('Add', [`${p}/Add_output_0`, `${p}/mlp/out`], [`${p}/Add_1_output_0`], `${p}/Add_1`);
    x = `${p}/Add_1_output_0`;
  });
  n('LayerNormalization', [x, W('transformer.ln_f.weight', w.lnfw, [D]), W('transformer.ln_f.bias', w.lnfb, [D])], ['/m/ln_f/out'], '/m/ln_f/LayerNormalization', { axis: -1, epsilon: eps });
  n('Transpose', ['transformer.wte.weight'], ['/m/lm_head/wT'], '/m/lm_head/Transpose', { perm: [1, 0] });
  n('MatMul', ['/m/ln_f/out', '/m/lm_head/wT'], ['logits'], '/m/lm_head/MatMul');
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'preflens',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'gpt2',
      node: nodes,
      initializer: inits,
      input: [valueInfo('input_ids', DT.INT64, ['batch', 'time']), valueInfo('attention_mask', DT.INT64, ['batch', 'time'])],
      output: [valueInfo('logits', DT.FLOAT, ['batch', 'time', cfg.vocabSize])],
    },
  };
  return encodeModel(model);
}

/** config.json of an HF GPT-2 checkpoint with this shape. */
export function gpt2ConfigJson(cfg: Gpt2Config, eos: number): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: cfg.vocabSize,
    n_positions: cfg.nPositions,
    n_ctx: cfg.nPositions,
    n_embd: cfg.nEmbd,
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    activation_function: 'gelu_new',
    layer_norm_epsilon: cfg.eps ?? 1e-5,
    tie_word_embeddings: true,
    bos_token_id: eos,
    eos_token_id: eos,
  };
}

/** A byte-level BPE tokenizer.json with the 256 byte tokens and no merges (+ <|endoftext|>). */
export function byteTokenizerJson(): { tokenizer: Record<string, unknown>; config: Record<string, unknown>; eos: number } {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, b) => (vocab[ch] = b));
  const eos = 256;
  vocab['<|endoftext|>'] = eos;
  return {
    tokenizer: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: [] },
    },
    config: { add_prefix_space: false, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 64, tokenizer_class: 'GPT2Tokenizer' },
    eos,
  };
}

export { DT };
