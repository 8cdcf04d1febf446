// Image input for checkpoints written by `gptlab-train vision` (config.json with a vision_config): the model
// reads one gray image as visual tokens before the prompt (@gptlab/model's VisionGPT), and decoding runs on the
// image-conditioned model exactly as on a text GPT. Text checkpoints have no image side.
import { hasVisionConfig, loadVisionGPT, readPngGray, type ImageConditionedGPT, type VisionGPT } from '@gptlab/model';
import { tf } from '@gptlab/tensor';
import { HttpError } from './types';

/** One gray image: row-major levels in [0, 1] (0 black, 1 white). */
export interface ImageInput {
  height: number;
  width: number;
  pixels: ArrayLike<number>;
}

/** The checkpoint's VisionGPT, or null for a text-only checkpoint. */
export async function loadVision(dir: string): Promise<VisionGPT | null> {
  return (await hasVisionConfig(dir)) ? loadVisionGPT(dir) : null;
}

/** The image size a vision checkpoint reads (for the model card and the UI), or null. */
export function imageSizeOf(vision: VisionGPT | null): { height: number; width: number; visualTokens: number } | null {
  return vision
    ? { height: vision.vision.config.imageHeight, width: vision.vision.config.imageWidth, visualTokens: vision.prefixLength }
    : null;
}

/** A request's image checked against the model: 400 when the model reads no images or the size is wrong. */
export function checkImage(vision: VisionGPT | null, image: ImageInput | undefined, name: string): void {
  if (!image) return;
  if (!vision) throw new HttpError(400, `${name} reads no images (its config.json has no vision_config)`);
  const c = vision.vision.config;
  if (image.height !== c.imageHeight || image.width !== c.imageWidth || image.pixels.length !== c.imageHeight * c.imageWidth) {
    throw new HttpError(
      400,
      `image must be ${c.imageHeight}×${c.imageWidth} gray pixels (got ${image.height}×${image.width}, ${image.pixels.length} values)`,
    );
  }
}

/** The model conditioned on `image` (the caller disposes it), or null without an image. */
export function conditionOn(vision: VisionGPT | null, image: ImageInput | undefined, name: string): ImageConditionedGPT | null {
  if (!image) return null;
  checkImage(vision, image, name);
  const t = tf.tensor3d(Float32Array.from(image.pixels), [1, image.height, image.width]);
  try {
    return vision!.withImage(t);
  } finally {
    t.dispose();
  }
}

/** A PNG file for `generate --image`, at the size the model reads; the error names the file. */
export async function readImageFile(file: string, size: { height: number; width: number }): Promise<ImageInput> {
  return readPngGray(file, size);
}

/** The JSON `image` field of a request: {"height", "width", "pixels": [gray levels in 0..1]}. */
export function parseImageField(v: unknown): ImageInput | undefined {
  if (v === undefined || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const dims = ['height', 'width'].every((k) => Number.isInteger(o[k]) && (o[k] as number) > 0 && (o[k] as number) <= 1024);
  if (typeof v !== 'object' || !dims || !Array.isArray(o.pixels))
    throw new HttpError(400, 'image must be {"height", "width", "pixels": [gray levels in 0..1, row by row]}');
  const pixels = o.pixels as unknown[];
  if (pixels.length !== (o.height as number) * (o.width as number) || pixels.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1)))
    throw new HttpError(400, `image.pixels must hold height × width = ${(o.height as number) * (o.width as number)} numbers in [0, 1]`);
  return { height: o.height as number, width: o.width as number, pixels: pixels as number[] };
}
