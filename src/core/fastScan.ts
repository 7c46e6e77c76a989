/**
 * Driver of the WebAssembly scan kernel (src/wasm/scanKernel.ts): reads a byte range of a JSON Lines file straight
 * into the kernel's memory and lets it summarise every line it can (flat string records: Anthropic HH and TRL
 * standard with an explicit prompt). Lines it cannot take — other formats, numbers, rare escapes, invalid UTF-8,
 * invalid JSON — are handed back one by one to the exact JavaScript path, in file order.
 */
import { readSync } from 'node:fs';
import type { FormatName } from './types.js';
import type { RawItem } from './jsonl/reader.js';
import { type CheckOptions, F_STRIDE, I_STRIDE } from './checks/record.js';
import { SCAN_KERNEL_WASM } from './generated/scanKernelWasm.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  consumed: WebAssembly.Global;
  lines: WebAssembly.Global;
  stop: WebAssembly.Global;
  slowStart: WebAssembly.Global;
  slowLength: WebAssembly.Global;
  slowLine: WebAssembly.Global;
  heapBase(): number;
  configure(format: number, maxPrompt: number, maxCompletion: number, maxLength: number, maxEdits: number, scratch: number, scratchCap: number): void;
  scan(inp: number, len: number, final: number, outF: number, outI: number, cap: number, firstLine: number, baseOffset: number): number;
  sortKeys(a: number, b: number, n: number): number;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is unavailable (then everything takes the exact path). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(SCAN_KERNEL_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

let sorter: KernelExports | null = null;

/**
 * Sorts non-negative keys (53-bit signature keys) in place: a radix sort in the kernel, which is several times
 * faster than Float64Array.prototype.sort on hundreds of thousands of keys; that sort where there is no kernel.
 */
export function sortKeys(keys: Float64Array): Float64Array {
  const mod = kernelModule();
  if (!mod || keys.length < 1024) return keys.sort();
  sorter ??= new WebAssembly.Instance(mod, {}).exports as unknown as KernelExports;
  const base = sorter.heapBase();
  const need = base + keys.byteLength * 2;
  const mem = sorter.memory;
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
  new Float64Array(mem.buffer, base, keys.length).set(keys);
  const at = sorter.sortKeys(base, base + keys.byteLength, keys.length);
  keys.set(new Float64Array(mem.buffer, at, keys.length));
  return keys;
}

/** Formats the kernel can take: the file's format (or per-record detection when the file has none). */
const KERNEL_FORMAT: Partial<Record<FormatName | 'detect', number>> = { detect: 0, hh: 1, 'trl-standard': 2 };

export function fastScanAvailable(format: FormatName | null, opts: CheckOptions): boolean {
  return KERNEL_FORMAT[format ?? 'detect'] !== undefined && opts.lowSeparationMaxEdits <= 31 && kernelModule() !== null;
}

export interface FastScanSink {
  /** Rows in the SummaryChunk layout (F_STRIDE f64 and I_STRIDE i32 each); views valid during the call only. */
  rows(f: Float64Array, i: Int32Array, n: number): void;
  /** A line the kernel did not take; `bytes` is valid during the call only. */
  slow(item: RawItem): void;
  progress(bytesDone: number): void;
}

const OUT_ROWS = 4096;
const TOKEN_SCRATCH = 1 << 16;
const INPUT = 8 << 20;
const PAGE = 65536;

/** Scans lines of [start, end) of an open file; returns the number of lines (the last line number). */
export function fastScanLines(fd: number, start: number, end: number, format: FormatName | null, opts: CheckOptions, sink: FastScanSink): number {
  const mod = kernelModule();
  if (!mod) throw new Error('the WebAssembly scan kernel is not available');
  const k = new WebAssembly.Instance(mod, {}).exports as unknown as KernelExports;
  const mem = k.memory;
  const outF = k.heapBase();
  const outI = outF + OUT_ROWS * F_STRIDE * 8;
  const scratch = outI + OUT_ROWS * I_STRIDE * 4;
  const inp = scratch + 2 * TOKEN_SCRATCH * 4;
  let cap = INPUT;
  const ensure = (bytes: number): void => {
    if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / PAGE));
  };
  ensure(inp + cap + 64);
  k.configure(
    KERNEL_FORMAT[format ?? 'detect'] ?? 0,
    opts.maxPromptLength,
    opts.maxCompletionLength ?? -1,
    opts.maxLength,
    opts.lowSeparationMaxEdits,
    scratch,
    TOKEN_SCRATCH,
  );
  let pos = start; // next file offset to read
  let bufOffset = start; // file offset of the byte at inp
  let len = 0; // bytes held at inp
  let line = 1;
  for (;;) {
    let final = pos >= end;
    if (!final && len < cap) {
      const want = Math.min(cap - len, end - pos);
      const n = readSync(fd, new Uint8Array(mem.buffer, inp + len, want), 0, want, pos);
      if (n <= 0) final = true; // the file shrank while it was scanned: take what there is
      pos += n;
      len += n;
      if (pos >= end) final = true;
    }
    let p = 0;
    let stop: number;
    for (;;) {
      const at = p;
      const rows = k.scan(inp + at, len - at, final ? 1 : 0, outF, outI, OUT_ROWS, line, bufOffset + at);
      if (rows > 0) sink.rows(new Float64Array(mem.buffer, outF, rows * F_STRIDE), new Int32Array(mem.buffer, outI, rows * I_STRIDE), rows);
      p += k.consumed.value as number;
      line += k.lines.value as number;
      stop = k.stop.value as number;
      if (stop === 1) {
        const s = at + (k.slowStart.value as number);
        sink.slow({ line: k.slowLine.value as number, offset: bufOffset + s, bytes: Buffer.from(mem.buffer, inp + s, k.slowLength.value as number) });
        continue;
      }
      if (stop === 2) continue;
      break;
    }
    if (stop === 3 && final) break;
    // Keep the unfinished line; make room for a line longer than the buffer.
    new Uint8Array(mem.buffer).copyWithin(inp, inp + p, inp + len);
    bufOffset += p;
    len -= p;
    if (len === cap) {
      cap *= 2;
      ensure(inp + cap + 64);
    }
    sink.progress(bufOffset - start);
  }
  return line - 1;
}
