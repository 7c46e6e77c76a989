// The memory layout shared by the scan kernel (src/wasm/scanKernel.ts, AssemblyScript) and its driver (kernel.ts),
// and the codes the kernel writes (docs/ARCHITECTURE.md, "The scan kernel"). Both sides import these names, so a
// change here changes both. Plain integer constants only: AssemblyScript compiles this file too (an untyped
// integer constant is an i32 there). test/unit/scanKernel.test.ts holds the codes equal to the engine's tables.

// ---- the configuration: i32/u32 words at config + 4·CFG_*, written by the driver, read by the kernel's setup() ----
export const CFG_MODE = 0; // MODE_*
export const CFG_MAX_PROMPT = 1;
export const CFG_MAX_COMPLETION = 2; // -1: none
export const CFG_MAX_LENGTH = 3;
export const CFG_MAX_EDITS = 4;
export const CFG_TOKENS = 5; // scratch for token hashes of the low-separation check: 2 × CFG_TOKEN_CAP u32
export const CFG_TOKEN_CAP = 6;
export const CFG_BATCH_CAP = 7;
export const CFG_LINE = 8; // batch columns: u32
export const CFG_OFFSET = 9; // f64
export const CFG_LENGTH = 10; // u32
export const CFG_SUB = 11; // u32
export const CFG_FLAGS = 12; // u32
export const CFG_FORMAT = 13; // u8
export const CFG_SIG_RECORD = 14; // f64
export const CFG_SIG_SWAPPED = 15; // f64
export const CFG_HIST = 16; // u32 counts per value below DENSE, SERIES of them
export const CFG_BIG = 17; // (series, value) i32 pairs of values ≥ DENSE
export const CFG_BIG_CAP = 18;
export const CFG_AGG = 19; // f64 aggregates, AGG_*
export const CFG_ROW_F = 20; // one summary row from JavaScript: ROW_F_STRIDE f64
export const CFG_ROW_I = 21; // and ROW_I_STRIDE i32
export const CFG_PROMPT_EXTRA = 22; // special tokens the trainer adds before a prompt (truncation check)
export const CFG_RESPONSE_EXTRA = 23; // … after a (non-conversational) response
export const CFG_WORDS = 24;

// ---- how the kernel reads lines (CFG_MODE) ----
export const MODE_DETECT = 0; // per record: HH or TRL standard
export const MODE_HH = 1; // the file is Anthropic HH
export const MODE_TRL_STANDARD = 2; // the file is TRL standard
export const MODE_ROWS_ONLY = 3; // reads no line: only counts the rows JavaScript adds
export const MODE_TRL_CONVERSATIONAL = 4; // the file is TRL conversational (UltraFeedback-binarized, Tulu, …)

// ---- length statistics: series × (counts per value below DENSE, larger values listed) ----
export const SERIES = 10;
export const LS_PROMPT_CHARS = 0; // (LengthSeries in scan/types.ts)
export const LS_PROMPT_TOKENS = 1;
export const LS_CHOSEN_CHARS = 2;
export const LS_CHOSEN_TOKENS = 3;
export const LS_REJECTED_CHARS = 4;
export const LS_REJECTED_TOKENS = 5;
export const LS_COMPLETION_CHARS = 6;
export const LS_COMPLETION_TOKENS = 7;
export const LS_CANDIDATE_CHARS = 8;
export const LS_CANDIDATE_TOKENS = 9;
export const DENSE = 65536;

// ---- aggregates: f64 slots at agg + 8·AGG_* ----
export const AGG_SUM = 0; // SERIES sums
export const AGG_N = 10; // SERIES counts
export const AGG_PAIRS = 20;
export const AGG_LONGER = 21; // pairs whose chosen has more tokens
export const AGG_LONGER_CHARS = 22; // … more characters
export const AGG_DESIRABLE = 23;
export const AGG_UNDESIRABLE = 24;
export const AGG_FORMATS = 25; // records per FORMAT_NAMES index (12 formats)
export const AGG_SLOTS = 37;

// ---- a record's summary row (checks/record.ts RowFloat / RowInt) ----
export const ROW_F_OFFSET = 0;
export const ROW_F_RECORD_KEY = 1;
export const ROW_F_SWAPPED_KEY = 2;
export const ROW_F_STRIDE = 3;
export const ROW_I_LINE = 0;
export const ROW_I_LENGTH = 1;
export const ROW_I_SUB = 2;
export const ROW_I_FLAGS = 3;
export const ROW_I_KIND = 4; // KIND_CODES index: 0 pair, 1 unpaired, ≥ 2 the candidate series (checks/record.ts)
export const ROW_I_FORMAT = 5;
export const ROW_I_PROMPT_CHARS = 6;
export const ROW_I_PROMPT_TOKENS = 7;
export const ROW_I_C1_CHARS = 8;
export const ROW_I_C1_TOKENS = 9;
export const ROW_I_C2_CHARS = 10;
export const ROW_I_C2_TOKENS = 11;
export const ROW_I_EXTRA = 12; // candidates beyond the first two
export const ROW_I_LABEL = 13; // 1 desirable, 0 undesirable, -1 none
export const ROW_I_STRIDE = 14;

// ---- codes the kernel writes ----
// check bits (checks/table.ts CHECKS)
export const BIT_IDENTICAL = 1;
export const BIT_EMPTY = 2;
export const BIT_PROMPT_MISMATCH = 4;
export const BIT_LOW_SEPARATION = 32;
export const BIT_SCORE_TIE = 128;
export const BIT_SCORE_INVERSION = 256;
export const BIT_TRUNCATION = 64;
export const BIT_ENCODING = 1024;
// FORMAT_NAMES indices (types.ts)
export const FORMAT_TRL_STANDARD = 0;
export const FORMAT_TRL_CONVERSATIONAL = 1;
export const FORMAT_HH = 2;
