// PNG files as gray images for the image encoder (Node: pngjs decodes). Gray, gray + alpha, RGB, RGBA and
// palette PNGs of bit depth ≤ 8 become gray levels in [0, 1] (ITU-R BT.601 luma; alpha composited over white,
// the background the training images have). Every refusal is one line naming the file.
import { promises as fsp } from 'node:fs';
import { PNG } from 'pngjs';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Colour types of the PNG spec: 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA. */
const COLOR_TYPES = new Map([
  [0, 'gray'],
  [2, 'RGB'],
  [3, 'palette'],
  [4, 'gray+alpha'],
  [6, 'RGBA'],
]);

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major gray levels in [0, 1]: 0 black, 1 white. */
  pixels: Float32Array;
}

export interface DecodeOptions {
  /** The image must be exactly this size (the encoder's image_size). */
  height?: number;
  width?: number;
  /** Largest accepted width × height before decoding (default 4096² / 16). */
  maxPixels?: number;
}

/** Decodes PNG bytes; `name` (a file name) starts every error. */
export function decodePngGray(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): GrayImage {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error(`${name}: not a PNG file (no PNG signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  const maxPixels = opts.maxPixels ?? (4096 * 4096) / 16;
  if (width * height > maxPixels) throw new Error(`${name}: the image is too large (${width}×${height}; at most ${maxPixels} pixels)`);
  if (!COLOR_TYPES.has(colorType))
    throw new Error(`${name}: unsupported PNG colour type ${colorType} (gray, RGB, palette, gray+alpha or RGBA)`);
  if (depth > 8) throw new Error(`${name}: ${depth}-bit ${COLOR_TYPES.get(colorType)} channels are not supported (8 bits or fewer)`);
  if ((opts.height !== undefined && height !== opts.height) || (opts.width !== undefined && width !== opts.width)) {
    throw new Error(
      `${name}: the image is ${height}×${width} (height×width), the model reads ${opts.height ?? height}×${opts.width ?? width}`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new Error(`${name}: corrupt PNG (${(e as Error).message})`);
  }
  const rgba = png.data; // pngjs expands every colour type to 8-bit RGBA
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const luma = (0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!) / 255;
    const alpha = rgba[4 * i + 3]! / 255;
    pixels[i] = alpha * luma + (1 - alpha);
  }
  return { width, height, pixels };
}

/** Reads and decodes a PNG file (see decodePngGray). */
export async function readPngGray(file: string, opts: DecodeOptions = {}): Promise<GrayImage> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read the image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodePngGray(bytes, file, opts);
}

/** An 8-bit gray PNG of `image` (levels rounded), e.g. to save a training example. */
export function encodePngGray(image: GrayImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  const gray = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(255 * Math.min(1, Math.max(0, image.pixels[i]!)));
  png.data = gray;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
}
