/**
 * Test code: writes TensorBoard event files as TensorFlow and tensorboardX do (TFRecord framing with masked CRC-32C
 * around Event protobufs, encoded with protobufjs' wire writer): scalars as simple_value and as TF2 tensor summaries,
 * text summaries, and damaged records on request.
 */
import protobuf from 'protobufjs/minimal.js';
import { maskedCrc } from '../src/core/runs/tfevents.js';

const { Writer } = protobuf;

export type EventValue = { tag: string; simple: number } | { tag: string; tensor: number; as?: 'content' | 'float_val' | 'double' } | { tag: string; text: string };

function tensorBytes(v: EventValue): Uint8Array {
  const w = Writer.create();
  if ('text' in v) {
    w.uint32(8).int32(7); // DT_STRING
    w.uint32(18).fork().ldelim(); // scalar shape
    w.uint32(66).bytes(new TextEncoder().encode(v.text));
  } else if ('tensor' in v) {
    if (v.as === 'double') {
      w.uint32(8).int32(2);
      w.uint32(18).fork().ldelim();
      w.uint32(50).fork().double(v.tensor).ldelim();
    } else if (v.as === 'float_val') {
      w.uint32(8).int32(1);
      w.uint32(18).fork().ldelim();
      w.uint32(42).fork().float(v.tensor).ldelim();
    } else {
      w.uint32(8).int32(1);
      w.uint32(18).fork().ldelim();
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, v.tensor, true);
      w.uint32(34).bytes(b);
    }
  }
  return w.finish();
}

/** One Event protobuf with a summary of `values` (none: a file_version event). */
export function eventBytes(step: number, values: EventValue[], wallTime = 1.7e9 + step): Uint8Array {
  const w = Writer.create();
  w.uint32(9).double(wallTime);
  w.uint32(16).int64(step);
  if (!values.length) w.uint32(26).string('brain.Event:2');
  else {
    const s = Writer.create();
    for (const v of values) {
      const vw = Writer.create();
      vw.uint32(10).string(v.tag);
      if ('simple' in v) vw.uint32(21).float(v.simple);
      else {
        vw.uint32(66).bytes(tensorBytes(v));
        const plugin = 'text' in v ? 'text' : 'scalars';
        const pd = Writer.create().uint32(10).string(plugin).finish();
        vw.uint32(74).bytes(Writer.create().uint32(10).bytes(pd).finish());
      }
      s.uint32(10).bytes(vw.finish());
    }
    w.uint32(42).bytes(s.finish());
  }
  return w.finish();
}

/** TFRecord framing of one record. */
export function frame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(data.length), true);
  v.setUint32(8, maskedCrc(out, 0, 8), true);
  out.set(data, 12);
  v.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}
