/**
 * Rows and cells as compact JSON from what hyparquet decodes (docs/ARCHITECTURE.md, "Parquet"): texts written straight
 * from their UTF-8 bytes (`"`, `\\` and control bytes escaped, the rest copied as is), 64-bit integers as numbers (as
 * text beyond 2^53), dates as ISO text, null cells left out. The JavaScript path of parquet/rowLines.ts, and the
 * reference its WebAssembly path is tested against.
 */
const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** A growing output buffer: the bytes written are buf[0, pos). */
export class Out {
  buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;
  need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // grow, keeping what is held
    const b = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
  ascii(s: string): void {
    this.need(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
}

/** A JSON string from UTF-8 bytes: `"`, `\` and control bytes escaped, the rest copied as is. */
function bytesString(o: Out, b: Uint8Array): void {
  o.need(b.length * 6 + 2);
  const buf = o.buf;
  let p = o.pos;
  buf[p++] = 0x22;
  let run = 0; // start of the bytes not yet copied
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    if (i > run) {
      buf.set(b.subarray(run, i), p);
      p += i - run;
    }
    run = i + 1;
    buf[p++] = 0x5c;
    if (c === 0x22 || c === 0x5c) buf[p++] = c;
    else if (c === 0x0a) buf[p++] = 0x6e;
    else if (c === 0x0d) buf[p++] = 0x72;
    else if (c === 0x09) buf[p++] = 0x74;
    else {
      buf[p++] = 0x75;
      buf[p++] = 0x30;
      buf[p++] = 0x30;
      buf[p++] = HEX[c >> 4];
      buf[p++] = HEX[c & 15];
    }
  }
  if (b.length > run) {
    buf.set(b.subarray(run), p);
    p += b.length - run;
  }
  buf[p++] = 0x22;
  o.pos = p;
}

const encoder = new TextEncoder();
/** Column and field names as JSON keys (`"name":`), encoded once. */
const keys = new Map<string, Buffer>();
export function keyBytes(k: string): Buffer {
  let b = keys.get(k);
  if (!b) {
    const o = new Out();
    bytesString(o, encoder.encode(k));
    o.ascii(':');
    b = Buffer.from(o.buf.subarray(0, o.pos));
    keys.set(k, b);
  }
  return b;
}

/** A cell as JSON: texts from their bytes, 64-bit integers as numbers (as text beyond 2^53), dates as ISO text. */
export function value(o: Out, v: unknown): void {
  if (v instanceof Uint8Array) bytesString(o, v);
  else if (typeof v === 'string') bytesString(o, encoder.encode(v));
  else if (typeof v === 'number') o.ascii(Number.isFinite(v) ? String(v) : 'null');
  else if (typeof v === 'boolean') o.ascii(v ? 'true' : 'false');
  else if (typeof v === 'bigint') {
    if (Number.isSafeInteger(Number(v))) o.ascii(String(Number(v)));
    else bytesString(o, encoder.encode(v.toString()));
  } else if (v instanceof Date) bytesString(o, encoder.encode(v.toISOString()));
  else if (v === null || v === undefined) o.ascii('null');
  else if (Array.isArray(v)) {
    o.ascii('[');
    v.forEach((x, i) => {
      if (i) o.ascii(',');
      value(o, x);
    });
    o.ascii(']');
  } else object(o, v as Record<string, unknown>);
}

/** An object: its non-null entries (a null cell is a value the row does not have). */
export function object(o: Out, r: Record<string, unknown>): void {
  o.ascii('{');
  let first = true;
  for (const k in r) {
    const x = r[k];
    if (x === null || x === undefined) continue;
    if (!first) o.ascii(',');
    first = false;
    const kb = keyBytes(k);
    o.need(kb.length);
    o.buf.set(kb, o.pos);
    o.pos += kb.length;
    value(o, x);
  }
  o.ascii('}');
}

