/**
 * Rows of a Parquet file by number (docs/ARCHITECTURE.md, "Parquet"): the row's JSON (as the scan and export write
 * it), from its row group decoded by the kernel (parquet/rowLines.ts) — the last few row groups kept decoded, so that
 * the inspector's page of rows, a hover or a scoring batch decode each row group once. How the extension reads a
 * Parquet file's records where it lies, with no copy of it.
 */
import { type ParquetFile, rowGroupOf } from './parquet.js';
import { RowGroupLines } from './rowLines.js';

/** Rows decoded beyond the last one a caller asks for (`line`'s upTo): the inspector's next page of 100 rows. */
const AHEAD = 100;

export class ParquetRows {
  /**
   * Readers of the row groups decoded last, most recent first (each has its own WebAssembly memory); `upTo`: how many
   * of the row group's first rows it holds (all of them, or the first rows of a page asked: see line).
   */
  private readonly readers: Array<{ g: number; upTo: number; lines: RowGroupLines }> = [];
  /** Rows decoded so far (every load: a row group, or its first rows), for the tests. */
  decodedRows = 0;

  /** `keep`: how many row groups stay decoded (a few tens of MB each for hub files). */
  constructor(
    readonly pf: ParquetFile,
    private readonly keep = 2,
  ) {}

  /**
   * The JSON of row `row` (1-based) without its newline (a copy). Throws ParquetError for an unreadable row group.
   * `upTo`: the last row (1-based) the caller asks for next, when it reads a few rows (a page of the inspector, a hover):
   * a row group not held yet is then decoded only as far as that row and a page beyond it (a hub row group of 10,000
   * rows with every column takes 60–95 ms to decode whole, its first 200 rows about 10 ms: README, "Hub-shaped data"),
   * and whole when a later row of it is asked. Without it (search, export, scoring: every row), whole.
   */
  async line(row: number, upTo = this.pf.rows): Promise<Uint8Array> {
    if (!(row >= 1 && row <= this.pf.rows)) throw new RangeError(`row ${row} is not in ${this.pf.path} (${this.pf.rows} rows)`);
    const { g, r } = rowGroupOf(this.pf, row - 1);
    let at = this.readers.findIndex((x) => x.g === g);
    if (at < 0 || r >= this.readers[at].upTo) {
      // the reader of a row group held in part decodes it whole; else the least recent reader takes the row group, or
      // a new one while there is room
      const held = at >= 0;
      const reader = held
        ? this.readers.splice(at, 1)[0]
        : this.readers.length < this.keep
          ? { g: -1, upTo: 0, lines: new RowGroupLines(this.pf) }
          : (this.readers.pop() as { g: number; upTo: number; lines: RowGroupLines });
      const { start, rows } = this.pf.rowGroups[g];
      const last = Math.min(Math.max(upTo, row), this.pf.rows) - 1 - start; // 0-based in the row group
      const want = held || last + 1 + AHEAD >= rows ? rows : last + 1 + AHEAD;
      reader.g = -1;
      try {
        await reader.lines.load(g, want < rows ? want : undefined);
      } catch (e) {
        // (kept, holding nothing, to be closed with the others)
        this.readers.push(reader);
        throw e;
      }
      this.decodedRows += want;
      reader.g = g;
      reader.upTo = want;
      this.readers.unshift(reader);
      at = 0;
    } else if (at > 0) this.readers.unshift(...this.readers.splice(at, 1));
    return this.readers[0].lines.line(r);
  }

  close(): void {
    for (const x of this.readers) x.lines.close();
    this.readers.length = 0;
  }
}
