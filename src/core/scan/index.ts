/** Scanning a preference file (docs/ARCHITECTURE.md, "Scanning a file"): what the rest of PrefLens uses. */
export { scanFile, defaultWorkerScript } from './scanFile.js';
export { detectFormat, type FormatGuess } from './detect.js';
export type { LengthStats, ScanOptions, ScanResult, ScanSummary } from './types.js';
