// AssemblyScript (compiled to WebAssembly with SIMD by scripts/build.mjs; not part of the tsc project).
//
// The text columns of a Parquet file's row groups (src/core/parquet/rowLines.ts; docs/ARCHITECTURE.md, "Parquet"):
// Snappy decompression, the RLE/bit-packed hybrid (definition levels, dictionary indices), PLAIN byte arrays,
// dictionary lookups, giving each column a table of (address, length) pairs that the scan kernel reads where they lie
// (kernels.ts: one module, one memory); and the rows written as compact JSON objects, text cells escaped from their
// UTF-8 bytes 16 at a time. The driver (rowLines.ts) reads the file, parses page headers, and places every buffer; each
// routine here works on memory it is given and checks every length it reads against the bounds it is given, so a
// damaged page is an error returned, never a read outside the page. Buffers it reads have 16 readable bytes after
// their end, and buffers it writes 16 writable bytes (the driver's slack), for 16-byte loads and stores.

/**
 * Copies n bytes (non-overlapping): 16 at a time up to 64 (writing up to 15 bytes past dst + n, reading up to 15
 * past src + n), memory.copy beyond (a call out of WebAssembly in V8, slow for the short copies that dominate here).
 */
@inline function copy(dst: usize, src: usize, n: usize): void {
  if (n <= 16) v128.store(dst, v128.load(src));
  else if (n <= 64) {
    for (let i: usize = 0; i < n; i += 16) v128.store(dst + i, v128.load(src + i));
  } else memory.copy(dst, src, n);
}

/**
 * The unsigned LEB128 varint (at most 32 bits) at [p, se): its value in the low 32 bits and its length in bytes in the
 * high ones; 0 when it runs past se or past 5 bytes.
 */
@inline function varint(p: usize, se: usize): u64 {
  let v: u32 = 0;
  let shift: u32 = 0;
  let at = p;
  for (;;) {
    if (at >= se || shift > 28) return 0;
    const b = <u32>load<u8>(at++);
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  return (<u64>(at - p) << 32) | <u64>v;
}

// ---- Snappy (https://github.com/google/snappy/blob/main/format_description.txt) ----

/**
 * A Snappy copy: len bytes from off bytes back in the output, to op. With off ≥ 16, 16 bytes at a time: each load reads
 * only bytes already written, and the last store may write up to 15 bytes past op + len (into the next element's place
 * or the slack); closer, byte by byte (the copy repeats a short pattern).
 */
@inline function copyBack(op: usize, off: usize, len: usize): void {
  const from = op - off;
  if (off >= 16) {
    v128.store(op, v128.load(from));
    if (len > 16) for (let i: usize = 16; i < len; i += 16) v128.store(op + i, v128.load(from + i));
  } else {
    for (let i: usize = 0; i < len; i++) store<u8>(op + i, load<u8>(from + i));
  }
}

/** A literal's length stored in the `extra` (1 to 4) bytes after its tag, little-endian minus one (`after`: those bytes). */
@inline function longLiteral(after: u32, extra: usize): usize {
  return <usize>(<u64>after & ((<u64>1 << (<u64>extra << 3)) - 1)) + 1;
}

/**
 * Of elements [skip, n) of the Snappy stream at ip (fewer where it ends first), how many are literals: their tags walked,
 * nothing decoded.
 */
function literalsAhead(ip: usize, se: usize, n: i32, skip: i32): i32 {
  let lits: i32 = 0;
  for (let i = 0; i < n && ip < se; i++) {
    const t = <u32>load<u8>(ip);
    const kind = t & 3;
    if (kind != 0) {
      ip += 1 + select<usize>(4, <usize>kind, kind == 3);
      continue;
    }
    if (i >= skip) lits++;
    let len = <usize>(t >> 2) + 1;
    ip += 1;
    if (len > 60) {
      // (16 readable bytes follow the input)
      const extra = len - 60;
      len = longLiteral(load<u32>(ip), extra);
      ip += extra;
    }
    if (ip > se || len > se - ip) break; // a damaged length: the decoder refuses the page
    ip += len;
  }
  return lits;
}

// The PLAIN values of a page located while it is decompressed (plainStrings' work, done while each length is still in
// the cache: after decompression, finding them means one cache miss per value). walk 0: none; 1: values from the
// start of the output; 2: after a u32 length of definition levels and the levels (a v1 page of an optional column).
const NO_WALK: usize = 0xffffffff;
/** Values located by the last snappy() call (at most its maxN); -1 when a length ran past the page. */
export let walked: i32 = 0;
let walkOut: usize = 0;
let walkMax: i32 = 0;
let walkLevels = false;
/** The end of the last value located. */
let walkEnd: usize = 0;

/** Locates the values whose 4-byte length has been written (op ≥ next); returns the next value's `next`. */
function walkTo(op: usize, next: usize, dst: usize, de: usize): usize {
  if (walkLevels) {
    // the definition levels' length, then the levels: the first value's length follows them
    walkLevels = false;
    const levels = <usize>load<u32>(dst);
    if (levels > de - dst - 4) {
      walked = -1;
      return NO_WALK;
    }
    next = dst + 4 + levels + 4;
    if (op < next) return next;
  }
  while (op >= next && walked < walkMax) {
    const len = <usize>load<u32>(next - 4);
    if (len > de - next) {
      walked = -1;
      return NO_WALK;
    }
    store<u32>(walkOut + (<usize>walked << 3), <u32>next);
    store<u32>(walkOut + (<usize>walked << 3), <u32>len, 4);
    walked++;
    walkEnd = next + len;
    next = walkEnd + 4;
  }
  return walked < walkMax ? next : NO_WALK;
}

// Seek points (rowLines.ts: rows keyed again decompress their pages from the block before them): while seekStart has
// set a table, snappy() writes there, for each 64 KiB block of its output after the first, the input offset of the
// element that begins exactly at the block's first byte (NO_WALK when an element runs across it). The reference
// compressor (snappy.cc, and so DuckDB's and pyarrow's writers) compresses each 64 KiB block on its own, so its copies
// never reach back past the block's start: snappyFrom() decompresses from such a point, and refuses a copy that does.
export const SEEK_BLOCK: usize = 65536;
let seekOut: usize = 0;
let seekCap: i32 = 0;
/** Seek points written by the last snappy() call since seekStart (one per block, in order from block 1). */
export let seekCount: i32 = 0;

/** Starts (out ≠ 0, room for cap points) or stops (out = 0) recording seek points in the next snappy() calls. */
export function seekStart(out: usize, cap: i32): void {
  seekOut = out;
  seekCap = cap;
  seekCount = 0;
}

/**
 * Records the seek points of the blocks that begin at or before op (ipOff: the input offset of the element at op;
 * addresses absolute); returns the next block's start, NO_WALK once the table is full.
 */
function seekAt(op: usize, ipOff: usize, nextSeek: usize): usize {
  while (nextSeek <= op) {
    if (seekCount >= seekCap) return NO_WALK;
    store<u32>(seekOut + (<usize>seekCount << 2), nextSeek == op ? <u32>ipOff : <u32>NO_WALK);
    seekCount++;
    nextSeek += SEEK_BLOCK;
  }
  return nextSeek;
}

/** Where the element checkedElement() decoded ends, in the input and in the output. */
let elementIp: usize = 0;
let elementOp: usize = 0;

/**
 * The Snappy element at ip (input ending at se) decoded to op, every length and offset checked: nothing written past
 * de, no copy from before floor. False when the element is damaged (or copies from before floor); else its ends are in
 * elementIp and elementOp. 16 readable bytes follow the input.
 */
@inline function checkedElement(ip: usize, se: usize, op: usize, floor: usize, de: usize): bool {
  const tag = <u32>load<u8>(ip);
  const kind = tag & 3;
  // the 4 bytes after the tag
  const t32 = load<u32>(ip, 1);
  if (kind != 0) {
    // a copy from off bytes back in the output
    ip += 1 + select<usize>(4, <usize>kind, kind == 3);
    if (ip > se) return false;
    const len = select<usize>(<usize>((tag >> 2) & 7) + 4, <usize>(tag >> 2) + 1, kind == 1);
    const off = select<usize>((<usize>(tag >> 5) << 8) | <usize>(t32 & 0xff), select<usize>(<usize>(t32 & 0xffff), <usize>t32, kind == 2), kind == 1);
    if (off - 1 >= op - floor || len > de - op) return false; // off == 0 wraps around
    copyBack(op, off, len);
    elementIp = ip;
    elementOp = op + len;
    return true;
  }
  // a literal: its length is in the tag, or in the 1 to 4 bytes after it; its bytes follow
  let len = <usize>(tag >> 2) + 1;
  ip += 1;
  if (len > 60) {
    const extra = len - 60;
    len = longLiteral(t32, extra);
    ip += extra;
  }
  if (ip > se || len > se - ip || len > de - op) return false;
  copy(op, ip, len);
  elementIp = ip + len;
  elementOp = op + len;
  return true;
}

/**
 * Decompresses [src, src + srcLen) into [dst, dst + dstLen); returns 1 when the block decodes to exactly dstLen
 * bytes, 0 when it is damaged (a length or offset out of bounds, or a different decoded length). Elements of up to
 * 32 bytes are moved with two 16-byte loads and stores, far from the output's end (a store may write up to 31 bytes
 * past its element, into the next ones' place); near it, 16 at a time (up to 15 bytes past the output: the slack after
 * it). 16 readable bytes follow the input. With `walk` (see above), also locates up to maxN PLAIN values
 * as (address, length) pairs at `out` (their number in `walked`); with walk | 4, stops once maxN values are located and
 * decompressed, and returns 2 (the rest of the output is not written): the first rows of a page, for a sample. With
 * walk 8 (and no other bit), stops once at least maxN bytes are written (a prefix, for a sample of a page whose values
 * follow levels that must be read first) and returns 2; 1 when maxN ≥ dstLen and the whole block decodes.
 */
export function snappy(src: usize, srcLen: i32, dst: usize, dstLen: i32, walk: i32, out: usize, maxN: i32): i32 {
  const se = src + <usize>srcLen;
  const de = dst + <usize>dstLen;
  // preamble: the decoded length as a varint
  const pre = varint(src, se);
  if (pre == 0 || <u32>pre != <u32>dstLen) return 0;
  let ip = src + <usize>(pre >> 32);
  let op = dst;
  walked = 0;
  walkOut = out;
  walkMax = maxN;
  walkLevels = (walk & 3) == 2;
  const early = (walk & 4) != 0;
  const prefix = walk == 8;
  let next: usize = prefix ? (<usize>maxN < <usize>dstLen ? dst + <usize>maxN : NO_WALK) : walk == 0 || maxN <= 0 ? NO_WALK : dst + 4;
  seekCount = 0;
  let nextSeek: usize = seekOut != 0 && seekCap > 0 && <usize>dstLen > SEEK_BLOCK ? dst + SEEK_BLOCK : NO_WALK;
  // The fast loops' bounds: 64 bytes of output always left; of input, 5 (a tag and its 4 bytes; a literal's length is
  // checked) or, for the branchless loop, 40 (a tag, a literal of up to 32 bytes and the next tag), with 16 bytes of
  // output written (a copy's offset of at least 16 is then checked by one comparison).
  const se5 = se - src > 5 ? se - 5 : src;
  const se40 = se - src > 40 ? se - 40 : src;
  const de64 = de - dst > 64 ? de - 64 : dst;
  const lo = dst + 16;
  // Which fast loop: text that compresses to many literals among its copies (a quarter of the elements, in prose)
  // mispredicts a branch on each element's kind, which the branchless loop avoids at the cost of more work per element;
  // a stream of mostly copies (repeated text: a sixth or fewer literals) predicts that branch well and runs faster with
  // it. The kinds of elements 1,024 to 4,096 (past the literals that start every stream) decide, walked by their tags
  // alone (literalsAhead).
  const branchless = literalsAhead(ip, se, 4096, 1024) * 6 >= 3072;
  while (ip < se) {
    if (op >= nextSeek) nextSeek = seekAt(op, ip - src, nextSeek);
    if (op >= next) {
      if (prefix) {
        walked = <i32>(op - dst); // the prefix's length
        return 2;
      }
      if (early && walked >= walkMax) return 2; // the last value wanted is written
      next = walkTo(op, next, dst, de);
      if (early && walked >= walkMax) next = walkEnd; // decompress up to its end
    }
    const lim = min(min(next, de64), nextSeek);
    if (branchless) {
      // Elements of up to 32 bytes far from both ends and before the next value to locate, without a branch on their
      // kind: a literal moves 32 bytes from the input, a copy 32 bytes from off ≥ 16 bytes back (each 16-byte load reads
      // bytes already written), and the output advances by the element's length; the next tag is loaded from the
      // current one's length alone, so that its load overlaps the moves. Anything else (longer, kind 3, off < 16) goes
      // the checked way below.
      const span = lim > lo ? lim - lo : 0;
      let t = <u32>load<u8>(ip);
      while (ip < se40 && op - lo < span) {
        const kind = t & 3;
        const t32 = load<u32>(ip, 1);
        const lit = kind == 0;
        const len = select<usize>(<usize>((t >> 2) & 7) + 4, <usize>(t >> 2) + 1, kind == 1);
        const size = select<usize>(1 + len, <usize>kind + 1, lit);
        const off = select<usize>((<usize>(t >> 5) << 8) | <usize>(t32 & 0xff), <usize>(t32 & 0xffff), kind == 1);
        const from = select<usize>(ip + 1, op - off, lit);
        // (off - 16 > op - dst - 16, unsigned: off < 16, or off beyond the output written; off == 0 wraps around)
        if (<u32>(len > 32) | <u32>(kind == 3) | (<u32>!lit & <u32>(off - 16 > op - dst - 16))) break;
        const following = <u32>load<u8>(ip + size);
        v128.store(op, v128.load(from));
        v128.store(op, v128.load(from, 16), 16);
        op += len;
        ip += size;
        t = following;
      }
    } else {
      // The same elements with a branch on their kind (mostly copies: well predicted); a copy needs no bounds check but
      // its offset's
      while (op < lim && ip < se5) {
        const tag = <u32>load<u8>(ip);
        const kind = tag & 3;
        const t32 = load<u32>(ip, 1);
        if (kind != 0) {
          if (kind == 3) break; // 4-byte offsets (rare): the checked path below
          ip += 1 + <usize>kind;
          const one = kind == 1;
          const len = select<usize>(<usize>((tag >> 2) & 7) + 4, <usize>(tag >> 2) + 1, one);
          const off = select<usize>((<usize>(tag >> 5) << 8) | <usize>(t32 & 0xff), <usize>(t32 & 0xffff), one);
          if (off - 1 >= op - dst) return 0;
          copyBack(op, off, len);
          op += len;
          continue;
        }
        // a literal of up to 60 bytes (longer ones: the checked path below), no further than 64 bytes from the output's end
        if (tag >= 0xf0) break;
        const len = <usize>(tag >> 2) + 1;
        ip += 1;
        if (len > se - ip) return 0;
        v128.store(op, v128.load(ip));
        if (len > 16) for (let i: usize = 16; i < len; i += 16) v128.store(op + i, v128.load(ip + i));
        ip += len;
        op += len;
      }
    }
    if (ip >= se) break;
    if (op >= next || op >= nextSeek) continue;
    if (!checkedElement(ip, se, op, dst, de)) return 0;
    ip = elementIp;
    op = elementOp;
  }
  if (op != de) return 0;
  if (prefix) walked = dstLen;
  else if (op >= next) walkTo(op, next, dst, de);
  return 1;
}

/** Where the last snappyFrom() call stopped in its input (an offset from src). */
export let seekIp: i32 = 0;

/**
 * Decompresses the Snappy elements from src + ipOff (a seek point, whose element begins output byte opOff of the page:
 * see seekStart) into dst + opOff, until at least `until` bytes of the page's output (from dst) are written or the input
 * [src, src + srcLen) ends: the page's output bytes in the places a whole decompression puts them. No copy may reach
 * before dst + floorOff (the block where decompression began) and nothing is written past dst + dstLen: -1 when a copy
 * would (the stream's blocks are not independent) or an element is damaged; else the output offset reached, and
 * seekIp where the input stopped (to go on from there with opOff = the offset reached). 16 readable bytes follow the
 * input, 16 writable bytes the output.
 */
export function snappyFrom(src: usize, srcLen: i32, ipOff: i32, dst: usize, dstLen: i32, opOff: i32, floorOff: i32, until: i32): i32 {
  const se = src + <usize>srcLen;
  const de = dst + <usize>dstLen;
  const floor = dst + <usize>floorOff;
  const stop = dst + <usize>min(until, dstLen);
  let ip = src + <usize>ipOff;
  let op = dst + <usize>opOff;
  if (ipOff < 0 || opOff < floorOff || ip > se || op > de) return -1;
  while (op < stop && ip < se) {
    if (!checkedElement(ip, se, op, floor, de)) return -1;
    ip = elementIp;
    op = elementOp;
  }
  seekIp = <i32>(ip - src);
  return <i32>(op - dst);
}

// ---- RLE / bit-packed hybrid (https://parquet.apache.org/docs/file-format/data-pages/encodings/) ----

/**
 * Decodes n values of bitWidth bits (0 to 32) from [src, src + srcLen) into u32 at out. Returns 1, or 0 when the
 * data ends before n values. A bit-packed run may hold more values than are left (padding): they are skipped.
 */
export function hybrid(src: usize, srcLen: i32, bitWidth: i32, n: i32, out: usize): i32 {
  const se = src + <usize>srcLen;
  let ip = src;
  let k: i32 = 0;
  const bw = <u32>bitWidth;
  const bytesPerValue = <usize>((bitWidth + 7) >> 3);
  const mask: u64 = bw == 32 ? 0xffffffff : ((<u64>1 << bw) - 1);
  while (k < n) {
    // the run's header
    const v = varint(ip, se);
    if (v == 0) return 0;
    ip += <usize>(v >> 32);
    const h = <u32>v;
    if ((h & 1) == 0) {
      // a run of one value
      const count = <i32>(h >> 1);
      if (bytesPerValue > se - ip) return 0;
      let v: u32 = 0;
      for (let i: usize = 0; i < bytesPerValue; i++) v |= <u32>load<u8>(ip + i) << (<u32>i << 3);
      ip += bytesPerValue;
      const m = min(count, n - k);
      for (let i = 0; i < m; i++) store<u32>(out + (<usize>(k + i) << 2), v);
      k += m;
    } else {
      // groups of 8 values, bw bits each, least significant bit first
      const values = <i32>(h >> 1) * 8;
      const bytes = <usize>(h >> 1) * <usize>bw;
      if (bytes > se - ip) return 0;
      const m = min(values, n - k);
      if (bw == 0) {
        for (let i = 0; i < m; i++) store<u32>(out + (<usize>(k + i) << 2), 0);
      } else {
        let acc: u64 = 0;
        let have: u32 = 0;
        let p = ip;
        for (let i = 0; i < m; i++) {
          while (have < bw) {
            acc |= <u64>load<u8>(p++) << have;
            have += 8;
          }
          store<u32>(out + (<usize>(k + i) << 2), <u32>(acc & mask));
          acc >>= bw;
          have -= bw;
        }
      }
      ip += bytes;
      k += m;
    }
  }
  return 1;
}

// ---- values ----

/** Keeps plainStrings' look-ahead loads from being removed as dead code. */
export let sink: u32 = 0;

/**
 * n PLAIN byte arrays (u32 length, then the bytes) from [src, src + srcLen): (address, length) pairs at out.
 * Returns the bytes consumed, or -1 when a length runs past the end.
 */
export function plainStrings(src: usize, srcLen: i32, n: i32, out: usize): i32 {
  const se = src + <usize>srcLen;
  let p = src;
  let touched: u32 = 0;
  for (let i = 0; i < n; i++) {
    // a load 4 KiB ahead brings the page's next values into the cache while this one's length is read (each
    // length depends on the last, so the hardware cannot fetch ahead by itself)
    if (p + 4096 < se) touched += <u32>load<u8>(p + 4096);
    if (p + 4 > se) return -1;
    const len = <usize>load<u32>(p);
    p += 4;
    if (len > se - p) return -1;
    store<u32>(out + (<usize>i << 3), <u32>p);
    store<u32>(out + (<usize>i << 3), <u32>len, 4);
    p += len;
  }
  sink = touched;
  return <i32>(p - src);
}

/** Set by levelsCut: the values (levels equal to maxDef) before the cut, and the rows begun before it. */
export let cutPresent: i32 = 0;
export let cutRows: i32 = 0;

/**
 * Of a list leaf's levels [0, n) (u32 each), the index of the level where its `rows`-th row begins (0-based: counting
 * the levels of repetition 0), n when fewer begin; with the values before it (cutPresent) and the rows begun before it
 * (cutRows). The first rows of a page (a sample, rows keyed again) and where a row's values are (rowLines.ts).
 */
export function levelsCut(reps: usize, defs: usize, n: i32, maxDef: u32, rows: i32): i32 {
  let present: i32 = 0;
  let begun: i32 = 0;
  let i: i32 = 0;
  for (; i < n; i++) {
    if (load<u32>(reps + (<usize>i << 2)) == 0) {
      if (begun >= rows) break;
      begun++;
    }
    present += <i32>(load<u32>(defs + (<usize>i << 2)) == maxDef);
  }
  cutPresent = present;
  cutRows = begun;
  return i;
}

/** Dictionary lookups: the pairs of dict[idx[i]] at out. Returns 0 when an index is not in the dictionary. */
export function lookup(idx: usize, n: i32, dict: usize, dictN: i32, out: usize): i32 {
  for (let i = 0; i < n; i++) {
    const j = load<u32>(idx + (<usize>i << 2));
    if (j >= <u32>dictN) return 0;
    store<u64>(out + (<usize>i << 3), load<u64>(dict + (<usize>j << 3)));
  }
  return 1;
}

/** The pair of a null cell. */
const NULL_LEN: u32 = 0xffffffff;

/** How many of the n u32 levels at `levels` equal v (the present values of a page: its levels equal to maxDef). */
export function countEqual(levels: usize, n: i32, v: u32): i32 {
  const want = i32x4.splat(<i32>v);
  let acc = i32x4.splat(0);
  let i: i32 = 0;
  // four at a time: a lane of an equal level is -1, subtracted
  for (; i + 4 <= n; i += 4) acc = i32x4.sub(acc, i32x4.eq(v128.load(levels + (<usize>i << 2)), want));
  let c = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) if (load<u32>(levels + (<usize>i << 2)) == v) c++;
  return c;
}

/**
 * Places nVals value pairs (from vals) at the levels equal to maxDef among the n definition levels, null pairs at
 * the others, into out (in place when out == vals: filled from the end). Returns 0 when the counts disagree.
 */
export function spread(defs: usize, n: i32, maxDef: u32, vals: usize, nVals: i32, out: usize): i32 {
  if (countEqual(defs, n, maxDef) != nVals) return 0;
  let j = nVals - 1;
  for (let i = n - 1; i >= 0; i--) {
    const o = out + (<usize>i << 3);
    if (load<u32>(defs + (<usize>i << 2)) == maxDef) {
      store<u64>(o, load<u64>(vals + (<usize>j << 3)));
      j--;
    } else {
      store<u32>(o, 0);
      store<u32>(o, NULL_LEN, 4);
    }
  }
  return 1;
}

// ---- flat number columns (the hub's score columns: rowLines.ts numberColumn) ----

const MAX_SAFE: i64 = 9007199254740991; // 2^53 - 1

/**
 * Reads n values of a flat number column (DOUBLE, FLOAT, INT32 or INT64: `type` 0 to 3) as f64 values at `vals` and u8
 * flags at `flags`: 0 null, 1 a finite number, 2 anything else (NaN, ±Infinity, an INT64 beyond ±(2^53 − 1), which the
 * exact path reads); the value is 0 where the flag is not 1. defs: n u32 definition levels (1: present), or 0 when
 * every value is present. With idx = 0 the present values are PLAIN at [src, src + srcLen), one after another; else they
 * are u32 dictionary indices at idx into a dictionary this function decoded before (dictN f64 values at src, their
 * flags at dictFlags). Returns 1, or 0 when the PLAIN values run past srcLen or an index is not in the dictionary.
 */
export function numbers(src: usize, srcLen: i32, type: i32, idx: usize, dictN: i32, dictFlags: usize, defs: usize, n: i32, vals: usize, flags: usize): i32 {
  const width: usize = type == 0 || type == 3 ? 8 : 4;
  if (idx == 0 && srcLen < 0) return 0; // (a damaged page size: no value fits)
  let j: usize = 0; // present values read
  for (let i = 0; i < n; i++) {
    const o = vals + (<usize>i << 3);
    if (defs != 0 && load<u32>(defs + (<usize>i << 2)) != 1) {
      store<f64>(o, 0);
      store<u8>(flags + <usize>i, 0);
      continue;
    }
    let x: f64 = 0;
    let flag: u32 = 1;
    if (idx != 0) {
      const d = load<u32>(idx + (j << 2));
      if (d >= <u32>dictN) return 0;
      x = load<f64>(src + (<usize>d << 3));
      flag = <u32>load<u8>(dictFlags + <usize>d);
    } else {
      if ((j + 1) * width > <usize>srcLen) return 0;
      const p = src + j * width;
      if (type == 0) x = load<f64>(p);
      else if (type == 1) x = <f64>load<f32>(p);
      else if (type == 2) x = <f64>load<i32>(p);
      else {
        const v = load<i64>(p);
        x = <f64>v;
        if (v > MAX_SAFE || v < -MAX_SAFE) flag = 2;
      }
      if (!isFinite(x)) flag = 2;
      if (flag != 1) x = 0;
    }
    j++;
    store<f64>(o, x);
    store<u8>(flags + <usize>i, <u8>flag);
  }
  return 1;
}

// ---- lists of structs (list<struct<content, role>>: the hub's messages) ----

/** A message that is null (an element of the list, not one of its fields). */
const ELEMENT_NULL: u32 = 0xfffffffe;
// The assembly's position, kept across the pages of one leaf column chunk (a row may span pages).
export let asmRow: i32 = -1; // the current row (index of the row group)
export let asmMsg: i32 = 0; // messages placed so far
/** Starts assembling one leaf column chunk. */
export function assembleStart(): void {
  asmRow = -1;
  asmMsg = 0;
}

/**
 * Assembles the n levels of one page of a leaf of a list<struct> column (a field of the struct: `slot` 0 or 1) into
 * per-row (first message, count) pairs at `rows` and per-message field pairs at `msgs` (16 bytes a message: the two
 * fields' (address, length) pairs). Definition levels: below dList the list is null, dList an empty list, dRep a null
 * element (when elements are optional: dElem > dRep), dElem a null field, dMax a value (from `vals`, in order). The
 * first leaf (`first`) lays out rows and messages; the other must find the same layout (0 when it does not). `maxRows`,
 * `maxMsgs`: the room of the tables. Returns the values consumed + 1 (0: damaged levels).
 */
export function assemble(
  reps: usize, defs: usize, n: i32, vals: usize, nVals: i32,
  dList: u32, dRep: u32, dElem: u32, dMax: u32,
  rows: usize, msgs: usize, slot: i32, first: bool, maxRows: i32, maxMsgs: i32,
): i32 {
  let j: i32 = 0;
  for (let i = 0; i < n; i++) {
    const rep = reps != 0 ? load<u32>(reps + (<usize>i << 2)) : 0;
    const d = load<u32>(defs + (<usize>i << 2));
    if (rep > 1) return 0;
    if (rep == 0) {
      asmRow++;
      if (asmRow >= maxRows) return 0;
      const rp = rows + (<usize>asmRow << 3);
      if (d < dRep) {
        // a null or empty list: no message
        if (first) {
          store<u32>(rp, <u32>asmMsg);
          store<u32>(rp, d < dList ? NULL_LEN : 0, 4);
        } else if ((load<u32>(rp, 4) == NULL_LEN) != (d < dList) || (d >= dList && load<u32>(rp, 4) != 0)) return 0;
        continue;
      }
      if (first) {
        store<u32>(rp, <u32>asmMsg);
        store<u32>(rp, 0, 4);
      } else if (load<u32>(rp) != <u32>asmMsg) return 0;
    } else if (asmRow < 0 || d < dRep) return 0; // a repeated level continues a row with a message
    // one message of row asmRow
    if (asmMsg >= maxMsgs) return 0;
    const mp = msgs + (<usize>asmMsg << 4);
    const rp = rows + (<usize>asmRow << 3);
    if (first) store<u32>(rp, load<u32>(rp, 4) + 1, 4);
    else if (<u32>asmMsg >= load<u32>(rp) + load<u32>(rp, 4)) return 0;
    const fp = mp + (<usize>slot << 3);
    if (dElem > dRep && d == dRep) {
      // a null element
      if (first) {
        store<u32>(mp, 0);
        store<u32>(mp, ELEMENT_NULL, 4);
        store<u32>(mp, 0, 8);
        store<u32>(mp, ELEMENT_NULL, 12);
      } else if (load<u32>(mp + (<usize>(1 - slot) << 3), 4) != ELEMENT_NULL) return 0;
    } else if (!first && load<u32>(mp + (<usize>(1 - slot) << 3), 4) == ELEMENT_NULL) return 0;
    else if (d == dMax) {
      if (j >= nVals) return 0;
      store<u64>(fp, load<u64>(vals + (<usize>j << 3)));
      j++;
      if (first) store<u64>(mp + (<usize>(1 - slot) << 3), <u64>NULL_LEN << 32);
    } else {
      // a null field
      store<u32>(fp, 0);
      store<u32>(fp, NULL_LEN, 4);
      if (first) store<u64>(mp + (<usize>(1 - slot) << 3), <u64>NULL_LEN << 32);
    }
    asmMsg++;
  }
  return j + 1;
}

/** The rows assembled so far (the rows of the leaf's pages read). */
export function assembledRows(): i32 {
  return asmRow + 1;
}

// ---- rows as JSON ----

/** Bytes written by the last rows() call. */
export let written: i32 = 0;

const HEX: u64 = 0x6665646362613938; // "89abcdef" (low byte first); digits 0-7 are 0x30 + d

@inline function hexDigit(d: u32): u32 {
  return d < 8 ? 0x30 + d : <u32>((HEX >> (<u64>(d - 8) << 3)) & 0xff);
}

/** A JSON string of the bytes [p, p + len) at op: `"`, `\` and control bytes escaped, the rest copied. */
function escape(p: usize, len: usize, op: usize): usize {
  const e = p + len;
  store<u8>(op++, 0x22);
  const quote = i8x16.splat(0x22);
  const slash = i8x16.splat(0x5c);
  const space = i8x16.splat(0x20);
  for (;;) {
    while (e - p >= 16) {
      const v = v128.load(p);
      const bad = v128.or(v128.or(i8x16.lt_u(v, space), i8x16.eq(v, quote)), i8x16.eq(v, slash));
      v128.store(op, v);
      if (!v128.any_true(bad)) {
        p += 16;
        op += 16;
        continue;
      }
      const at = <usize>ctz(i8x16.bitmask(bad));
      p += at;
      op += at;
      break;
    }
    // one byte at a time: the tail, or the byte that needs an escape
    if (p >= e) break;
    const c = <u32>load<u8>(p++);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) {
      store<u8>(op++, <u8>c);
      continue;
    }
    store<u8>(op++, 0x5c);
    if (c == 0x22 || c == 0x5c) store<u8>(op++, <u8>c);
    else if (c == 0x0a) store<u8>(op++, 0x6e);
    else if (c == 0x0d) store<u8>(op++, 0x72);
    else if (c == 0x09) store<u8>(op++, 0x74);
    else {
      store<u8>(op, 0x75);
      store<u8>(op + 1, 0x30);
      store<u8>(op + 2, 0x30);
      store<u8>(op + 3, <u8>hexDigit(c >> 4));
      store<u8>(op + 4, <u8>hexDigit(c & 15));
      op += 5;
    }
  }
  store<u8>(op++, 0x22);
  return op;
}

/**
 * A list<struct> column's descriptor (kind 2; its `table` points here): the per-row (first message, count) pairs
 * (count 0xffffffff: a null list), the per-message field pairs (see assemble), and each field in schema order: its key
 * (`"name":`, address and length) and its slot in a message.
 */
const L_ROWS = 0;
const L_MSGS = 4;
const L_KEY_A = 8;
const L_KEY_A_LEN = 12;
const L_SLOT_A = 16;
const L_KEY_B = 20;
const L_KEY_B_LEN = 24;
const L_SLOT_B = 28;

/** The most row r of a list<struct> column can take as JSON (every text byte escaped as \u00XX). */
function listNeed(h: usize, r: i32): u64 {
  const rp = <usize>load<u32>(h, L_ROWS) + (<usize>r << 3);
  const count = load<u32>(rp, 4);
  if (count == NULL_LEN) return 0;
  let need: u64 = 2;
  const msgs = <usize>load<u32>(h, L_MSGS);
  const keys = <u64>load<u32>(h, L_KEY_A_LEN) + <u64>load<u32>(h, L_KEY_B_LEN);
  for (let m = load<u32>(rp); m < load<u32>(rp) + count; m++) {
    const mp = msgs + (<usize>m << 4);
    need += 8 + keys;
    for (let f: usize = 0; f < 2; f++) {
      const len = load<u32>(mp + (f << 3), 4);
      if (len < ELEMENT_NULL) need += <u64>len * 6 + 2;
    }
  }
  return need;
}

/** Writes row r of a list<struct> column as JSON at op: `[{"a":…,"b":…},null,…]`, null fields left out. */
function listJson(h: usize, r: i32, op: usize): usize {
  const rp = <usize>load<u32>(h, L_ROWS) + (<usize>r << 3);
  const start = load<u32>(rp);
  const count = load<u32>(rp, 4);
  const msgs = <usize>load<u32>(h, L_MSGS);
  store<u8>(op++, 0x5b);
  for (let m = start; m < start + count; m++) {
    if (m > start) store<u8>(op++, 0x2c);
    const mp = msgs + (<usize>m << 4);
    if (load<u32>(mp, 4) == ELEMENT_NULL) {
      store<u32>(op, 0x6c6c756e); // null
      op += 4;
      continue;
    }
    store<u8>(op++, 0x7b);
    let any = false;
    for (let f: usize = 0; f < 2; f++) {
      const fp = mp + (<usize>load<u32>(h + <usize>(f == 0 ? L_SLOT_A : L_SLOT_B)) << 3);
      const len = load<u32>(fp, 4);
      if (len == NULL_LEN) continue;
      if (any) store<u8>(op++, 0x2c);
      any = true;
      const klen = <usize>load<u32>(h + <usize>(f == 0 ? L_KEY_A_LEN : L_KEY_B_LEN));
      copy(op, <usize>load<u32>(h + <usize>(f == 0 ? L_KEY_A : L_KEY_B)), klen);
      op += klen;
      op = escape(<usize>load<u32>(fp), <usize>len, op);
    }
    store<u8>(op++, 0x7d);
  }
  store<u8>(op++, 0x5d);
  return op;
}

/**
 * Rows [from, to) as JSON Lines at [out, out + cap): `{"key":value,…}\n`, null cells left out. `cols` holds ncols
 * descriptors of 4 u32: the key's bytes (`"key":`, address and length), the kind (0: text from its UTF-8 bytes, to be
 * escaped; 1: JSON written by the driver, copied; 2: a list<struct> column, written from its tables), and the address
 * of the column's (address, length) pairs, one per row of the row group (length 0xffffffff: null; kind 2: its
 * descriptor, listJson). Stops before a row that might not fit; returns the rows written (bytes in `written`).
 */
export function rows(cols: usize, ncols: i32, from: i32, to: i32, out: usize, cap: i32): i32 {
  let op = out;
  const oe = out + <usize>cap;
  let r = from;
  for (; r < to; r++) {
    // the most this row can take: every text byte escaped as \u00XX (counted in 64 bits: no wrap-around)
    let need: u64 = 3;
    for (let c = 0; c < ncols; c++) {
      const d = cols + (<usize>c << 4);
      const kind = load<u32>(d, 8);
      if (kind == 2) {
        const ln = listNeed(<usize>load<u32>(d, 12), r);
        if (ln > 0) need += <u64>load<u32>(d, 4) + 1 + ln;
        continue;
      }
      const pair = <usize>load<u32>(d, 12) + (<usize>r << 3);
      const len = load<u32>(pair, 4);
      if (len == NULL_LEN) continue;
      need += <u64>load<u32>(d, 4) + 3 + (kind == 0 ? <u64>len * 6 : <u64>len);
    }
    if (need > <u64>(oe - op)) break;
    store<u8>(op++, 0x7b);
    let first = true;
    for (let c = 0; c < ncols; c++) {
      const d = cols + (<usize>c << 4);
      const kind = load<u32>(d, 8);
      if (kind == 2) {
        const h = <usize>load<u32>(d, 12);
        if (load<u32>(<usize>load<u32>(h, L_ROWS) + (<usize>r << 3), 4) == NULL_LEN) continue;
        if (!first) store<u8>(op++, 0x2c);
        first = false;
        const klen = <usize>load<u32>(d, 4);
        copy(op, <usize>load<u32>(d), klen);
        op = listJson(h, r, op + klen);
        continue;
      }
      const pair = <usize>load<u32>(d, 12) + (<usize>r << 3);
      const len = load<u32>(pair, 4);
      if (len == NULL_LEN) continue;
      if (!first) store<u8>(op++, 0x2c);
      first = false;
      const klen = <usize>load<u32>(d, 4);
      copy(op, <usize>load<u32>(d), klen);
      op += klen;
      const at = <usize>load<u32>(pair);
      if (kind == 0) op = escape(at, <usize>len, op);
      else {
        copy(op, at, <usize>len);
        op += <usize>len;
      }
    }
    store<u8>(op++, 0x7d);
    store<u8>(op++, 0x0a);
  }
  written = <i32>(op - out);
  return r - from;
}

