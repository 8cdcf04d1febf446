// Minimal safetensors (Hugging Face) writer/reader for float32/int32 tensors: 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian data. Used for the
// optimizer state file next to the model weights.
import * as fs from 'node:fs';

export interface RawTensor {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export function encodeSafetensors(tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const t = tensors[n]!;
    const bytes = t.data.byteLength;
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to 8 bytes so the data is aligned.
  while ((Buffer.byteLength(json) + 8) % 8 !== 0) json += ' ';
  const hbuf = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + hbuf.length + offset);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let pos = 8 + hbuf.length;
  for (const n of names) {
    const t = tensors[n]!;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, file = 'safetensors'): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${file}: too short to be a safetensors file (${buf.length} bytes)`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (8 + hlen > buf.length) throw new Error(`${file}: header length ${hlen} runs past the end of the file (${buf.length} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + hlen;
  const tensors: Record<string, RawTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32' && dtype !== 'I32') throw new Error(`${file}: tensor "${name}" has dtype ${dtype}; only F32 and I32 are read here`);
    const [a, b] = data_offsets;
    const n = shape.reduce((x, y) => x * y, 1);
    if (b - a !== n * 4 || base + b > buf.length) throw new Error(`${file}: tensor "${name}" has inconsistent offsets [${a}, ${b}] for shape [${shape}]`);
    const copy = new Uint8Array(b - a);
    copy.set(buf.subarray(base + a, base + b));
    tensors[name] = { dtype, shape, data: dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer) };
  }
  return { tensors, metadata };
}

export function writeSafetensorsFile(path: string, tensors: Record<string, RawTensor>, metadata?: Record<string, string>): void {
  fs.writeFileSync(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensorsFile(path: string): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  return decodeSafetensors(fs.readFileSync(path), path);
}
