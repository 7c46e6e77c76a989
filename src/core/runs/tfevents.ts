/**
 * TensorBoard event files (`events.out.tfevents.*`), which TRL runs write by default (docs/ARCHITECTURE.md,
 * "Training runs"): TFRecord framing — u64 length, masked CRC-32C of the length, the data, masked CRC-32C of the
 * data — around `Event` protobufs, decoded with protobufjs' wire reader (no TensorFlow, no .proto files). Scalars
 * come as `simple_value` (TF1 / tensorboardX) or as TF2 tensor summaries (float/double/int tensors of the scalars
 * plugin); text summaries (the Trainer writes its `args` and `model_config` as text) become the run's settings.
 * A corrupt record (CRC mismatch) or a truncated tail is reported with its file offset; reading resumes at the next
 * valid record, so the rest of the file is still read. Files are read in chunks, from an offset, so that a growing
 * file is read again only from where the last read ended.
 */
import protobuf from 'protobufjs/minimal.js';
import { halfToFloat } from '../floats.js';
import { CHUNK_SIZE, readBytes, withFile } from '../jsonl/reader.js';

const { Reader } = protobuf;

export interface EventProblem {
  file: string;
  offset: number;
  message: string;
}

export interface EventRead {
  /** tag → [step, value] in file order */
  scalars: Map<string, Array<[number, number]>>;
  /** tag → the last text written under it */
  texts: Map<string, string>;
  problems: EventProblem[];
  /** Where the next read of a growing file starts (the end of the last complete record). */
  end: number;
}

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: ((crc >>> 15) | (crc << 17)) + 0xa282ead8, mod 2³². */
export function maskedCrc(buf: Uint8Array, start = 0, end = buf.length): number {
  const c = crc32c(buf, start, end);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_STRING = 7;
const DT_INT64 = 9;
const DT_HALF = 19;

interface TensorValue {
  dtype: number;
  numbers: number[];
  strings: string[];
  content: Uint8Array | null;
}

const utf8 = new TextDecoder();

type ProtoReader = ReturnType<typeof Reader.create>;

/**
 * Walks the fields of one protobuf message: `on(field, wire, r)` reads the fields it knows and returns true; every
 * other field is skipped.
 */
function eachField(bytes: Uint8Array, on: (field: number, wire: number, r: ProtoReader) => boolean): void {
  const r = Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (!on(tag >>> 3, tag & 7, r)) r.skipType(tag & 7);
  }
}

function decodeTensor(bytes: Uint8Array): TensorValue {
  const t: TensorValue = { dtype: 0, numbers: [], strings: [], content: null };
  // repeated numeric fields: packed (wire type 2) or one value per field
  const values = (r: ProtoReader, wire: number, read: () => number): true => {
    if (wire === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) t.numbers.push(read());
    } else t.numbers.push(read());
    return true;
  };
  eachField(bytes, (field, wire, r) => {
    if (field === 1) t.dtype = r.int32();
    else if (field === 4) t.content = r.bytes();
    else if (field === 5) return values(r, wire, () => r.float());
    else if (field === 6) return values(r, wire, () => r.double());
    else if (field === 7 || field === 13) return values(r, wire, () => r.int32());
    else if (field === 8) t.strings.push(utf8.decode(r.bytes()));
    else if (field === 10) return values(r, wire, () => Number(r.int64()));
    else return false;
    return true;
  });
  return t;
}

/** A scalar tensor's value, or null when the tensor is not a numeric scalar. */
function tensorScalar(t: TensorValue): number | null {
  if (t.numbers.length) return t.dtype === DT_HALF ? halfToFloat(t.numbers[0]) : t.numbers[0];
  const c = t.content;
  if (!c) return null;
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  if (t.dtype === DT_FLOAT && c.byteLength >= 4) return v.getFloat32(0, true);
  if (t.dtype === DT_DOUBLE && c.byteLength >= 8) return v.getFloat64(0, true);
  if (t.dtype === DT_INT32 && c.byteLength >= 4) return v.getInt32(0, true);
  if (t.dtype === DT_INT64 && c.byteLength >= 8) return Number(v.getBigInt64(0, true));
  if (t.dtype === DT_HALF && c.byteLength >= 2) return halfToFloat(v.getUint16(0, true));
  return null;
}

interface SummaryValue {
  tag: string;
  simple: number | null;
  tensor: TensorValue | null;
  plugin: string;
}

/** SummaryMetadata { plugin_data (1): PluginData { plugin_name (1) } } → the plugin's name. */
function pluginName(bytes: Uint8Array): string {
  let name = '';
  eachField(bytes, (field, _wire, r) => {
    if (field !== 1) return false;
    eachField(r.bytes(), (pf, _pw, p) => {
      if (pf !== 1) return false;
      name = p.string();
      return true;
    });
    return true;
  });
  return name;
}

function decodeValue(bytes: Uint8Array): SummaryValue {
  const v: SummaryValue = { tag: '', simple: null, tensor: null, plugin: '' };
  eachField(bytes, (field, _wire, r) => {
    if (field === 1) v.tag = r.string();
    else if (field === 2) v.simple = r.float();
    else if (field === 8) v.tensor = decodeTensor(r.bytes());
    else if (field === 9) v.plugin = pluginName(r.bytes());
    else return false;
    return true;
  });
  return v;
}

/** Decodes one Event: its step and summary values (file_version and graph events have none). */
export function decodeEvent(bytes: Uint8Array): { step: number; wallTime: number; values: SummaryValue[] } {
  let step = 0;
  let wallTime = 0;
  const values: SummaryValue[] = [];
  eachField(bytes, (field, _wire, r) => {
    if (field === 1) wallTime = r.double();
    else if (field === 2) step = Number(r.int64());
    // Summary { value (1): repeated Summary.Value }
    else if (field === 5)
      eachField(r.bytes(), (sf, _sw, sr) => {
        if (sf !== 1) return false;
        values.push(decodeValue(sr.bytes()));
        return true;
      });
    else return false;
    return true;
  });
  return { step, wallTime, values };
}

/**
 * Reads an event file from `start` (0, or the `end` of an earlier read of the same growing file). A record whose
 * CRCs do not match is reported and skipped (by its length when that is intact, else by searching for the next valid
 * header); a record cut off at the end of the file is reported unless `growing` (then the next read picks it up).
 */
/** The largest record PrefLens reads (a length above it is damage: scalars and texts are small). */
const MAX_RECORD = 2 ** 30;

export function readEventFile(path: string, start = 0, growing = false): EventRead {
  const out: EventRead = { scalars: new Map(), texts: new Map(), problems: [], end: start };
  withFile(path, (fd, size) => {
    let buf: Uint8Array = new Uint8Array(0);
    let bufStart = start; // file offset of buf[0]
    let pos = start;
    // Makes buf cover [pos, pos + need), reading a chunk from pos when it does not (the tail of the last chunk is read
    // again: at most one record).
    const ensure = (need: number): boolean => {
      if (pos - bufStart + need <= buf.length) return true;
      if (pos + need > size) return false;
      buf = readBytes(fd, pos, Math.min(size - pos, Math.max(need, CHUNK_SIZE)));
      bufStart = pos;
      return buf.length >= need;
    };
    let resyncing = false;
    while (pos < size) {
      if (!ensure(12)) {
        if (!growing && !resyncing) out.problems.push({ file: path, offset: pos, message: `truncated record header (${size - pos} bytes at the end of the file)` });
        break;
      }
      const b = pos - bufStart;
      const view = new DataView(buf.buffer, buf.byteOffset + b, 12);
      const len = Number(view.getBigUint64(0, true));
      const lenCrc = view.getUint32(8, true);
      if (maskedCrc(buf, b, b + 8) !== lenCrc) {
        if (!resyncing) out.problems.push({ file: path, offset: pos, message: 'corrupt record: the length\'s CRC does not match; searching for the next record' });
        resyncing = true;
        pos += 1;
        continue;
      }
      if (!ensure(12 + len + 4)) {
        // A length past the end of the file: a record still being written (a live read waits for it), the file's
        // truncated last record, or a damaged length whose CRC happens to match — then records follow it, found by
        // searching on. A length of over 1 GiB is damage in any case (event records are small).
        if (growing && len <= MAX_RECORD) break;
        if (!resyncing)
          out.problems.push({
            file: path,
            offset: pos,
            message: len > MAX_RECORD || size - pos - 12 < 0 ? `corrupt record: a length of ${len} bytes (the file has ${size - pos - 12} after it); searching for the next record` : `truncated record: ${len} bytes announced, ${size - pos - 12} present; searching for a next record`,
          });
        resyncing = true;
        pos += 1;
        continue;
      }
      resyncing = false;
      const d = pos - bufStart + 12;
      const dataCrc = new DataView(buf.buffer, buf.byteOffset + d + len, 4).getUint32(0, true);
      if (maskedCrc(buf, d, d + len) !== dataCrc) {
        out.problems.push({ file: path, offset: pos, message: `corrupt record: the data's CRC does not match (${len} bytes skipped)` });
      } else {
        try {
          const ev = decodeEvent(buf.subarray(d, d + len));
          for (const v of ev.values) {
            if (v.tensor?.dtype === DT_STRING || v.plugin === 'text') {
              const text = v.tensor?.strings.join('\n') ?? '';
              out.texts.set(v.tag.replace(/\/text_summary$/, ''), text);
              continue;
            }
            const x = v.simple ?? (v.tensor ? tensorScalar(v.tensor) : null);
            if (x === null || !v.tag) continue;
            const list = out.scalars.get(v.tag) ?? [];
            list.push([ev.step, x]);
            out.scalars.set(v.tag, list);
          }
        } catch (e) {
          out.problems.push({ file: path, offset: pos, message: `not an Event protobuf (${e instanceof Error ? e.message : String(e)})` });
        }
      }
      pos += 12 + len + 4;
      out.end = pos;
    }
  });
  return out;
}
