// PNG pictures of layouts (8-bit grayscale). Node-only: the image data is compressed with node:zlib, so these
// are exported from '@gptlab/sparse-attention/node' (and the Node root entry), not from the browser entry.
import { deflateSync } from 'node:zlib';
import type { BlockLayout } from './layout';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes an 8-bit grayscale image (row-major, width·height bytes) as PNG. */
export function encodeGrayPNG(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPNG: ${pixels.length} pixels for ${width}×${height}`);
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const sig = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const parts = [sig, chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(deflateSync(raw))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** PNG of the block grid (kept black, skipped light grey, future white), `cellSize` pixels per block. */
export function renderLayoutPNG(layout: BlockLayout, opts: { cellSize?: number } = {}): Uint8Array {
  const nb = layout.numBlocks;
  const cell = opts.cellSize ?? Math.max(1, Math.floor(512 / nb));
  const size = nb * cell;
  const px = new Uint8Array(size * size).fill(255);
  for (let r = 0; r < nb; r++) {
    const kept = new Uint8Array(r + 1);
    for (const kb of layout.rows[r]!) kept[kb] = 1;
    for (let c = 0; c <= r; c++) {
      const shade = kept[c] ? 30 : 225;
      for (let y = r * cell; y < (r + 1) * cell; y++) px.fill(shade, y * size + c * cell, y * size + (c + 1) * cell);
    }
  }
  return encodeGrayPNG(px, size, size);
}
