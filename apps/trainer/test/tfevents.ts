// A TensorBoard event-file decoder for the tests, written from the format's spec rather than from the writer:
// TFRecord framing with both masked CRC32Cs checked by a bitwise (table-free) CRC32C, protobuf varint and field
// parsing, Event { wall_time, step, file_version, summary { value { tag, simple_value } } }.
import * as fs from 'node:fs';

/** CRC-32C, bit by bit (Castagnoli, reflected 0x82F63B78): independent of the writer's table. */
export function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const unmask = (m: number) => {
  const r = (m - 0xa282ead8) >>> 0;
  return ((r >>> 17) | (r << 15)) >>> 0;
};

/** The TFRecords of a file; throws on a bad length or data CRC. */
function records(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const lenBytes = buf.subarray(pos, pos + 8);
    const len = Number(lenBytes.readBigUInt64LE(0));
    if (unmask(buf.readUInt32LE(pos + 8)) !== crc32cBitwise(lenBytes)) throw new Error(`bad length CRC at ${pos}`);
    const data = buf.subarray(pos + 12, pos + 12 + len);
    if (unmask(buf.readUInt32LE(pos + 12 + len)) !== crc32cBitwise(data)) throw new Error(`bad data CRC at ${pos}`);
    out.push(data);
    pos += 16 + len;
  }
  if (pos !== buf.length) throw new Error(`a truncated record at ${pos}`);
  return out;
}

type Field = { field: number; wire: number; value: bigint | Buffer };

/** One level of protobuf fields. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    const field = key >> 3;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) out.push({ field, wire, value: buf.subarray(pos, (pos += 8)) });
    else if (wire === 5) out.push({ field, wire, value: buf.subarray(pos, (pos += 4)) });
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: buf.subarray(pos, (pos += n)) });
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: Record<string, number>;
}

export function decodeEvents(file: string): DecodedEvent[] {
  return records(fs.readFileSync(file)).map((rec) => {
    const e: DecodedEvent = { wallTime: NaN, step: 0, scalars: {} };
    for (const f of fields(rec)) {
      if (f.field === 1 && f.wire === 1) e.wallTime = (f.value as Buffer).readDoubleLE(0);
      else if (f.field === 2 && f.wire === 0) e.step = Number(f.value);
      else if (f.field === 3 && f.wire === 2) e.fileVersion = (f.value as Buffer).toString('utf8');
      else if (f.field === 5 && f.wire === 2) {
        for (const v of fields(f.value as Buffer)) {
          if (v.field !== 1 || v.wire !== 2) throw new Error(`unexpected Summary field ${v.field}`);
          let tag = '';
          let value = NaN;
          for (const g of fields(v.value as Buffer)) {
            if (g.field === 1) tag = (g.value as Buffer).toString('utf8');
            if (g.field === 2 && g.wire === 5) value = (g.value as Buffer).readFloatLE(0);
          }
          e.scalars[tag] = value;
        }
      } else throw new Error(`unexpected Event field ${f.field}`);
    }
    return e;
  });
}
