// A tiny seeded PRNG (mulberry32 over a splitmix32-style seed mixer), the same generator as @gptlab/tensor's
// Rng, kept local so decoding does not need a tensor library for sampling. Same seed → same stream everywhere.

export function mixSeed(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class SeededRng {
  private state: number;
  constructor(seed: number) {
    this.state = mixSeed(seed >>> 0);
  }
  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  private u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
