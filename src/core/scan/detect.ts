/**
 * A preference file's format (docs/ARCHITECTURE.md, "Formats"): the one rule of formats/detect.ts (the majority of the
 * first 64 records), over the first records of a JSON Lines file, a JSON array or object, or the first rows of a
 * Parquet file. Every reader of a whole file (the scan, scoring a Parquet file, the hub-cache picker, the extension)
 * asks this.
 */
import { firstValues, sniffSource, type SourceKind, withFile } from '../jsonl/reader.js';
import { formatOfRecord, formatOfSample } from '../formats/detect.js';
import { isParquetFile, openParquet, ParquetError, type ParquetFile, schemaRow } from '../parquet/parquet.js';
import { parquetSample, type RowGroupLines } from '../parquet/rowLines.js';
import type { FormatName } from '../types.js';

export interface FormatGuess {
  format: FormatName | null;
  votes: Partial<Record<FormatName, number>>;
  kind: SourceKind;
  bomLength: number;
  /** The format is the Parquet schema's, not its rows': every row is read in it (strictly), a row that lacks a field an error. */
  fromSchema?: boolean;
}

/**
 * The format of a file from its first records. A Parquet file whose rows fit no format is a ParquetError that names
 * its columns (a JSON file's has `format` null: the scan reports its lines); `pf`, `lines`: the Parquet file and a
 * reader of it, already open (their memory is then reused).
 */
export async function detectFormat(path: string, opts: { sample?: number; pf?: ParquetFile; lines?: RowGroupLines } = {}): Promise<FormatGuess> {
  const sample = opts.sample ?? 64;
  if (opts.pf || isParquetFile(path)) {
    const pf = opts.pf ?? (await openParquet(path));
    const { values, unreadable } = await parquetSample(pf, sample, opts.lines);
    const guess = formatOfSample(values, sample);
    if (!guess.format && unreadable && values.length === 0) throw unreadable;
    // rows that say less than the columns (chosen and rejected all null read as prompt-only, or as nothing): the
    // columns decide, and each such row is then an error naming its missing field
    const implied = formatOfRecord(await schemaRow(pf));
    if (implied && implied !== 'prompt-only' && (guess.format === null || guess.format === 'prompt-only')) return { format: implied, votes: guess.votes, kind: 'parquet', bomLength: 0, fromSchema: true };
    if (!guess.format)
      throw new ParquetError(
        `${pf.path}: not a preference dataset: columns ${pf.columns.join(', ')} (expected e.g. prompt/chosen/rejected, chosen/rejected conversations, prompt/completion/label, or prompt/completions/rewards)`,
      );
    return { ...guess, kind: 'parquet', bomLength: 0 };
  }
  return withFile(path, (fd, size) => {
    const { kind, bomLength } = sniffSource(fd, path);
    return { ...formatOfSample(firstValues(fd, kind, bomLength, size), sample), kind, bomLength };
  });
}
