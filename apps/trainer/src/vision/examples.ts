// What both data sets produce: an image with a prompt and its answer, and the split rule they share.

export interface VisionExample {
  task: 'ocr' | 'vqa';
  /** Gray levels in [0, 1], row-major, height × width of the model's images. */
  pixels: Float32Array;
  /** Text after the visual tokens (not scored). */
  prompt: string;
  /** The expected answer (scored, then the end-of-text token). */
  answer: string;
}

export interface ImageSize {
  height: number;
  width: number;
}

/** FNV-1a of `key` mixed with `seed`: the held-out split is a pure function of the item and the seed. */
export function splitHash(key: string, seed: number): number {
  let h = 0x811c9dc5 ^ (seed * 0x9e3779b1);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** Paper and ink levels, and the noise, drawn for one image: varied contrast keeps the encoder from keying on one level. */
export function drawStyle(rng: { next(): number }): { paper: number; ink: number; noise: number } {
  return { paper: 0.75 + 0.25 * rng.next(), ink: 0.35 * rng.next(), noise: 0.08 * rng.next() };
}
