// safetensors reading/writing: round trips of every dtype, half-precision rounding, files written by the
// PyTorch reference, and malformed files rejected with the file and tensor named.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f16ToF32, f32ToBF16, f32ToF16, readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src';
import { FIXTURES, tmpDir } from './helpers';

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Hand-built file: header JSON (unpadded) + buffer. */
function handBuilt(header: Record<string, unknown>, buffer: Uint8Array): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, buffer]);
}

it('round-trips F32, F16, BF16, I32, I64, U8 tensors, empty and scalar shapes, and metadata', async () => {
  const file = path.join(dir, 'rt.safetensors');
  const f = new Float32Array([0, -0, 1.5, -2.25, 3.4e38, Infinity, -Infinity, 1e-45]);
  await writeSafetensors(
    file,
    {
      f32: { dtype: 'F32', shape: [2, 4], data: f },
      f16: { dtype: 'F16', shape: [4], data: new Float32Array([1, -2.5, 65504, 0.0001]) },
      bf16: { dtype: 'BF16', shape: [3], data: new Float32Array([1, -2.5, 3.140625]) },
      i32: { dtype: 'I32', shape: [3, 1], data: new Int32Array([-1, 0, 2147483647]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
      u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 7, 255]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([2.5]) },
    },
    { k: 'v' },
  );
  const raw = fs.readFileSync(file);
  expect(Number(raw.readBigUInt64LE(0)) % 8).toBe(0); // header padded so the buffer is 8-byte aligned
  const { tensors, metadata } = await readSafetensors(file);
  expect(metadata).toEqual({ k: 'v' });
  expect(Array.from(tensors.get('f32')!.data as Float32Array)).toEqual(Array.from(f));
  expect(tensors.get('f32')!.shape).toEqual([2, 4]);
  expect(tensors.get('f16')!.dtype).toBe('F16');
  const h = tensors.get('f16')!.data as Float32Array;
  expect([h[0], h[1], h[2]]).toEqual([1, -2.5, 65504]);
  expect(Math.abs(h[3]! - 0.0001) / 0.0001).toBeLessThan(1e-3);
  expect(Array.from(tensors.get('bf16')!.data as Float32Array)).toEqual([1, -2.5, 3.140625]);
  expect(Array.from(tensors.get('i32')!.data as Int32Array)).toEqual([-1, 0, 2147483647]);
  expect(Array.from(tensors.get('i64')!.data as BigInt64Array)).toEqual([-5n, 1n << 40n]);
  expect(Array.from(tensors.get('u8')!.data as Uint8Array)).toEqual([0, 7, 255]);
  expect(tensors.get('empty')!.shape).toEqual([0, 4]);
  expect(tensors.get('scalar')!.shape).toEqual([]);
  // No temporary files left behind.
  expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

it('converts to and from half precision with round-to-nearest-even', () => {
  // binary16 reference bit patterns
  expect(f32ToF16(1)).toBe(0x3c00);
  expect(f32ToF16(-2)).toBe(0xc000);
  expect(f32ToF16(65504)).toBe(0x7bff);
  expect(f32ToF16(65520)).toBe(0x7c00); // rounds up to +Inf
  expect(f32ToF16(2 ** -24)).toBe(0x0001); // smallest subnormal
  expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie → even (0)
  expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie → even (2)
  expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even
  expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
  expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  for (let bits = 0; bits < 0x7c00; bits += 37) expect(f32ToF16(f16ToF32(bits))).toBe(bits);
  // bfloat16: the upper 16 bits of float32, rounded to nearest even
  expect(f32ToBF16(1)).toBe(0x3f80);
  expect(f32ToBF16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
  expect(f32ToBF16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  expect(f32ToBF16(-Infinity)).toBe(0xff80);
});

it('reads files written by the PyTorch reference (gpt_ref.py) and the hub layout (F16 with mask buffers)', async () => {
  const a = await readSafetensors(path.join(FIXTURES, 'tiny', 'model.safetensors'));
  expect(a.tensors.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([64, 192]);
  expect(a.metadata).toMatchObject({ generator: 'gpt_ref.py', seed: '1' });
  const b = await readSafetensorsHeader(path.join(FIXTURES, 'tiny-f16', 'model.safetensors'));
  expect(b.entries.get('h.0.attn.bias')!.shape).toEqual([1, 1, 32, 32]);
  expect(b.entries.get('wte.weight')!.dtype).toBe('F16');
});

describe('malformed files are rejected, naming the file and the tensor', () => {
  const good = () =>
    handBuilt(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] } },
      new Uint8Array(14),
    );
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };

  it('a well-formed hand-built file (unpadded header, BF16) reads', async () => {
    const f = write('ok.safetensors', good());
    expect((await readSafetensors(f)).tensors.size).toBe(2);
  });

  it('truncated file', async () => {
    const g = good();
    const f = write('trunc.safetensors', g.subarray(0, g.length - 1));
    await expect(readSafetensors(f)).rejects.toThrow(new RegExp(`${f}: truncated file: tensor 'b' needs bytes \\[8, 14\\)`));
    const f2 = write('trunc2.safetensors', g.subarray(0, 20));
    await expect(readSafetensors(f2)).rejects.toThrow(/trunc2.safetensors: truncated file or not safetensors \(header length/);
    const f3 = write('trunc3.safetensors', g.subarray(0, 5));
    await expect(readSafetensors(f3)).rejects.toThrow(/trunc3.safetensors: truncated file \(5 bytes/);
  });

  it('unknown dtype', async () => {
    const f = write('dtype.safetensors', handBuilt({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)));
    await expect(readSafetensors(f)).rejects.toThrow(new RegExp(`${f}: tensor 'w' has unknown dtype 'F8_E4M3'`));
  });

  it('offsets that do not match the shape, holes, trailing bytes, bad JSON', async () => {
    const f = write('size.safetensors', handBuilt({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)));
    await expect(readSafetensors(f)).rejects.toThrow(
      /size.safetensors: tensor 'w' has data_offsets \[0, 8\] \(8 bytes\) but F32\[3\] needs 12 bytes/,
    );
    const f2 = write('hole.safetensors', handBuilt({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)));
    await expect(readSafetensors(f2)).rejects.toThrow(/hole.safetensors: tensor 'w' starts at byte 4 .*hole or overlap/);
    const f3 = write('tail.safetensors', Buffer.concat([good(), Buffer.alloc(3)]));
    await expect(readSafetensors(f3)).rejects.toThrow(/tail.safetensors: 3 unused bytes/);
    const f4 = write('json.safetensors', Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]));
    await expect(readSafetensors(f4)).rejects.toThrow(/json.safetensors: bad header JSON/);
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(/nope.safetensors: no such file/);
  });

  it('the writer checks data sizes and names', async () => {
    await expect(
      writeSafetensors(path.join(dir, 'w.safetensors'), { x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
    ).rejects.toThrow(/tensor 'x': 8 bytes of data for F32\[3\] \(expected 12\)/);
    await expect(
      writeSafetensors(path.join(dir, 'w.safetensors'), { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }),
    ).rejects.toThrow(/reserved/);
  });
});
