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
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import protobuf from 'protobufjs/minimal.js';
import { halfToFloat } from '../engine/safetensors.js';

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

function decodeTensor(bytes: Uint8Array): TensorValue {
  const r = Reader.create(bytes);
  const t: TensorValue = { dtype: 0, numbers: [], strings: [], content: null };
  const packed = (wire: number, read: () => number): void => {
    if (wire === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) t.numbers.push(read());
    } else t.numbers.push(read());
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        t.dtype = r.int32();
        break;
      case 4:
        t.content = r.bytes();
        break;
      case 5:
        packed(wire, () => r.float());
        break;
      case 6:
        packed(wire, () => r.double());
        break;
      case 7:
      case 13:
        packed(wire, () => r.int32());
        break;
      case 8:
        t.strings.push(utf8.decode(r.bytes()));
        break;
      case 10:
        packed(wire, () => Number(r.int64()));
        break;
      default:
        r.skipType(wire);
    }
  }
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

function decodeValue(bytes: Uint8Array): SummaryValue {
  const r = Reader.create(bytes);
  const v: SummaryValue = { tag: '', simple: null, tensor: null, plugin: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        v.tag = r.string();
        break;
      case 2:
        v.simple = r.float();
        break;
      case 8:
        v.tensor = decodeTensor(r.bytes());
        break;
      case 9: {
        // SummaryMetadata { plugin_data: { plugin_name } }
        const m = Reader.create(r.bytes());
        while (m.pos < m.len) {
          const mt = m.uint32();
          if (mt >>> 3 === 1) {
            const p = Reader.create(m.bytes());
            while (p.pos < p.len) {
              const pt = p.uint32();
              if (pt >>> 3 === 1) v.plugin = p.string();
              else p.skipType(pt & 7);
            }
          } else m.skipType(mt & 7);
        }
        break;
      }
      default:
        r.skipType(wire);
    }
  }
  return v;
}

/** Decodes one Event: its step and summary values (file_version and graph events have none). */
export function decodeEvent(bytes: Uint8Array): { step: number; wallTime: number; values: SummaryValue[] } {
  const r = Reader.create(bytes);
  let step = 0;
  let wallTime = 0;
  const values: SummaryValue[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        wallTime = r.double();
        break;
      case 2:
        step = Number(r.int64());
        break;
      case 5: {
        const s = Reader.create(r.bytes());
        while (s.pos < s.len) {
          const st = s.uint32();
          if (st >>> 3 === 1) values.push(decodeValue(s.bytes()));
          else s.skipType(st & 7);
        }
        break;
      }
      default:
        r.skipType(wire);
    }
  }
  return { step, wallTime, values };
}

/**
 * Reads an event file from `start` (0, or the `end` of an earlier read of the same growing file). A record whose
 * CRCs do not match is reported and skipped (by its length when that is intact, else by searching for the next valid
 * header); a record cut off at the end of the file is reported unless `growing` (then the next read picks it up).
 */
export function readEventFile(path: string, start = 0, growing = false): EventRead {
  const out: EventRead = { scalars: new Map(), texts: new Map(), problems: [], end: start };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const CHUNK = 8 << 20;
    let buf = new Uint8Array(0);
    let bufStart = start; // file offset of buf[0]
    let pos = start;
    const ensure = (need: number): boolean => {
      // make buf cover [pos, pos + need)
      if (pos - bufStart + need <= buf.length) return true;
      if (pos + need > size) return false;
      const keep = buf.subarray(pos - bufStart);
      const want = Math.max(need, CHUNK);
      const next = new Uint8Array(Math.min(size - pos, Math.max(want, keep.length + CHUNK)));
      next.set(keep);
      let filled = keep.length;
      while (filled < next.length) {
        const n = readSync(fd, next, filled, next.length - filled, pos + filled);
        if (n <= 0) break;
        filled += n;
      }
      buf = next.subarray(0, filled);
      bufStart = pos;
      return filled >= need;
    };
    let resyncFrom = -1;
    while (pos < size) {
      if (!ensure(12)) {
        if (!growing) out.problems.push({ file: path, offset: pos, message: `truncated record header (${size - pos} bytes at the end of the file)` });
        break;
      }
      const b = pos - bufStart;
      const view = new DataView(buf.buffer, buf.byteOffset + b, 12);
      const len = Number(view.getBigUint64(0, true));
      const lenCrc = view.getUint32(8, true);
      if (maskedCrc(buf, b, b + 8) !== lenCrc) {
        if (resyncFrom < 0) {
          out.problems.push({ file: path, offset: pos, message: 'corrupt record: the length\'s CRC does not match; searching for the next record' });
          resyncFrom = pos;
        }
        pos += 1;
        continue;
      }
      resyncFrom = -1;
      if (!ensure(12 + len + 4)) {
        if (!growing) out.problems.push({ file: path, offset: pos, message: `truncated record: ${len} bytes announced, ${size - pos - 12} present` });
        break;
      }
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
  } finally {
    closeSync(fd);
  }
  return out;
}
