/**
 * Preference datasets in the local Hugging Face hub cache (docs/ARCHITECTURE.md, "Parquet"): the caches of
 * engine/hub.ts hubCaches, their `datasets--ORG--NAME/snapshots/<revision>/` folders, and in them the Parquet and
 * JSON Lines files whose records are preference-shaped (the format of their first rows, as a scan detects it).
 * Snapshot files are links into `blobs/` (or text pointers to them), followed when read; the path listed is the
 * snapshot's, which keeps the file's name. Nothing is downloaded.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { hubCaches, resolveModelFile } from './hub.js';
import { detectFormat } from './scan/detect.js';
import { isParquetFile, openParquet } from './parquet/parquet.js';
import type { FormatName } from './types.js';

export interface HubDataset {
  /** ORG/NAME */
  id: string;
  revision: string;
  /** The file's path in the snapshot folder. */
  file: string;
  /** Its path within the dataset (e.g. data/train_prefs-00000-of-00001.parquet). */
  name: string;
  format: FormatName;
  /** Rows (Parquet) or bytes (JSON Lines). */
  rows: number | null;
  bytes: number;
  cache: string;
}

function walk(dir: string, out: string[], depth = 0): void {
  if (depth > 6) return;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // a broken link: not downloaded
    }
    if (st.isDirectory()) walk(p, out, depth + 1);
    else if (/\.(parquet|jsonl|json|ndjson)$/i.test(n)) out.push(p);
  }
}

/** Every preference-shaped data file in the hub caches (files whose first rows match no format are left out). */
export async function hubDatasets(env: NodeJS.ProcessEnv = process.env): Promise<HubDataset[]> {
  const out: HubDataset[] = [];
  const seen = new Set<string>();
  for (const { dir } of hubCaches(env)) {
    if (!existsSync(dir) || seen.has(dir)) continue;
    seen.add(dir);
    for (const repo of readdirSync(dir).sort()) {
      const m = /^datasets--(.+?)--(.+)$/.exec(repo);
      if (!m) continue;
      const snaps = join(dir, repo, 'snapshots');
      if (!existsSync(snaps)) continue;
      for (const revision of readdirSync(snaps).sort()) {
        const root = join(snaps, revision);
        const files: string[] = [];
        walk(root, files);
        for (const file of files) {
          if (/(^|\/)(dataset_infos?|dataset_dict|state|config)\.json$/i.test(file) || file.endsWith('README.md')) continue;
          let real: string;
          try {
            real = resolveModelFile(file);
          } catch {
            continue;
          }
          const bytes = statSync(real).size;
          let format: FormatName | null = null;
          let rows: number | null = null;
          try {
            if (isParquetFile(file)) {
              const pf = await openParquet(file);
              rows = pf.rows;
              format = (await detectFormat(file, { pf })).format;
            } else format = (await detectFormat(real)).format;
          } catch {
            format = null; // not preference-shaped, or unreadable: not listed
          }
          if (format) out.push({ id: `${m[1]}/${m[2]}`, revision, file, name: relative(root, file), format, rows, bytes, cache: dir });
        }
      }
    }
  }
  return out;
}
