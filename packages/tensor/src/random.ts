// Small seeded generators shared across gptlab: same seed → same stream on every platform.

/** splitmix32-style mixer: turns any 32-bit integer into a well-spread seed. */
export function mixSeed(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32: a fast 32-bit PRNG with a serialisable state (for resumable runs). */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = mixSeed(seed >>> 0);
  }
  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** A fresh 31-bit seed for tfjs ops that take one. */
  seed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }
  getState(): number {
    return this.state;
  }
  setState(s: number): void {
    this.state = s | 0;
  }
}
