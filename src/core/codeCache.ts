/**
 * Loading a bundle with V8's code cache (docs/ARCHITECTURE.md, "Start-up"). The CLI (dist/cli.js) and the scan worker
 * (dist/scanWorker.js) are small launchers that load their bundles (dist/cli.bundle.js, dist/scanWorker.bundle.js)
 * through loadBundle: V8 then takes the bytecode of the functions a scan runs from `<bundle>.cache`, made by the build
 * (scripts/codeCache.mjs), instead of parsing and compiling them as they are first called (40–50 ms of a `stats`
 * run's start). A cache V8 does not accept (another Node or V8 version, other V8 flags, a bundle built since) is
 * ignored: the bundle is then compiled as Node compiles any script. Node 22's module.enableCompileCache does the same
 * at run time, writing its cache in a folder; PrefLens supports Node 20 and writes nothing at run time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The environment variable that makes a run write the caches (the build's training runs: scripts/codeCache.mjs). */
export const CODE_CACHE_ENV = 'PREFLENS_CODE_CACHE';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  /** Whether V8 took the cache: true, false (rejected: compiled instead), or null (no cache file). */
  accepted: boolean | null;
  /** Writes the cache of the bundle as it is now compiled (every function run so far), for the next start. */
  saveCache(): void;
}

/** Loads a CommonJS bundle (its `module.exports`) with its V8 code cache when there is one. */
export function loadBundle(file: string): LoadedBundle {
  const source = readFileSync(file, 'utf8');
  const cacheFile = `${file}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // none: compiled as usual
  }
  // the same wrapper as Node's CommonJS loader, on one line: the bundle's line numbers are kept
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  fn.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return {
    exports: mod.exports,
    accepted: cachedData === undefined ? null : !script.cachedDataRejected,
    saveCache: () => writeFileSync(cacheFile, script.createCachedData()),
  };
}

/** Says on stderr whether the cache was taken, when PREFLENS_CODE_CACHE=report (the tests check the build's caches). */
export function report(name: string, b: LoadedBundle): void {
  if (process.env[CODE_CACHE_ENV] === 'report') process.stderr.write(`preflens: code cache of ${name}: ${b.accepted === null ? 'none' : b.accepted ? 'taken' : 'rejected'}\n`);
}
