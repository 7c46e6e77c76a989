/** A file's format, from its first records (docs/ARCHITECTURE.md, "Formats"). */
import { sniffSource, type SourceKind, withFile } from '../jsonl/reader.js';
import { detectFormatOf } from '../records.js';
import type { FormatName } from '../types.js';

export interface FormatGuess {
  format: FormatName | null;
  votes: Partial<Record<FormatName, number>>;
  kind: SourceKind;
  bomLength: number;
}

/** Detects a file's format from its first records (majority of the first 64 parseable records). */
export function detectFileFormat(path: string, sample = 64): FormatGuess {
  return withFile(path, (fd, size) => {
    const { kind, bomLength } = sniffSource(fd, path);
    return { ...detectFormatOf(fd, kind, bomLength, size, sample), kind, bomLength };
  });
}
