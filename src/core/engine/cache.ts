/**
 * Disk cache of per-sequence statistics, keyed by (model content hash, top-k, token ids of the sequence): the
 * token ids capture the tokenizer, the record text and the truncation settings, so re-scoring a file after an
 * edit computes only the records that changed, and a new reference model reuses the policy's entries.
 * Entries are written atomically (temp file + rename) and carry a sha256 of their payload: a torn or corrupted
 * entry is detected on read, deleted and recomputed, never returned.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../files.js';
import type { SeqJob, SeqStats } from './seq.js';

const MAGIC = 0x31534c50; // "PLS1"

export class ScoreCache {
  readonly dir: string;
  hits = 0;
  misses = 0;
  corrupt = 0;

  constructor(root: string, modelHash: string, readonly k: number) {
    this.dir = join(root, 'scores', `${modelHash.slice(0, 24)}-k${k}`);
  }

  key(job: SeqJob): string {
    return ScoreCache.keyOf(job);
  }

  /** The key of a sequence: sha256 of its token ids and where its response starts (the model is the folder). */
  static keyOf(job: SeqJob): string {
    const h = createHash('sha256');
    h.update(Buffer.from(Int32Array.from(job.ids).buffer));
    h.update(String(job.respStart));
    return h.digest('hex');
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.bin`);
  }

  get(job: SeqJob): SeqStats | null {
    return this.getByKey(this.key(job), job.ids.length - job.respStart);
  }

  /** The entry of the sequence with this key (ScoreCache.key) and `n` response tokens, or null. */
  getByKey(key: string, n: number): SeqStats | null {
    const p = this.path(key);
    if (!/^[0-9a-f]{64}$/.test(key) || !existsSync(p)) {
      this.misses++;
      return null;
    }
    try {
      const buf = readFileSync(p);
      const st = decode(buf, this.k, n);
      if (st) {
        this.hits++;
        return st;
      }
    } catch {
      /* unreadable: treat as corrupt */
    }
    this.corrupt++;
    this.misses++;
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
    return null;
  }

  put(job: SeqJob, st: SeqStats): void {
    const p = this.path(this.key(job));
    mkdirSync(join(this.dir, p.slice(this.dir.length + 1, this.dir.length + 3)), { recursive: true });
    writeAtomic(p, encode(st, this.k));
  }
}

export function encode(st: SeqStats, k: number): Buffer {
  const n = st.logp.length;
  const payload = Buffer.alloc(4 * (5 * n + 2 * n * k));
  let o = 0;
  for (const a of [st.logp, st.entropy, st.rank, st.topkMass, st.topkEntropy, st.topkLogp]) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(payload, o);
    o += a.byteLength;
  }
  Buffer.from(st.topkIds.buffer, st.topkIds.byteOffset, st.topkIds.byteLength).copy(payload, o);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(k, 8);
  const sum = createHash('sha256').update(payload).digest();
  return Buffer.concat([head, payload, sum]);
}

export function decode(buf: Buffer, k: number, n: number): SeqStats | null {
  if (buf.length < 44 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== n || buf.readUInt32LE(8) !== k) return null;
  const size = 4 * (5 * n + 2 * n * k);
  if (buf.length !== 12 + size + 32) return null;
  const payload = buf.subarray(12, 12 + size);
  if (!createHash('sha256').update(payload).digest().equals(buf.subarray(12 + size))) return null;
  const copy = new ArrayBuffer(size);
  new Uint8Array(copy).set(payload);
  let o = 0;
  const f = (len: number): Float32Array => {
    const a = new Float32Array(copy, o, len);
    o += len * 4;
    return a;
  };
  const st: SeqStats = { logp: f(n), entropy: f(n), rank: f(n), topkMass: f(n), topkEntropy: f(n), topkLogp: f(n * k), topkIds: new Int32Array(copy, o + 0, n * k) };
  return st;
}
