// The scan kernel's configuration, its buffers' addresses and the results of a scan() call, read by the driver
// (src/core/scan/kernel.ts; the words' layout in src/core/kernels/layout.ts).

import { CFG_AGG, CFG_BATCH_CAP, CFG_BIG, CFG_BIG_CAP, CFG_FLAGS, CFG_FORMAT, CFG_HIST, CFG_LENGTH, CFG_LINE, CFG_MAX_COMPLETION, CFG_MAX_EDITS, CFG_MAX_LENGTH, CFG_MAX_PROMPT, CFG_MODE, CFG_OFFSET, CFG_PROMPT_EXTRA, CFG_RESPONSE_EXTRA, CFG_ROW_F, CFG_ROW_I, CFG_SIG_RECORD, CFG_SIG_SWAPPED, CFG_SUB, CFG_TOKENS, CFG_TOKEN_CAP } from '../../core/kernels/layout';

// ---- results of the last scan() call, read by the driver ----
export let consumed: i32 = 0; // bytes consumed from the input (whole lines)
export let lines: i32 = 0; // lines consumed (blank, fast and, when stop = 1, the slow line too)
export let stop: i32 = 0; // 0: need more input, 1: slow line, 2: batch full, 3: input exhausted (final), 4: big list full
export let slowStart: i32 = 0; // slow line: start (relative to the input), length (without CR/LF), line number
export let slowLength: i32 = 0;
export let slowLine: i32 = 0;
// The format exactKeys() reads a line in (a FORMAT_NAMES index).
export let exactFormat: i32 = -1;

// ---- configuration and the driver's buffers (kernel.ts writes them; layout in core/kernels/layout.ts) ----
export let cfgMode: i32 = 0; // MODE_*
export let cfgMaxPrompt: i32 = 512;
export let cfgMaxCompletion: i32 = -1; // -1: none
export let cfgMaxLength: i32 = 1024;
export let cfgPromptExtra: i32 = 0; // special tokens before the prompt
export let cfgResponseExtra: i32 = 1; // … after each response (EOS)
export let cfgMaxEdits: i32 = 3;
export let tokA: usize = 0; // scratch for token hashes (low-separation check), tokCap entries each
export let tokB: usize = 0;
export let tokCap: i32 = 0;
// The batch: columns of up to batchCap records, appended by scan() and addRow(), drained by the driver.
export let batchCap: i32 = 0;
export let batchRows: i32 = 0;
export let bLine: usize = 0; // u32
export let bOffset: usize = 0; // f64
export let bLength: usize = 0; // u32
export let bSub: usize = 0; // u32
export let bFlags: usize = 0; // u32
export let bFormat: usize = 0; // u8
export let bSigRecord: usize = 0; // f64
export let bSigSwapped: usize = 0; // f64
// Length statistics (scan/range.ts LengthAgg): counts per value below 2^16 for 10 series, larger values listed
// as (series, value) pairs, and f64 sums: sum[10], n[10], pairs, longer, longerChars, desirable, undesirable,
// formats[12] (core/kernels/layout.ts AGG_*).
export let hist: usize = 0;
export let big: usize = 0;
export let bigCap: i32 = 0;
export let bigCount: i32 = 0;
export let agg: usize = 0;
// One summary row from JavaScript (ROW_F_* f64, ROW_I_* i32), for addRow().
export let rowF: usize = 0;
export let rowI: usize = 0;

/** Reads the configuration written at `c` (words CFG_* of core/kernels/layout.ts). */
export function setup(c: usize): void {
  cfgMode = load<i32>(c + (CFG_MODE << 2));
  cfgMaxPrompt = load<i32>(c + (CFG_MAX_PROMPT << 2));
  cfgMaxCompletion = load<i32>(c + (CFG_MAX_COMPLETION << 2));
  cfgMaxLength = load<i32>(c + (CFG_MAX_LENGTH << 2));
  cfgPromptExtra = load<i32>(c + (CFG_PROMPT_EXTRA << 2));
  cfgResponseExtra = load<i32>(c + (CFG_RESPONSE_EXTRA << 2));
  cfgMaxEdits = load<i32>(c + (CFG_MAX_EDITS << 2));
  tokA = load<u32>(c + (CFG_TOKENS << 2));
  tokCap = load<i32>(c + (CFG_TOKEN_CAP << 2));
  tokB = tokA + (<usize>tokCap << 2);
  batchCap = load<i32>(c + (CFG_BATCH_CAP << 2));
  bLine = load<u32>(c + (CFG_LINE << 2));
  bOffset = load<u32>(c + (CFG_OFFSET << 2));
  bLength = load<u32>(c + (CFG_LENGTH << 2));
  bSub = load<u32>(c + (CFG_SUB << 2));
  bFlags = load<u32>(c + (CFG_FLAGS << 2));
  bFormat = load<u32>(c + (CFG_FORMAT << 2));
  bSigRecord = load<u32>(c + (CFG_SIG_RECORD << 2));
  bSigSwapped = load<u32>(c + (CFG_SIG_SWAPPED << 2));
  hist = load<u32>(c + (CFG_HIST << 2));
  big = load<u32>(c + (CFG_BIG << 2));
  bigCap = load<i32>(c + (CFG_BIG_CAP << 2));
  agg = load<u32>(c + (CFG_AGG << 2));
  rowF = load<u32>(c + (CFG_ROW_F << 2));
  rowI = load<u32>(c + (CFG_ROW_I << 2));
  batchRows = 0;
  bigCount = 0;
}

export function resetBatch(): void {
  batchRows = 0;
}

export function resetBig(): void {
  bigCount = 0;
}
