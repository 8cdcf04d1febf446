// PNG files as gray images (pngjs): 8-bit gray, RGB and RGBA become gray levels; bad files are one clear error
// naming the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { decodePngGray, encodePngGray, readPngGray } from '../src';
import { tmpDir } from './helpers';

function pngOf(width: number, height: number, rgba: number[], colorType: 0 | 2 | 6): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png, { colorType });
}

test('gray, RGB and RGBA PNGs written to disk decode to gray levels (alpha over white)', async () => {
  const dir = tmpDir();
  // Two pixels: black, and (RGB) pure green / (RGBA) black at half alpha.
  const gray = path.join(dir, 'gray.png');
  fs.writeFileSync(gray, pngOf(2, 1, [0, 0, 0, 255, 128, 128, 128, 255], 0));
  const rgb = path.join(dir, 'rgb.png');
  fs.writeFileSync(rgb, pngOf(2, 1, [255, 255, 255, 255, 0, 255, 0, 255], 2));
  const rgba = path.join(dir, 'rgba.png');
  fs.writeFileSync(rgba, pngOf(2, 1, [0, 0, 0, 255, 0, 0, 0, 128], 6));
  const g = await readPngGray(gray, { height: 1, width: 2 });
  expect(Array.from(g.pixels)).toEqual([0, expect.closeTo(128 / 255, 5)]);
  expect(Array.from((await readPngGray(rgb)).pixels)).toEqual([expect.closeTo(1, 5), expect.closeTo(0.587, 3)]);
  expect(Array.from((await readPngGray(rgba)).pixels)).toEqual([0, expect.closeTo(1 - 128 / 255, 5)]);
  // encodePngGray writes what decodePngGray reads.
  const back = decodePngGray(encodePngGray({ width: 3, height: 2, pixels: Float32Array.from([0, 0.5, 1, 1, 0.25, 0]) }), 'x.png');
  expect(Array.from(back.pixels, (v) => Math.round(v * 255))).toEqual([0, 128, 255, 255, 64, 0]);
});

test('bad images are one clear error naming the file', async () => {
  const dir = tmpDir();
  const notPng = path.join(dir, 'photo.png');
  fs.writeFileSync(notPng, 'GIF89a not a png at all, just text that is long enough');
  await expect(readPngGray(notPng)).rejects.toThrow(`${notPng}: not a PNG file (no PNG signature)`);
  await expect(readPngGray(path.join(dir, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read the image \(ENOENT\)/);
  const big = pngOf(64, 64, new Array(64 * 64 * 4).fill(255), 0);
  expect(() => decodePngGray(big, 'big.png', { maxPixels: 1000 })).toThrow('big.png: the image is too large (64×64; at most 1000 pixels)');
  expect(() => decodePngGray(big, 'big.png', { height: 16, width: 64 })).toThrow(
    'big.png: the image is 64×64 (height×width), the model reads 16×64',
  );
  const deep = Buffer.from(big);
  deep[24] = 16; // bit depth in IHDR
  expect(() => decodePngGray(deep, 'deep.png')).toThrow('deep.png: 16-bit gray channels are not supported (8 bits or fewer)');
  const odd = Buffer.from(big);
  odd[25] = 5; // colour type 5 does not exist
  expect(() => decodePngGray(odd, 'odd.png')).toThrow(/odd\.png: unsupported PNG colour type 5/);
  const cut = big.subarray(0, 60);
  expect(() => decodePngGray(cut, 'cut.png')).toThrow(/^cut\.png: corrupt PNG/);
});
