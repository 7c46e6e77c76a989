/**
 * Rows of a Parquet file by number (docs/ARCHITECTURE.md, "Parquet"): the row's JSON (as the scan and export write
 * it), from its row group decoded by the kernel (parquet/rowLines.ts) — the last few row groups kept decoded, so that
 * the inspector's page of rows, a hover or a scoring batch decode each row group once. How the extension reads a
 * Parquet file's records where it lies, with no copy of it.
 */
import { type ParquetFile, rowGroupOf } from './parquet.js';
import { RowGroupLines } from './rowLines.js';

export class ParquetRows {
  /** Readers of the row groups decoded last, most recent first (each has its own WebAssembly memory). */
  private readonly readers: Array<{ g: number; lines: RowGroupLines }> = [];

  /** `keep`: how many row groups stay decoded (a few tens of MB each for hub files). */
  constructor(
    readonly pf: ParquetFile,
    private readonly keep = 2,
  ) {}

  /** The JSON of row `row` (1-based) without its newline (a copy). Throws ParquetError for an unreadable row group. */
  async line(row: number): Promise<Uint8Array> {
    if (!(row >= 1 && row <= this.pf.rows)) throw new RangeError(`row ${row} is not in ${this.pf.path} (${this.pf.rows} rows)`);
    const { g, r } = rowGroupOf(this.pf, row - 1);
    let at = this.readers.findIndex((x) => x.g === g);
    if (at < 0) {
      // the least recent reader takes the row group, or a new one while there is room
      const reader = this.readers.length < this.keep ? { g: -1, lines: new RowGroupLines(this.pf) } : (this.readers.pop() as { g: number; lines: RowGroupLines });
      reader.g = -1;
      await reader.lines.load(g);
      reader.g = g;
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
