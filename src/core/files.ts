/**
 * Small file helpers every layer uses: where PrefLens keeps its caches, and writing a file atomically.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** PrefLens' cache folder: $PREFLENS_CACHE_DIR, else $XDG_CACHE_HOME/preflens, else ~/.cache/preflens. */
export function defaultCacheDir(): string {
  const base = process.env.PREFLENS_CACHE_DIR ?? (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'preflens') : join(homedir(), '.cache', 'preflens'));
  return resolve(base);
}

/** Writes a file atomically (temp file + rename): a crash never leaves a half-written file under `path`. */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
