/**
 * safetensors files as transformers and PEFT write them (docs/ARCHITECTURE.md, "Models"): an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the
 * tensors' bytes. A checkpoint is one file or shards named by `model.safetensors.index.json` (`weight_map`).
 * Only headers are read here; tensor bytes are read on demand (small tensors) or handed to onnxruntime as external
 * data (offset, length) in place.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelError } from '../errors.js';
import { readBytes, withFile } from '../jsonl/reader.js';
import { halfToFloat } from '../floats.js';

export type Dtype = 'F32' | 'F16' | 'BF16';
export const DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16'];
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** The file that holds it, and its bytes' absolute offset and length in that file. */
  file: string;
  offset: number;
  length: number;
}

/** Reads one file's header, checking every entry against the file's size. */
export function readHeader(file: string): TensorInfo[] {
  let opened: { size: number; n: bigint; header: unknown };
  try {
    opened = withFile(file, (fd, size) => {
      if (size < 8) throw new ModelError(`${file}: truncated safetensors file (${size} bytes, no header)`);
      const n = readBytes(fd, 0, 8).readBigUInt64LE(0);
      if (n > BigInt(size - 8) || n > 100_000_000n) throw new ModelError(`${file}: the header length (${n} bytes) points past the end of the file (${size} bytes): truncated or not a safetensors file`);
      try {
        return { size, n, header: JSON.parse(readBytes(fd, 8, Number(n)).toString('utf8')) as unknown };
      } catch (e) {
        throw new ModelError(`${file}: the safetensors header is not JSON (${e instanceof Error ? e.message : String(e)})`);
      }
    });
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const { size, n, header } = opened;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelError(`${file}: the safetensors header is not a JSON object`);
  const base = 8 + Number(n);
  const out: TensorInfo[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      throw new ModelError(`${file}: tensor "${name}": malformed header entry (needs dtype, shape, data_offsets)`);
    if (!(DTYPES as readonly string[]).includes(e.dtype))
      throw new ModelError(`${file}: tensor "${name}" has dtype ${e.dtype}; PrefLens reads ${DTYPES.join(', ')} checkpoints (quantised ${e.dtype} weights are not supported)`);
    const dtype = e.dtype as Dtype;
    if (!(e.shape as unknown[]).every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
      throw new ModelError(`${file}: tensor "${name}": shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    const shape = e.shape as number[];
    const [b, en] = e.data_offsets as unknown[];
    if (!(typeof b === 'number' && typeof en === 'number' && Number.isSafeInteger(b) && Number.isSafeInteger(en) && 0 <= b && b <= en))
      throw new ModelError(`${file}: tensor "${name}": data_offsets ${JSON.stringify(e.data_offsets)} must be two integers 0 ≤ begin ≤ end`);
    const elems = shape.reduce((s, d) => s * d, 1);
    if (en - b !== elems * BYTES[dtype]) throw new ModelError(`${file}: tensor "${name}": shape [${shape.join(', ')}] ${dtype} needs ${elems * BYTES[dtype]} bytes but data_offsets give ${en - b}`);
    if (base + en > size) throw new ModelError(`${file}: tensor "${name}" points past the end of the file (its data ends at byte ${base + en}, the file has ${size}): the file is truncated`);
    out.push({ name, dtype, shape, file, offset: base + b, length: en - b });
  }
  // The safetensors format (and its loaders) require the tensors to cover the data section exactly: in order, no
  // overlap, no hole, nothing after the last one.
  const sorted = [...out].sort((x, y) => x.offset - y.offset || x.length - y.length);
  let at = base;
  for (const t of sorted) {
    if (t.offset < at) {
      const other = sorted.find((o) => o !== t && o.offset <= t.offset && o.offset + o.length > t.offset);
      throw new ModelError(`${file}: tensor "${t.name}" overlaps${other ? ` tensor "${other.name}"` : ' another tensor'} (data_offsets must not overlap)`);
    }
    if (t.offset > at) throw new ModelError(`${file}: ${t.offset - at} bytes before tensor "${t.name}" belong to no tensor (data_offsets must leave no hole)`);
    at = t.offset + t.length;
  }
  if (at !== size) throw new ModelError(`${file}: its last ${size - at} bytes belong to no tensor (data_offsets must cover the data section exactly)`);
  return out;
}

/** The tensors of a checkpoint folder (one file, or the shards of model.safetensors.index.json), by name. */
export class SafetensorsCheckpoint {
  private constructor(
    readonly dir: string,
    readonly files: string[],
    readonly tensors: Map<string, TensorInfo>,
  ) {}

  static has(dir: string, stem = 'model'): boolean {
    return existsSync(join(dir, `${stem}.safetensors`)) || existsSync(join(dir, `${stem}.safetensors.index.json`));
  }

  /** `resolveFile` maps a file name in the folder to the path to read (hub-cache snapshots point into blobs/). */
  static open(dir: string, stem = 'model', resolveFile: (p: string) => string = (p) => p): SafetensorsCheckpoint {
    const index = join(dir, `${stem}.safetensors.index.json`);
    if (existsSync(index)) {
      let raw: unknown;
      try {
        raw = (JSON.parse(readFileSync(resolveFile(index), 'utf8')) as { weight_map?: unknown }).weight_map;
      } catch (e) {
        throw new ModelError(`${index}: not a safetensors index (${e instanceof Error ? e.message : String(e)})`);
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelError(`${index}: not a safetensors index (no "weight_map" object)`);
      // tensor → shard file; names are data (a Map, never object keys)
      const weightMap = new Map<string, string>();
      for (const [t, f] of Object.entries(raw)) {
        if (typeof f !== 'string' || !f || f.includes('/') || f.includes('\\') || f === '.' || f === '..')
          throw new ModelError(`${index}: weight_map["${t}"] is ${JSON.stringify(f)}, not the file name of a shard in this folder`);
        weightMap.set(t, f);
      }
      const names = [...new Set(weightMap.values())];
      for (const f of names) if (!existsSync(join(dir, f))) throw new ModelError(`${index} names the shard ${f}, which is not in ${dir}`);
      const tensors = new Map<string, TensorInfo>();
      const files = names.map((f) => resolveFile(join(dir, f)));
      names.forEach((f, i) => {
        for (const t of readHeader(files[i])) {
          // every tensor in exactly the shard the index names (transformers reads each tensor from that shard)
          const named = weightMap.get(t.name);
          if (named === undefined) throw new ModelError(`${join(dir, f)}: tensor "${t.name}" is in this shard, but ${basename(index)} does not list it`);
          if (named !== f) throw new ModelError(`${join(dir, f)}: tensor "${t.name}" is in this shard, but ${basename(index)} puts it in ${named}`);
          tensors.set(t.name, t);
        }
      });
      for (const [t, f] of weightMap)
        if (!tensors.has(t)) throw new ModelError(`${join(dir, f)}: the index says tensor "${t}" is in this shard, but it is not`);
      return new SafetensorsCheckpoint(dir, files, tensors);
    }
    const single = join(dir, `${stem}.safetensors`);
    if (!existsSync(single)) throw new ModelError(`${dir}: no ${stem}.safetensors or ${stem}.safetensors.index.json`);
    const path = resolveFile(single);
    const tensors = new Map(readHeader(path).map((t) => [t.name, t]));
    return new SafetensorsCheckpoint(dir, [path], tensors);
  }

  get(name: string): TensorInfo | undefined {
    return this.tensors.get(name);
  }

  /** The tensor, which must exist with this shape. */
  need(name: string, shape: number[]): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ModelError(`${this.where()}: tensor "${name}" is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new ModelError(`${t.file}: tensor "${name}" has shape [${t.shape.join(', ')}], but config.json implies [${shape.join(', ')}]`);
    return t;
  }

  private where(): string {
    return this.files.length === 1 ? this.files[0] : `${this.dir} (${this.files.map((f) => basename(f)).join(', ')})`;
  }

  /** Parameters and the dtypes found. */
  summary(): { parameters: number; dtypes: Dtype[]; bytes: number } {
    let parameters = 0;
    let bytes = 0;
    const d = new Set<Dtype>();
    for (const t of this.tensors.values()) {
      parameters += t.shape.reduce((s, x) => s * x, 1);
      bytes += t.length;
      d.add(t.dtype);
    }
    return { parameters, dtypes: [...d], bytes };
  }

  /** The one folder that holds every file (onnxruntime reads external data from one folder), or null. */
  commonFolder(): string | null {
    const dirs = new Set(this.files.map((f) => dirname(f)));
    return dirs.size === 1 ? [...dirs][0] : null;
  }
}

/** A tensor's values as float32 (for small tensors: adapters, norms, the logit lens). */
export function readFloat32(t: Pick<TensorInfo, 'name' | 'dtype' | 'file' | 'offset' | 'length'>): Float32Array {
  const bytes = withFile(t.file, (fd) => readBytes(fd, t.offset, t.length));
  if (bytes.length < t.length) throw new ModelError(`${t.file}: tensor "${t.name}": unexpected end of file`);
  return toFloat32(bytes, t.dtype);
}

export function toFloat32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  if (dtype === 'F32') {
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  }
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  const u16 = new Uint16Array(n);
  for (let i = 0; i < n; i++) u16[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = u16[i] << 16;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = halfToFloat(u16[i]);
  return out;
}
