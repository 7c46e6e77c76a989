/**
 * The compiled kernels and their memory (docs/ARCHITECTURE.md, "The scan kernel" and "Parquet"): the scan kernel and
 * the Parquet kernel are one WebAssembly module (src/wasm/kernels.ts), so that a Parquet range's texts are scanned
 * where the Parquet kernel decoded them. This module owns the compiled module and the map of an instance's memory:
 * the scan kernel's fixed buffers first (SCAN_REGION bytes after the heap base), then a Parquet reader's arena, then
 * the scan kernel's scratch above it. scan/kernel.ts and parquet/rowLines.ts both place their buffers by it.
 */
import { KERNELS_WASM } from '../generated/kernelsWasm.js';
import * as L from './layout.js';

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled kernels (src/wasm/kernels.ts: the scan kernel and the Parquet kernel in one module; WebAssembly with
 * SIMD: Node ≥ 16.4, every VS Code since 1.60).
 */
export function kernelModule(): WebAssembly.Module {
  if (!compiled) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64'));
    } catch (e) {
      throw new Error(`PrefLens needs WebAssembly SIMD, which this runtime lacks (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return compiled;
}

/**
 * An instance of the kernels shared with a Parquet reader (parquet/rowLines.ts): the scan kernel's fixed buffers lie
 * in the first SCAN_REGION bytes after the heap base, the reader's arena after them (up to `top()`), and the scan
 * kernel's scratch above the arena.
 */
export interface SharedKernels {
  exports: WebAssembly.Exports;
  top(): number;
}

export const BATCH = 4096;
export const EXTRA = 1 << 15; // candidates beyond the first two that one record may have
export const MAX_CANDIDATES = EXTRA + 2;
export const BIG = 2 * (EXTRA + 3); // (series, value) pairs: room for one record's lengths, all ≥ 2¹⁶
export const TOKENS = 1 << 16;
export const INPUT = 8 << 20;
export const PAGE = 65536;

export const align = (n: number): number => (n + 15) & ~15;

/**
 * Grows an instance's memory to hold at least `bytes`: at least doubling it (when its maximum allows), so that a reader
 * filling its arena buffer by buffer grows it a few times, not once per buffer. Each grow is external memory to V8,
 * which may collect garbage for it: on the UltraFeedback Parquet benchmark, exact steps cost 29 collections a scan
 * instead of 17 (README, "Hub-shaped data"). Pages grown and not written take no memory.
 */
export function growMemory(mem: WebAssembly.Memory, bytes: number): void {
  const have = mem.buffer.byteLength;
  if (have >= bytes) return;
  const need = Math.ceil((bytes - have) / PAGE);
  try {
    mem.grow(Math.max(need, Math.ceil(have / PAGE)));
  } catch {
    mem.grow(need);
  }
}

/** The scan kernel's fixed buffers (bytes, in order), from the heap base: scan/kernel.ts ScanKernel places them. */
export function fixedBuffers(): [string, number][] {
  return [
    ['config', L.CFG_WORDS * 4],
    ['tok', 2 * TOKENS * 4],
    ['line', BATCH * 4],
    ['offset', BATCH * 8],
    ['length', BATCH * 4],
    ['sub', BATCH * 4],
    ['flags', BATCH * 4],
    ['format', BATCH],
    ['sigR', BATCH * 8],
    ['sigS', BATCH * 8],
    ['hist', L.SERIES * L.DENSE * 4],
    ['big', BIG * 8],
    ['agg', L.AGG_SLOTS * 8],
    ['rowF', L.ROW_F_STRIDE * 8],
    ['rowI', L.ROW_I_STRIDE * 4],
    ['extra', EXTRA * 16],
    ['input', INPUT + 64],
  ];
}

/** Bytes after the heap base that a scan kernel sharing its instance keeps for its fixed buffers (see SharedKernels). */
export const SCAN_REGION = fixedBuffers().reduce((s, [, n]) => s + align(n), 0);
