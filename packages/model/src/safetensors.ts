// safetensors, the checkpoint format of the Hugging Face ecosystem (https://github.com/huggingface/safetensors):
//   [0, 8)      u64 little-endian N, the byte length of the JSON header
//   [8, 8+N)    UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
//               possibly right-padded with spaces
//   [8+N, ...)  the byte buffer: little-endian, row-major tensors; offsets are relative to its start and
//               must cover it without holes or overlaps.
// Reading goes tensor by tensor through a ByteReader (a file handle in Node: safetensors-file.ts; the fetched
// bytes in a browser: parseSafetensors), so checkpoints larger than one Node buffer load too. Browser-safe.

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each dtype this reader understands. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor to write: `data` holds the raw elements of `dtype` (F16/BF16 also accept a Float32Array). */
export interface SafetensorsInput {
  dtype: 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';
  shape: number[];
  data: ArrayBufferView;
}

/** A tensor read back. F16 and BF16 are widened to Float32Array (dtype keeps the stored type). */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string> | null;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

// ---------------------------------------------------------------------------------------------------------
// half-precision conversions
// ---------------------------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits → float32 value. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** float32 value → IEEE binary16 bits, rounding to nearest even (overflow → ±Inf, NaN kept). */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** float32 value → bfloat16 bits (the upper half of the float32, rounded to nearest even; NaN kept). */
export function f32ToBF16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;
function widenF16(raw: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  const out = new Float32Array(raw.length);
  const t = f16Table;
  for (let i = 0; i < raw.length; i++) out[i] = t[raw[i]!]!;
  return out;
}

function widenBF16(raw: Uint16Array): Float32Array {
  const out = new Float32Array(raw.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < raw.length; i++) bits[i] = raw[i]! << 16;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------------------

function encode(name: string, t: SafetensorsInput): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new SafetensorsError(`tensor '${name}': shape [${t.shape}] must be non-negative integers`);
  }
  const bytes = DTYPE_BYTES[t.dtype as SafetensorsDtype];
  if (bytes === undefined) throw new SafetensorsError(`tensor '${name}': cannot write dtype ${String(t.dtype)}`);
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && t.data instanceof Float32Array) {
    if (t.data.length !== n) throw new SafetensorsError(`tensor '${name}': ${t.data.length} values for shape [${t.shape}]`);
    const out = new Uint16Array(n);
    const conv = t.dtype === 'F16' ? f32ToF16 : f32ToBF16;
    for (let i = 0; i < n; i++) out[i] = conv(t.data[i]!);
    return new Uint8Array(out.buffer);
  }
  if (t.data.byteLength !== n * bytes) {
    throw new SafetensorsError(`tensor '${name}': ${t.data.byteLength} bytes of data for ${t.dtype}[${t.shape}] (expected ${n * bytes})`);
  }
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** The file bytes: header (names sorted, padded to a multiple of 8) then the tensors, contiguous. */
export function encodeSafetensors(tensors: Record<string, SafetensorsInput>, metadata?: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    if (name === '__metadata__') throw new SafetensorsError("'__metadata__' is a reserved name");
    const raw = encode(name, tensors[name]!);
    header[name] = { dtype: tensors[name]!.dtype, shape: tensors[name]!.shape, data_offsets: [offset, offset + raw.byteLength] };
    blobs.push(raw);
    offset += raw.byteLength;
  }
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata '${k}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const h = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  h.set(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
  return [len, h, ...blobs];
}

// ---------------------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------------------

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, HeaderEntry>;
  metadata: Record<string, string> | null;
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
  fileSize: number;
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Random access to a safetensors file's bytes: a Node file handle, or bytes already in memory. */
export interface ByteReader {
  size: number;
  /** Fills `buf` from byte `position` on; returns how many bytes it read (fewer at the end). */
  read(buf: Uint8Array, position: number): Promise<number>;
}

/** Reads and checks the header: every entry's dtype, shape and offsets, and that the file holds them all. */
export async function readHeader(reader: ByteReader, file: string): Promise<SafetensorsHeader> {
  const fileSize = reader.size;
  if (fileSize < 8) throw new SafetensorsError(`${file}: truncated file (${fileSize} bytes, shorter than the 8-byte header length)`);
  const lenBuf = new Uint8Array(8);
  await reader.read(lenBuf, 0);
  const n = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      `${file}: truncated file or not safetensors (header length ${n} exceeds the ${fileSize - 8} bytes after it)`,
    );
  }
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(`${file}: header length ${n} is implausibly large`);
  const hbuf = new Uint8Array(Number(n));
  await reader.read(hbuf, 8);
  const text = new TextDecoder().decode(hbuf);
  if (!text.startsWith('{')) throw new SafetensorsError(`${file}: not a safetensors file (header does not start with '{')`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${file}: bad header JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SafetensorsError(`${file}: header is not a JSON object`);
  const dataStart = 8 + Number(n);
  const bufLen = fileSize - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries = new Map<string, HeaderEntry>();
  for (const [name, info] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Object.values(info).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError(`${file}: __metadata__ must map strings to strings`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const e = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(e.data_offsets) ||
      e.data_offsets.length !== 2 ||
      !e.data_offsets.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new SafetensorsError(`${file}: malformed header entry for tensor '${name}'`);
    }
    const dtype = e.dtype;
    const bytes = DTYPE_BYTES[dtype as SafetensorsDtype];
    if (bytes === undefined) {
      throw new SafetensorsError(`${file}: tensor '${name}' has unknown dtype '${dtype}' (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const shape = e.shape as number[];
    const [begin, end] = e.data_offsets as [number, number];
    const nbytes = shape.reduce((a, b) => a * b, 1) * bytes;
    if (end < begin || end - begin !== nbytes) {
      throw new SafetensorsError(
        `${file}: tensor '${name}' has data_offsets [${begin}, ${end}] (${end - begin} bytes) but ${dtype}[${shape}] needs ${nbytes} bytes`,
      );
    }
    entries.set(name, { dtype, shape, begin, end });
  }
  // Coverage: sorted spans must tile the buffer exactly. A buffer shorter than the spans is a truncated file.
  const spans = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  for (const [name, e] of spans) {
    if (e.end > bufLen) {
      throw new SafetensorsError(
        `${file}: truncated file: tensor '${name}' needs bytes [${e.begin}, ${e.end}) of the data buffer but the file holds only ${bufLen} (file size ${fileSize})`,
      );
    }
    if (e.begin !== pos) {
      throw new SafetensorsError(
        `${file}: tensor '${name}' starts at byte ${e.begin} of the data buffer, expected ${pos} (hole or overlap)`,
      );
    }
    pos = e.end;
  }
  if (pos !== bufLen) throw new SafetensorsError(`${file}: ${bufLen - pos} unused bytes after the last tensor`);
  return { entries, metadata, dataStart, fileSize };
}

type ArrayView = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorData;

/** The typed array each stored dtype is read as (F16 and BF16 are widened to float32 instead). */
const VIEWS: Record<Exclude<SafetensorsDtype, 'F16' | 'BF16'>, ArrayView> = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** `bytes` starts at offset 0 of its own buffer (one read per tensor), so every view is aligned. */
function decode(dtype: SafetensorsDtype, bytes: Uint8Array): TensorData {
  if (dtype === 'F16' || dtype === 'BF16') {
    const raw = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    return dtype === 'F16' ? widenF16(raw) : widenBF16(raw);
  }
  return new VIEWS[dtype](bytes.buffer, bytes.byteOffset, bytes.byteLength / DTYPE_BYTES[dtype]);
}

export interface ReadOptions {
  /** Reads only the tensors this returns true for (the others are checked in the header but not read). */
  filter?: (name: string, entry: HeaderEntry) => boolean;
}

/** Reads the tensors through `reader`; throws SafetensorsError naming `file` (and the tensor) when malformed. */
export async function readTensors(reader: ByteReader, file: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  const h = await readHeader(reader, file);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, e] of h.entries) {
    if (options.filter && !options.filter(name, e)) continue;
    const bytes = new Uint8Array(e.end - e.begin);
    const got = await reader.read(bytes, h.dataStart + e.begin);
    if (got !== bytes.byteLength) {
      throw new SafetensorsError(`${file}: truncated file while reading tensor '${name}' (${got} of ${bytes.byteLength} bytes)`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    tensors.set(name, { dtype, shape: e.shape, data: decode(dtype, bytes) });
  }
  return { tensors, metadata: h.metadata };
}

/** Bytes in memory as a ByteReader. */
export function bytesReader(bytes: ArrayBuffer | Uint8Array): ByteReader {
  const all = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return {
    size: all.byteLength,
    read: async (buf, position) => {
      const part = all.subarray(position, position + buf.byteLength);
      buf.set(part);
      return part.byteLength;
    },
  };
}

/** Parses a safetensors file held in memory (e.g. fetched in a browser); `file` names it in errors. */
export function parseSafetensors(
  bytes: ArrayBuffer | Uint8Array,
  file = 'model.safetensors',
  options: ReadOptions = {},
): Promise<SafetensorsFile> {
  return readTensors(bytesReader(bytes), file, options);
}
