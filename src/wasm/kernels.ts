// AssemblyScript entry (compiled to one WebAssembly module with SIMD by scripts/build.mjs; not part of the tsc project).
//
// The scan kernel (scanKernel.ts) and the Parquet kernel (parquetKernel.ts) in one module, so that they can share one
// memory: a Parquet range's text values, decompressed by the Parquet kernel, are scanned where they lie (scanRows),
// with no JSON written and no copy (docs/ARCHITECTURE.md, "Parquet"). Each driver also uses the module alone.

export {
  consumed, lines, stop, slowStart, slowLength, slowLine, batchRows, bigCount, setup, resetBatch, resetBig, denseTotals,
  addRow, scan, scanRows, scanRowsConv, exactKeysConvRow, sortU32, exactKeys, exactResult, gatherFingerprints, repeatedU32, commonU32, markCandidates,
  addU32, rankValue,
} from './scanKernel';
export { walked, snappy, hybrid, sink, plainStrings, lookup, spread, countEqual, written, rows, assembleStart, assemble, assembledRows, seekStart, seekCount, snappyFrom, seekIp, levelsCut, cutPresent, cutRows, numbers } from './parquetKernel';

/** Where the drivers may place their buffers (after both kernels' static data). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
