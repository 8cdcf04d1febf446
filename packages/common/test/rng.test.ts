import { Rng, mixSeed } from '../src/index';

describe('Rng', () => {
  it('is mulberry32 over mixSeed: known first values for seed 42', () => {
    // Reference computed independently below with plain integer arithmetic (the published mulberry32 step).
    const ref = (seed: number, n: number): number[] => {
      let a = mixSeed(seed);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        out.push(((t ^ (t >>> 14)) >>> 0) / 4294967296);
      }
      return out;
    };
    const r = new Rng(42);
    expect(Array.from({ length: 5 }, () => r.next())).toEqual(ref(42, 5));
  });

  it('same seed → same stream; state round-trips', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    for (let i = 0; i < 10; i++) expect(a.u32()).toBe(b.u32());
    const s = a.getState();
    const x = [a.next(), a.next53(), a.int(10)];
    a.setState(s);
    expect([a.next(), a.next53(), a.int(10)]).toEqual(x);
  });

  it('next53 uses two draws and stays in [0, 1)', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    const v = a.next53();
    b.u32();
    b.u32();
    expect(a.getState()).toBe(b.getState());
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(1);
  });

  it('normal has mean ≈ 0 and variance ≈ 1; pareto matches its survival function', () => {
    const r = new Rng(1);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
    // P(X > 0.1) = 1.1^-9 ≈ 0.4241 for alpha 9.
    let above = 0;
    for (let i = 0; i < n; i++) if (r.pareto(9) > 0.1) above++;
    expect(Math.abs(above / n - Math.pow(1.1, -9))).toBeLessThan(0.015);
  });

  it('shuffle is a permutation and int stays in range', () => {
    const r = new Rng(5);
    const xs = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });
});
