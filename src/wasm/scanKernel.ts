// AssemblyScript (compiled to WebAssembly with SIMD by scripts/build.mjs; not part of the tsc project). The scan
// kernel's entry: its parts are in scan/ (config, rows, text, records, keys); what the driver calls is exported here.
//
// The fast path of `scanRange` (src/core/scan/range.ts; docs/ARCHITECTURE.md, "The scan kernel"): JSON Lines records whose values are all plain JSON strings
// under the keys {chosen, rejected} (Anthropic HH) or {prompt, chosen, rejected} (TRL standard with an explicit
// prompt), scanned straight from the file's UTF-8 bytes, 32 or 16 bytes at a time; and the same records as the rows of
// a Parquet row group in memory (scanRows: the texts read where the Parquet kernel decoded them, raw UTF-8 with no
// JSON escapes, the two kernels sharing one memory: kernels.ts). Per text it computes what
// src/core/checks/text.ts computes from decoded strings: UTF-16 length, word-level token count (tokenize/words.ts),
// encoding problems, and the normalisation-invariant signature (see textSignature in checks/text.ts); per record
// the checks of checks/record.ts summarizeRecord. It also collects every record's columns and length statistics
// (addRow takes the rows of the JavaScript path), sorts key fingerprints for the duplicate search, and computes
// exact keys (checks/text.ts normalizedHash) of candidate lines.
//
// Anything else — another key, a number, an escape other than \n \t \r \" \\, invalid UTF-8, a control character,
// a missing "\n\nAssistant:" turn, a duplicated key, invalid JSON — stops the kernel at that line, and the line
// goes through the exact JavaScript path (JSON.parse + normalize + summarizeRecord). Every escape the fast path
// accepts has exactly one raw spelling, so byte equality of raw regions is equality of the decoded strings.


export { consumed, lines, stop, slowStart, slowLength, slowLine, batchRows, bigCount, setup, resetBatch, resetBig } from './scan/config';
export { denseTotals, addRow } from './scan/rows';
export { scan, scanRows, exactKeys, exactResult } from './scan/records';
export { scanRowsConv, exactKeysConvRow } from './scan/conv';
export { sortU32, gatherFingerprints, repeatedU32, commonU32, markCandidates, addU32, rankValue } from './scan/keys';
