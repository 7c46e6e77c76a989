/**
 * The extension's JSON Lines mirror of a Parquet file (docs/ARCHITECTURE.md, "Parquet"): line N holds row N as one
 * compact JSON object, written once (streamed by row group) into the extension's storage, never beside the user's
 * file, and reused while the file's size and modification time are unchanged. The editor features (inspector,
 * Datasets view, scoring, heatmap, export) then read records at random through the same index as for a JSON Lines
 * file, and call them rows. The CLI reads Parquet directly (scan/parquet.ts) and needs no mirror.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { openParquet, rowsOf } from './parquet.js';
import { CancelledError } from '../errors.js';

/** The mirror of `path` in `dir`, written if it is not there yet; progress in rows. */
export async function parquetMirror(path: string, dir: string, opts: { onProgress?: (rows: number, total: number) => void; signal?: AbortSignal } = {}): Promise<string> {
  const st = statSync(path);
  const key = createHash('sha256').update(`${realpathSync(path)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 32);
  const mdir = join(dir, 'parquet-mirror');
  const target = join(mdir, `${key}.jsonl`);
  if (existsSync(target)) return target;
  mkdirSync(mdir, { recursive: true });
  const pf = await openParquet(path);
  const tmp = `${target}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  try {
    let buf: string[] = [];
    let last = 0;
    for await (const { row, value } of rowsOf(pf)) {
      if (opts.signal?.aborted) throw new CancelledError();
      buf.push(JSON.stringify(value));
      if (buf.length >= 2000) {
        if (!out.write(buf.join('\n') + '\n')) await once(out, 'drain');
        buf = [];
        if (row - last >= 20000) {
          last = row;
          opts.onProgress?.(row, pf.rows);
        }
      }
    }
    if (buf.length) out.write(buf.join('\n') + '\n');
    out.end();
    await once(out, 'finish');
    renameSync(tmp, target);
  } catch (e) {
    out.destroy();
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
  for (const old of all.slice(8)) unlinkSync(old.p);
  return target;
}
