// TensorBoard event files, written without TensorFlow: `events.out.tfevents.<seconds>.<host>` in a log folder,
// a TFRecord stream of serialized `Event` protos (tensorflow/core/util/event.proto):
//   record  = uint64 LE length · uint32 LE masked CRC32C(length bytes) · data · uint32 LE masked CRC32C(data)
//   mask(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8   (mod 2^32; CRC32C is Castagnoli's polynomial)
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
// The first event carries file_version "brain.Event:2"; every later one a summary of scalars. The protobuf
// encoding is written by hand: four field kinds (varint, 64-bit, length-delimited, 32-bit) cover all of it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CASTAGNOLI_REFLECTED = 0x82f63b78;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `bytes`. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: a CRC stored next to data that itself holds CRCs is rotated and offset. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

// ------------------------------------------------------------------------------------------ protobuf encoding

function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);

function lengthDelimited(field: number, bytes: Uint8Array): number[] {
  return [...key(field, 2), ...varint(bytes.length), ...bytes];
}

/** Summary.Value { tag, simple_value } */
function scalarValue(tag: string, value: number): Uint8Array {
  const f = Buffer.alloc(4);
  f.writeFloatLE(value);
  return Uint8Array.from([...lengthDelimited(1, Buffer.from(tag, 'utf8')), ...key(2, 5), ...f]);
}

/** An Event: wall_time and step, then either file_version or a summary of scalar values. */
export function encodeEvent(e: { wallTime: number; step: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(e.wallTime);
  const bytes = [...key(1, 1), ...wall, ...key(2, 0), ...varint(e.step)];
  if (e.fileVersion !== undefined) bytes.push(...lengthDelimited(3, Buffer.from(e.fileVersion, 'utf8')));
  if (e.scalars) {
    const summary = Object.entries(e.scalars).flatMap(([tag, v]) => lengthDelimited(1, scalarValue(tag, v)));
    bytes.push(...lengthDelimited(5, Uint8Array.from(summary)));
  }
  return Uint8Array.from(bytes);
}

/**
 * Appends scalar summaries to a new event file in `dir` (TensorBoard reads every events.out.tfevents.* file of a
 * folder, so a resumed run adds a file next to the first). Each event is written through to the file at once:
 * TensorBoard can watch a run live, and a crash loses nothing already logged.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number | null;

  constructor(dir: string, now = Date.now()) {
    fs.mkdirSync(dir, { recursive: true });
    const host = os.hostname().replace(/[^\w.-]/g, '_') || 'localhost';
    let file = path.join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${host}`);
    // Two runs started in the same second must not share a file: suffix like TensorFlow's writer does.
    for (let i = 1; fs.existsSync(file); i++) file = path.join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${host}.${i}`);
    this.file = file;
    this.fd = fs.openSync(file, 'wx');
    this.write(encodeEvent({ wallTime: now / 1000, step: 0, fileVersion: 'brain.Event:2' }));
  }

  /** One event at `step` holding every finite value of `scalars` (tag → value). */
  scalars(step: number, scalars: Record<string, number>, wallTime = Date.now() / 1000): void {
    const finite = Object.fromEntries(Object.entries(scalars).filter(([, v]) => Number.isFinite(v)));
    if (Object.keys(finite).length) this.write(encodeEvent({ wallTime, step, scalars: finite }));
  }

  private write(event: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file}: the TensorBoard writer is closed`);
    fs.writeSync(this.fd, tfRecord(event));
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
