/** Scanning a stretch of a Parquet file's row groups (docs/ARCHITECTURE.md, "Parquet"). */
import { columnWarnings, openParquet, ParquetError, type ParquetFile, rowGroupBytes, rowGroupOf } from '../parquet/parquet.js';
import { linesOf, RowGroupLines } from '../parquet/rowLines.js';
import { type RecordKeys, type TokenCounter } from '../checks/record.js';
import { FORMAT_NAMES, type RecordError } from '../types.js';
import type { RangeResult, RangeTask } from './types.js';


import { exactKeysOf } from './builder.js';
import { RangeScan } from './rangeScan.js';

/**
 * Scans row groups [from, to) of a Parquet file (docs/ARCHITECTURE.md, "Parquet"), one at a time. The scan kernel shares
 * the Parquet reader's memory (parquet/rowLines.ts): a row group with exactly the columns chosen, rejected (and prompt)
 * has its texts scanned where they were decoded (ScanKernel.rowStream `rows`), its rows the kernel does not read going
 * to the JavaScript path as their JSON lines; any other row group is scanned as its JSON Lines, in place. With a model
 * tokenizer (or exactOnly) every row goes through the JavaScript path as a JSON line. No line is kept. After each row group, its records that meet each other
 * by full signature key (RangeBuilder.matchNew) are keyed exactly while the row group is in memory; at the end, the
 * candidates that meet a record of another row group (RangeBuilder.meetAny) are keyed from their row groups read
 * again — none for duplicates next to each other, a second decoding of the row groups that hold them for duplicates
 * far apart. The result is `keyed`: a candidate without keys meets no other record of the range. The unreadable row groups are blank
 * lines and errors. Progress in bytes of the Parquet file (its row groups' compressed sizes). `opened`: the file and a
 * reader of it, already open on this thread, and what to wait for after each row group (ScanOptions.pause; else the
 * next turn of the event loop).
 */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function scanParquetRange(
  task0: RangeTask,
  tok: TokenCounter | null,
  onProgress?: (bytes: number) => void,
  opened?: { pf: ParquetFile; lines: RowGroupLines; pause?: () => Promise<void> },
): Promise<RangeResult> {
  const pq = task0.parquet;
  if (!pq) throw new Error('not a Parquet range');
  const pf = opened?.pf ?? (await openParquet(task0.path, pq.footer));
  const lines = opened?.lines ?? new RowGroupLines(pf);
  const rowsIn = (from: number, to: number): number => (to > from ? pf.rowGroups[to - 1].start + pf.rowGroups[to - 1].rows - pf.rowGroups[from].start : 0);
  // the scan kernel shares the Parquet reader's memory: it reads the texts where they are decoded; room for the
  // records expected (a little over half of the row groups shared with another range: the thread that starts first
  // reads more; growing past it near the end copied every column, 3-4 ms on the scan's last stretch)
  const scan = new RangeScan(task0, tok, undefined, () => lines.shared(), Math.ceil(rowsIn(pq.from, pq.to) * (pq.claims ? 0.6 : 1)));
  if (pq.claims && !scan.parse) throw new Error('row groups claimed by ranges need the scan kernel');
  try {
    const rowErrors: RecordError[] = [];
    // lines are numbered from [from, to)'s first row while it is read (then from the range's, for a backward range)
    let base = pf.rowGroups[pq.from].start;
    /** The row group and the row within it of a line of the range (1-based). */
    const rowOf = (line: number): { g: number; r: number } => rowGroupOf(pf, base + line - 1, pq.from, pq.to);
    const keys = new Map<number, RecordKeys | null>();
    const later = new Map<number, number[]>(); // row group → records of it to key once the range is read
    const pending: number[] = []; // records of the row group in memory whose keys need its rows as JSON
    /**
     * Exact keys of record i, of the row group in memory: by the scan kernel from its conversational tables when it
     * reads the row, else from the row's JSON (the row group's other columns decoded first: complete).
     */
    const keysNow = (i: number): void => {
      const cols = scan.range.columns();
      // (the range's kernel shares the reader's memory only when it reads the rows itself: scan.parse)
      const raw = scan.parse ? lines.rawTables() : null;
      const fast = raw && 'conv' in raw && FORMAT_NAMES[cols.format[i]] === 'trl-conversational' ? scan.range.kernel.exactKeysConv(raw.conv, rowOf(cols.line[i]).r) : undefined;
      if (fast) keys.set(i, fast);
      else pending.push(i);
    };
    const settle = async (): Promise<void> => {
      if (!pending.length) return;
      await lines.complete();
      const cols = scan.range.columns();
      for (const i of pending.splice(0)) keys.set(i, exactKeysOf(lines.line(rowOf(cols.line[i]).r), cols, i, scan.range.kernel));
    };
    /** Keys record i now if its row group is the one in memory (`g`), else later. */
    const key = (i: number, g: number): void => {
      if (keys.has(i) || pending.includes(i)) return;
      const cols = scan.range.columns();
      const at = rowOf(cols.line[i]);
      if (at.g === g) keysNow(i);
      else {
        const list = later.get(at.g);
        if (list) list.push(i);
        else later.set(at.g, [i]);
     }
   };
    let done = 0;
    const onRowGroup = async (g: number): Promise<void> => {
      // the row group's lines all end with a newline: its records are in once the kernel's batch is drained
      scan.range.kernel.drain();
      scan.range.matchNew((i, j) => {
        key(i, g);
        key(j, g);
     });
      await settle();
      done += rowGroupBytes(pf, g);
      onProgress?.(done);
      // back to the event loop: a thread that scans a range inline and answers requests too answers them between row
      // groups (ScanOptions.inline, .pause; the extension's host worker)
      await (opened?.pause ?? nextTurn)();
   };
    let lineCount: number;
    let range = { from: pq.from, to: pq.to };
    if (scan.parse) {
      const stream = scan.range.kernel.rowStream(scan.handle);
      // the next row group: in order, or claimed (RangeTask.parquet `claims`: from either end of [from, to))
      const claims = pq.claims ? new Int32Array(pq.claims) : null;
      const total = pq.to - pq.from;
      let mine = 0;
      const claim = (): number => {
        if (claims ? Atomics.add(claims, pq.slot ?? 0, 1) >= total : mine >= total) return -1;
        mine++;
        return pq.backward ? pq.to - mine : pq.from + mine - 1;
     };
      const blocks: number[] = []; // the first record of each row group read, in the order read
      for (let g = claim(); g >= 0; g = claim()) {
        const { start, rows } = pf.rowGroups[g];
        blocks.push(scan.range.count);
        stream.seek(start - base + 1);
        try {
          await lines.load(g, undefined, true);
       } catch (e) {
          // an unreadable row group: its rows are blank, with an error on its first row
          if (!(e instanceof ParquetError)) throw e;
          rowErrors.push({ line: start - base + 1, rows, message: e.message });
          stream.skip(rows);
          continue;
       }
        const raw = lines.rawTables();
        // a row the kernel hands back is read as its JSON: the row group's other columns are decoded for it
        if (raw)
          await stream.rows(raw, rows, async (r) => {
            await lines.complete();
            return lines.line(r);
          });
        else {
          await lines.complete();
          for (let b = lines.next(); b; b = lines.next()) stream.lines(b);
        }
        await onRowGroup(g);
     }
      stream.end();
      range = pq.backward ? { from: pq.to - mine, to: pq.to } : { from: pq.from, to: pq.from + mine };
      lineCount = rowsIn(range.from, range.to);
      if (pq.backward && mine > 0) {
        // read from the end: the row groups' records put back in file order, numbered from the range's first row
        blocks.push(scan.range.count);
        const to = scan.range.reverseBlocks(blocks);
        const moved = [...keys].map(([i, k]): [number, RecordKeys | null] => [to(i), k]);
        keys.clear();
        for (const [i, k] of moved) keys.set(i, k);
        const shift = pf.rowGroups[range.from].start - base;
        base += shift;
        scan.range.shiftLines(-shift);
        for (const e of [...rowErrors, ...scan.errors]) e.line -= shift;
     }
   } else {
      const pieces = linesOf(pf, pq.from, pq.to, rowErrors, { relative: true, onRowGroup, lines });
      // the JavaScript path, line by line
      let line = 1;
      let offset = 0;
      for await (const b of pieces) {
        const copy = Buffer.from(b);
        for (let at = 0; at < copy.length; ) {
          let e = copy.indexOf(0x0a, at);
          if (e < 0) e = copy.length;
          const end = e > at && copy[e - 1] === 0x0d ? e - 1 : e;
          scan.handle({ line: line++, offset: offset + at, bytes: copy.subarray(at, end) });
          at = e + 1;
       }
        offset += copy.length;
     }
      lineCount = line - 1;
   }
    // candidates not keyed with their row group: those that meet a record of an earlier row group (not those whose
    // fingerprint alone matched), keyed from their row groups read again
    scan.range.kernel.drain();
    scan.range.matchNew((i, j) => {
      key(i, -1);
      key(j, -1);
   });
    const { candidate } = scan.range.candidates();
    const unkeyed: number[] = [];
    for (let i = candidate.indexOf(1); i >= 0; i = candidate.indexOf(1, i + 1)) if (!keys.has(i)) unkeyed.push(i);
    for (const i of scan.range.meetAny(unkeyed)) key(i, -1);
    for (const [g, list] of [...later].sort((x, y) => x[0] - y[0])) {
      // the row group as far as its last row keyed (the rest of its pages not decompressed)
      const cols = scan.range.columns();
      // (those rows alone: their pages decompressed from the blocks before them where the scan recorded where blocks
      // begin, RowGroupLines.loadRows)
      await lines.loadRows(g, list.map((i) => rowOf(cols.line[i]).r));
      for (const i of list) if (!keys.has(i)) keysNow(i);
      await settle();
   }
    for (const e of rowErrors) scan.addError(e);
    // columns read around (an INTERVAL, say): said once per range, on its first row (the merge keeps one)
    for (const message of columnWarnings(pf)) scan.addError({ line: 1, rows: 0, message });
    const res = scan.finish(lineCount, (i) => keys.get(i));
    res.keyed = true;
    res.rowGroups = range;
    return res;
 } finally {
    if (!opened) lines.close();
 }
}
