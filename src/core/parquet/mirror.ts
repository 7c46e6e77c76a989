/**
 * The extension's JSON Lines mirror of a Parquet file (docs/ARCHITECTURE.md, "Parquet"): line N holds row N as one
 * compact JSON object (parquet/jsonLines.ts), written once, row group by row group, into the extension's storage,
 * never beside the user's file, and reused while the file's size and modification time are unchanged. The editor
 * features (inspector, Datasets view, scoring, heatmap, export) then read records at random through the same index as
 * for a JSON Lines file, and call them rows. (`preflens stats` scans the same lines as they are made.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonLines } from './jsonLines.js';
import type { ParquetFile } from './parquet.js';
import type { RecordError } from '../types.js';

/**
 * The mirror of an opened Parquet file in `dir`, written if it is not there yet (parquet/jsonLines.ts; the row groups it could not read
 * are kept beside it, as errors by row); progress in rows.
 */
export async function parquetMirror(pf: ParquetFile, dir: string, opts: { onProgress?: (rows: number, total: number) => void; signal?: AbortSignal } = {}): Promise<{ path: string; errors: RecordError[] }> {
  const path = pf.path;
  const st = statSync(path);
  const key = createHash('sha256').update(`${realpathSync(path)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 32);
  const mdir = join(dir, 'parquet-mirror');
  const target = join(mdir, `${key}.jsonl`);
  const errorsFile = join(mdir, `${key}.errors.json`);
  if (existsSync(target) && existsSync(errorsFile)) return { path: target, errors: JSON.parse(readFileSync(errorsFile, 'utf8')) as RecordError[] };
  mkdirSync(mdir, { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  let errors: RecordError[];
  try {
    ({ errors } = await writeJsonLines(pf, tmp, opts));
    writeFileSync(errorsFile, JSON.stringify(errors));
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not written */
    }
    throw e;
  }
  // mirrors of older versions of files: at most the 8 most recent are kept
  const all = readdirSync(mdir)
    .filter((n) => n.endsWith('.jsonl'))
    .map((n) => ({ p: join(mdir, n), t: statSync(join(mdir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const old of all.slice(8)) {
    unlinkSync(old.p);
    rmSync(old.p.replace(/\.jsonl$/, '.errors.json'), { force: true });
  }
  return { path: target, errors };
}
