/**
 * Where a model named by the user lives (docs/ARCHITECTURE.md, "Models"): a folder (absolute, or relative to the
 * adapter that names it), or a Hugging Face hub id `ORG/NAME` looked up offline in the local hub cache —
 * `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub` — as `models--ORG--NAME/refs/main` →
 * `snapshots/<hash>/`. Snapshot files are symlinks into `blobs/`; where symlinks were not available (a copy, a
 * Windows checkout) each is a small text file holding the link's target, which is followed too. Nothing is ever
 * downloaded.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ModelError } from './errors.js';

/** The hub caches searched, in order, with where each came from. */
export function hubCaches(env: NodeJS.ProcessEnv = process.env): Array<{ dir: string; from: string }> {
  const out: Array<{ dir: string; from: string }> = [];
  if (env.HF_HUB_CACHE) out.push({ dir: resolve(env.HF_HUB_CACHE), from: '$HF_HUB_CACHE' });
  if (env.HF_HOME) out.push({ dir: resolve(env.HF_HOME, 'hub'), from: '$HF_HOME/hub' });
  out.push({ dir: join(homedir(), '.cache', 'huggingface', 'hub'), from: '~/.cache/huggingface/hub' });
  return out;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Whether a model reference has the form of a hub id (ORG/NAME) rather than a path. */
export function isHubId(ref: string): boolean {
  return HUB_ID.test(ref);
}
const POINTER = /^(?:\.\.\/)+blobs\/[0-9a-f]{40,64}\s*$/;

/**
 * The file to read for `path`: itself, the target of a symlink, or the blob a text pointer names. A snapshot file
 * that cannot be followed is an error naming it.
 */
export function resolveModelFile(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new ModelError(`${path}: a broken link (its target in the hub cache's blobs/ is missing)`);
  }
  const st = statSync(real);
  if (st.isFile() && st.size < 200) {
    const text = readFileSync(real, 'utf8');
    if (POINTER.test(text)) {
      const target = resolve(dirname(path), text.trim());
      if (!existsSync(target)) throw new ModelError(`${path} points to ${text.trim()}, which is not in the hub cache`);
      return realpathSync(target);
    }
  }
  return real;
}

/**
 * A JSON object file of a model or tokenizer folder (followed through hub-cache links), or `fail` with a message
 * naming the file: unreadable, not JSON, or not an object.
 */
export function readJsonObject(path: string, what: string, fail: new (message: string) => Error = ModelError): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(resolveModelFile(path), 'utf8');
  } catch (e) {
    if (e instanceof ModelError) throw new fail(e.message);
    throw new fail(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new fail(`${path}: ${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

export interface Located {
  dir: string;
  /** How it was found: "folder" or the hub cache that held it. */
  foundIn: string;
  hubId?: string;
}

/** A folder, or a hub id in the local hub cache; `relativeTo` is the folder of the file that named it. */
export function locateModel(ref: string, relativeTo?: string, env: NodeJS.ProcessEnv = process.env): Located {
  const candidates = [isAbsolute(ref) ? ref : relativeTo ? resolve(relativeTo, ref) : resolve(ref)];
  if (!isAbsolute(ref) && relativeTo) candidates.push(resolve(ref));
  for (const c of candidates) if (existsSync(c) && statSync(c).isDirectory()) return { dir: c, foundIn: 'folder' };
  const searched = [...candidates];
  if (isHubId(ref)) {
    const [org, name] = ref.split('/');
    for (const cache of hubCaches(env)) {
      const repo = join(cache.dir, `models--${org}--${name}`);
      searched.push(`${repo} (${cache.from})`);
      if (!existsSync(repo)) continue;
      const snaps = join(repo, 'snapshots');
      let rev: string | null = null;
      const refMain = join(repo, 'refs', 'main');
      if (existsSync(refMain)) rev = readFileSync(refMain, 'utf8').trim();
      else if (existsSync(snaps)) {
        const all = readdirSync(snaps);
        if (all.length === 1) rev = all[0];
      }
      if (rev && existsSync(join(snaps, rev))) return { dir: join(snaps, rev), foundIn: `${cache.from} (${cache.dir})`, hubId: ref };
    }
  }
  throw new ModelError(
    `cannot find the model "${ref}" (nothing is downloaded). Searched:\n  ${searched.join('\n  ')}` +
      (isHubId(ref) ? '\nDownload it first (huggingface-cli download ' + ref + '), or set HF_HUB_CACHE to the cache that holds it.' : ''),
  );
}
