/** The scan's contract types (docs/ARCHITECTURE.md, "Scanning a file"). */
import type { CheckName } from '../checks/table.js';
import type { CheckOptions } from '../checks/record.js';
import type { SourceKind } from '../jsonl/reader.js';
import type { RecordIndex } from '../records.js';
import type { FormatName, RecordError } from '../types.js';
import type { RecordColumns } from './kernel.js';
import type { FormatGuess } from './detect.js';
import type { KnownFooter } from '../parquet/parquet.js';
import { LS_CANDIDATE_CHARS, LS_CANDIDATE_TOKENS, LS_CHOSEN_CHARS, LS_CHOSEN_TOKENS, LS_COMPLETION_CHARS, LS_COMPLETION_TOKENS, LS_PROMPT_CHARS, LS_PROMPT_TOKENS, LS_REJECTED_CHARS, LS_REJECTED_TOKENS } from '../kernels/layout.js';

/** What a scan finds; ScanResult adds where every record is. */
export interface ScanSummary {
  file: string;
  format: FormatName | null;
  formatSource: 'detected' | 'override';
  /** Records per format when a file mixes formats. */
  formats: Partial<Record<FormatName, number>>;
  source: SourceKind;
  bytes: number;
  lines: number;
  records: number;
  errors: RecordError[];
  errorCount: number;
  checks: Record<CheckName, number[]>;
  /** For duplicate and contradiction records: the line of the earlier record they repeat or contradict. */
  related: Record<number, number>;
  lengths: {
    tokenizer: string;
    prompt: { chars: LengthStats; tokens: LengthStats };
    chosen: { chars: LengthStats; tokens: LengthStats };
    rejected: { chars: LengthStats; tokens: LengthStats };
    completion: { chars: LengthStats; tokens: LengthStats };
    candidate: { chars: LengthStats; tokens: LengthStats };
    /** Share of pairs whose chosen response has more tokens than the rejected one. */
    chosenLongerShare: number | null;
    chosenLongerShareChars: number | null;
    pairs: number;
  };
  /** KTO: desirable / undesirable counts. */
  labels?: { desirable: number; undesirable: number };
  seconds: number;
  /** Only the first `scannedBytes` bytes were scanned (a head scan). */
  partial?: boolean;
  scannedBytes?: number;
}

export interface ScanResult extends ScanSummary {
  index: RecordIndex;
}

export interface ScanOptions {
  format?: FormatName;
  checks?: Partial<CheckOptions>;
  tokenizerDir?: string;
  /** Worker threads (default: available cores; 0 or 1 = scan on this thread). */
  workers?: number;
  /** Files smaller than this are scanned on one thread. */
  parallelThreshold?: number;
  maxErrors?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Where scanWorker.js lives (defaults to next to this module). */
  workerScript?: string;
  /**
   * Scan only the first ~headBytes bytes of a JSON Lines file (whole lines), or a Parquet file's first row groups
   * holding about that many: a quick, partial result (partial: true) so that views can show the first records of a
   * huge file while the full scan runs.
   */
  headBytes?: number;
  /**
   * With headBytes: the head's partial result is given here first, then the whole file is scanned and returned (no
   * head for a file it would cover whole: a file of headBytes or less, a Parquet file of one row group). A Parquet file
   * scanned by the kernel is read once: the head's row groups are not scanned again (their result is one of the whole
   * scan's ranges), and the workers for the rest start scanning from the file's end while the head is scanned. Else two
   * scans, the head's without a model tokenizer.
   */
  onHead?: (head: ScanSummary) => void;
  /**
   * The file's format as detectFormat found it, when the caller has it (the extension's host worker detects once per
   * version of a file, for every scan of it): not detected again.
   */
  detected?: FormatGuess;
  /** The format the scan detected (none when `detected` or `format` was given), for a caller that keeps it. */
  onDetected?: (guess: FormatGuess) => void;
  /** Only the JavaScript path (no WebAssembly kernel): the reference the kernel is tested against. */
  exactOnly?: boolean;
  /** Build the record index (default true); `preflens stats` does not need it. */
  index?: boolean;
  /**
   * Scan the first range on the calling thread while the workers scan the others. A JSON Lines range blocks the
   * thread until it is done: for a process that does nothing else (the CLI). A Parquet range returns to the event
   * loop after each row group (parquetRange.ts), so that a thread that also answers requests (the extension's host
   * worker: records, hovers) answers them within a row group's time.
   */
  inline?: boolean;
  /**
   * What a Parquet range scanned inline waits for after each row group (the host worker: until the requests it is
   * answering are answered, so that they come before the scan); default: the next turn of the event loop.
   */
  pause?: () => Promise<void>;
}


/** One byte range of a file to scan (a worker's job, or the calling thread's). */
export interface RangeTask {
  path: string;
  kind: SourceKind;
  bomLength: number;
  start: number;
  end: number;
  format: FormatName | null;
  strict: boolean;
  opts: CheckOptions;
  tokenizerDir?: string;
  maxErrors: number;
  /** Only the JavaScript path (no WebAssembly kernel): the reference the kernel is tested against. */
  exactOnly?: boolean;
  /**
   * A Parquet file's row groups [from, to) in place of a byte range (start and end unused), scanned in memory
   * (core/parquet/rowLines.ts; scan/range.ts scanParquetRange). With `claims`, two ranges share [from, to) and meet in
   * it: the row groups are claimed one at a time through the counter `claims[slot]` (row groups claimed by either), the
   * first range from `from` up, the `backward` one from `to` down, so that a thread slowed by its neighbours leaves
   * more to the other. `footer`: the file's footer as the thread that split the file parsed it (a worker then does not
   * parse it again; openParquet).
   */
  parquet?: { from: number; to: number; claims?: SharedArrayBuffer; slot?: number; backward?: boolean; footer?: KnownFooter };
}

/** Length series: prompt, chosen, rejected, completion (KTO), candidate (ranked/group) × (chars, tokens). */
export const LengthSeries = {
  PromptChars: LS_PROMPT_CHARS,
  PromptTokens: LS_PROMPT_TOKENS,
  ChosenChars: LS_CHOSEN_CHARS,
  ChosenTokens: LS_CHOSEN_TOKENS,
  RejectedChars: LS_REJECTED_CHARS,
  RejectedTokens: LS_REJECTED_TOKENS,
  CompletionChars: LS_COMPLETION_CHARS,
  CompletionTokens: LS_COMPLETION_TOKENS,
  CandidateChars: LS_CANDIDATE_CHARS,
  CandidateTokens: LS_CANDIDATE_TOKENS,
} as const;
export type LengthSeries = (typeof LengthSeries)[keyof typeof LengthSeries];

/** Length statistics of a range: counts per value below 2¹⁶ per series, larger values listed. */
export interface LengthAgg {
  hist: Uint32Array;
  big: number[][];
  sum: Float64Array;
  n: Float64Array;
  pairs: number;
  longer: number;
  longerChars: number;
  desirable: number;
  undesirable: number;
  formats: Float64Array;
}

/** What one scanned byte range produces (a worker's result). */
export interface RangeResult extends RecordColumns {
  /**
   * Every candidate of the range that can be a duplicate or contradiction within it has its exact keys in `exact` (a
   * Parquet range, which keeps no lines to read them from later: scan/range.ts scanParquetRange); the merge leaves the
   * others unkeyed unless they meet a record of another range, and those are keyed before the merge
   * (scan/scanFile.ts keyAcrossRanges).
   */
  keyed?: boolean;
  /** A Parquet range's row groups, as claimed (RangeTask.parquet). */
  rowGroups?: { from: number; to: number };
  count: number;
  /** Lines in the range (relative numbering starts at 1). */
  lineCount: number;
  errors: RecordError[];
  errorCount: number;
  /** 1: shares a signature key with another record of this range (re-keyed exactly later). */
  candidate: Uint8Array;
  /** Records with a flag set (of the checks that a record decides alone), ascending. */
  flagged: Uint32Array;
  /**
   * Exact keys (checks/record.ts exactRecordKeys) of this range's candidates, computed by the worker: (local index,
   * record key, pair key, swapped key) per candidate, in order; keys of a record that no longer parses are -2.
   */
  exact: Float64Array;
  /**
   * Fingerprints (low 32 bits) of the range's keys, sorted: record keys, and swapped keys of pairs whose two
   * responses differ. A fingerprint shared by different keys only adds candidates.
   */
  sortedRecord: Uint32Array;
  sortedSwapped: Uint32Array;
  lengths: LengthAgg;
}

export interface LengthStats {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

