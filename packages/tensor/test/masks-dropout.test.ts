import { tf, initBackend, causalMask, MASK_VALUE, dropout } from '../src';

beforeAll(() => initBackend());

describe('causalMask', () => {
  it('is 0 on and below the diagonal, MASK_VALUE above, and cached', () => {
    const m = causalMask(4);
    const v = m.arraySync() as number[][];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(v[i]![j]! + 0).toBe(j <= i ? 0 : MASK_VALUE);
    const before = tf.memory().numTensors;
    expect(causalMask(4)).toBe(m);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('dropout', () => {
  it('is reproducible with a seed, scales kept values, and drops about `rate`', () => {
    const x = tf.ones([10000]);
    const a = dropout(x, 0.25, 42).dataSync();
    const b = dropout(x, 0.25, 42).dataSync();
    const c = dropout(x, 0.25, 43).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const zeros = Array.from(a).filter((v) => v === 0).length / a.length;
    expect(zeros).toBeGreaterThan(0.22);
    expect(zeros).toBeLessThan(0.28);
    for (const v of a) expect(v === 0 || Math.abs(v - 1 / 0.75) < 1e-6).toBe(true);
  });
  it('returns the input at rate 0 and rejects bad rates', () => {
    const x = tf.ones([3]);
    expect(dropout(x, 0, 1)).toBe(x);
    expect(() => dropout(x, 1, 1)).toThrow(/rate/);
  });
  it('passes gradients only through kept units', () => {
    const x = tf.ones([100]);
    const g = tf
      .grad((t: tf.Tensor) => tf.sum(dropout(t, 0.5, 7)))(x)
      .dataSync();
    const y = dropout(x, 0.5, 7).dataSync();
    for (let i = 0; i < 100; i++) expect(g[i]).toBeCloseTo(y[i]!, 6);
  });
});
