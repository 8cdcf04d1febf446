// The one seeded PRNG of gptlab: mulberry32 over a splitmix32-style seed mixer. Same seed → same stream on
// every platform, and the state is one 32-bit integer, so a run can save it and resume exactly.

/** splitmix32-style mixer: turns any 32-bit integer into a well-spread seed. */
export function mixSeed(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = mixSeed(seed >>> 0);
  }
  /** Uniform unsigned 32-bit integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform float in [0, 1) from one draw (32 random bits). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform float in [0, 1) with 53 random bits (two draws): for sampling where float32-level ties matter. */
  next53(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller, cosine branch). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /**
   * numpy.random.pareto(a): a Lomax (Pareto II) draw, X = U^(-1/a) − 1, so P(X > x) = (1 + x)^−a.
   * GPT-3 keeps a crawl document when pareto(9) > 1 − score.
   */
  pareto(alpha: number): number {
    const u = 1 - this.next53(); // (0, 1]
    return Math.pow(u, -1 / alpha) - 1;
  }
  /** A fresh 31-bit seed for APIs that take one (tfjs ops, child generators). */
  seed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }
  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
  getState(): number {
    return this.state;
  }
  setState(s: number): void {
    this.state = s | 0;
  }
}
