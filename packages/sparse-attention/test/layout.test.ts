import { compileLayout, compileLayoutReference, elementDensity, parsePattern, Rng } from './imports';

const specs = [
  'dense',
  'local:1',
  'local:7',
  'local:33',
  'strided:5',
  'strided:16',
  'strided:40',
  'fixed:8:1',
  'fixed:16:4',
  'fixed:20:7',
  'bigbird:9:3:1:1',
  'bigbird:40:17:3:4',
  'bigbird:1:0:0:0',
];

describe('compileLayout', () => {
  it.each(specs)('%s: the analytic layout equals the one scanned from the element mask', (spec) => {
    const p = parsePattern(spec);
    const rng = new Rng(spec.length);
    for (const bs of [4, 16, 32]) {
      for (const T of [1, 5, bs, bs + 1, 3 * bs - 1, 97 + rng.int(60)]) {
        const fast = compileLayout(p, T, bs);
        const ref = compileLayoutReference(p, T, bs);
        expect(fast.numBlocks).toBe(Math.ceil(T / bs));
        expect(fast.rows.map((r) => Array.from(r))).toEqual(ref.rows.map((r) => Array.from(r)));
        expect(fast.keptBlocks).toBe(ref.keptBlocks);
      }
    }
  });

  it('density is the kept fraction of the causal block triangle', () => {
    const L = compileLayout({ type: 'dense' }, 100, 16);
    expect(L.numBlocks).toBe(7);
    expect(L.keptBlocks).toBe(28);
    expect(L.density).toBe(1);
    // local:256 at n = 4096, block 32: each query block sees itself and the 8 before it.
    const loc = compileLayout({ type: 'local', window: 256 }, 4096, 32);
    expect(loc.rows[100]).toEqual(Int32Array.from([92, 93, 94, 95, 96, 97, 98, 99, 100]));
    expect(loc.keptBlocks).toBe(128 * 9 - 36);
    expect(loc.density).toBeCloseTo((128 * 9 - 36) / ((128 * 129) / 2), 12);
  });

  it('local and bigbird layouts grow linearly in n, fixed/strided as n²/stride', () => {
    for (const spec of ['local:256', 'bigbird:96:32:1:0']) {
      const a = compileLayout(parsePattern(spec), 4096).keptBlocks;
      const b = compileLayout(parsePattern(spec), 8192).keptBlocks;
      expect(b / a).toBeGreaterThan(1.9);
      expect(b / a).toBeLessThan(2.1);
    }
    // strided:128 at block 32 keeps every 4th earlier block: density → 1/4 of the triangle.
    expect(compileLayout(parsePattern('strided:128'), 8192).density).toBeGreaterThan(0.24);
    expect(compileLayout(parsePattern('strided:128'), 8192).density).toBeLessThan(0.28);
  });

  it('element density counts kept pairs', () => {
    expect(elementDensity({ type: 'dense' }, 10)).toBe(1);
    // local:2 over n = 10: 10 self pairs + 9 neighbours of the 55 causal pairs
    expect(elementDensity({ type: 'local', window: 2 }, 10)).toBeCloseTo(19 / 55, 12);
  });

  it('rejects bad sizes naming the field', () => {
    expect(() => compileLayout({ type: 'dense' }, 0)).toThrow(/seqLen must be an integer ≥ 1/);
    expect(() => compileLayout({ type: 'dense' }, 10, 0)).toThrow(/blockSize must be an integer ≥ 1/);
    expect(() => compileLayout({ type: 'local', window: -1 }, 10)).toThrow(/window must be an integer ≥ 1/);
  });
});
