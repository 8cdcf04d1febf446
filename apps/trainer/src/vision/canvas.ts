// A gray image being drawn: gray levels in [0, 1] (0 black, 1 white), row-major, as the image encoder reads
// them. The data generators paint on it, then add noise.
import type { Rng } from '@gptlab/common';

export class GrayCanvas {
  readonly pixels: Float32Array;

  constructor(
    readonly height: number,
    readonly width: number,
    background = 1,
  ) {
    this.pixels = new Float32Array(height * width).fill(background);
  }

  /** Sets the pixels of the rectangle that lie inside the image. */
  fillRect(x: number, y: number, w: number, h: number, level: number): void {
    for (let r = Math.max(0, y); r < Math.min(this.height, y + h); r++) {
      for (let c = Math.max(0, x); c < Math.min(this.width, x + w); c++) this.pixels[r * this.width + c] = level;
    }
  }

  set(x: number, y: number, level: number): void {
    if (x >= 0 && x < this.width && y >= 0 && y < this.height) this.pixels[y * this.width + x] = level;
  }

  /** Adds N(0, std²) to every pixel, clipped to [0, 1]. */
  addNoise(rng: Rng, std: number): void {
    if (std <= 0) return;
    for (let i = 0; i < this.pixels.length; i++) this.pixels[i] = Math.min(1, Math.max(0, this.pixels[i]! + std * rng.normal()));
  }
}
