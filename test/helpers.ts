/** Test helpers: paths to fixtures and shared data, temp files. */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { isFailed, isSkipped, type ScoredRecord, type ScoreLine } from '../src/core/contract.js';
import { scanFile, type ScanResult } from '../src/core/scan/index.js';

// Tests run from out/test/ (transpiled by scripts/build.mjs): the repository root is two levels up.
export const repoRoot = resolve(__dirname, '..', '..');
export const fixtures = join(repoRoot, 'test', 'fixtures');
export const shared = resolve(repoRoot, '..', 'shared');
export const hasShared = existsSync(join(shared, 'data'));

export function fixture(name: string): string {
  return join(fixtures, name);
}

export function tempFile(name: string, content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflens-test-'));
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

export function skipWithoutShared(t: { skip: (msg: string) => void }): boolean {
  if (hasShared) return false;
  const msg = `../shared is absent (${shared}): skipping the real-data test`;
  console.log(msg);
  t.skip(msg);
  return true;
}

/** A small deterministic PRNG (mulberry32) for generated test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A score line that must be a scored record (not one the trainer would drop). */
export function scored(r: ScoreLine): ScoredRecord {
  if (isSkipped(r)) throw new Error(`line ${r.line} was skipped: ${r.skipped}`);
  if (isFailed(r)) throw new Error(`line ${r.line} failed: ${r.error}`);
  return r;
}

/** The scan worker's script as the tests build it (out/). */
export const scanWorkerScript = join(repoRoot, 'out', 'src', 'workers', 'scanWorker.js');

/** A scan's result as deepEqual compares two: its time left out, the index's typed arrays as plain arrays. */
export function comparableScan(res: ScanResult): unknown {
  return { ...res, seconds: 0, index: Object.fromEntries(Object.entries(res.index).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)])) };
}

/** The scan kernel's result for `path`, on one thread and with 3 workers, equals the JavaScript path's. */
export async function assertKernelSameAsJavaScript(path: string, label: string): Promise<void> {
  const reference = comparableScan(await scanFile(path, { exactOnly: true, workers: 1 }));
  assert.deepEqual(comparableScan(await scanFile(path, { workers: 1 })), reference, `${label}: kernel, one thread`);
  assert.deepEqual(comparableScan(await scanFile(path, { workers: 3, parallelThreshold: 0, workerScript: scanWorkerScript })), reference, `${label}: kernel, 3 workers`);
}
