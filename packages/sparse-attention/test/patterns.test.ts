import { allowed, elementMask, parsePattern, patternToString, validatePattern, bigbirdRandomBlocks, type AttentionPattern } from '../src';

const keysOf = (p: AttentionPattern, i: number, bs?: number) =>
  Array.from({ length: i + 3 }, (_, j) => j).filter((j) => allowed(p, i, j, bs));

describe('parsePattern / patternToString', () => {
  it.each([
    ['dense', { type: 'dense' }],
    ['local:256', { type: 'local', window: 256 }],
    ['strided:64', { type: 'strided', stride: 64 }],
    ['fixed:64:8', { type: 'fixed', stride: 64, c: 8 }],
    ['bigbird:64:16:1:7', { type: 'bigbird', window: 64, globalTokens: 16, randomBlocks: 1, seed: 7 }],
  ])('%s', (spec, obj) => {
    expect(parsePattern(spec)).toEqual(obj);
    expect(patternToString(obj as AttentionPattern)).toBe(spec);
  });

  it('defaults the BigBird seed to 0 and always prints it', () => {
    expect(parsePattern('bigbird:64:16:1')).toEqual({ type: 'bigbird', window: 64, globalTokens: 16, randomBlocks: 1, seed: 0 });
    expect(patternToString(parsePattern('bigbird:64:16:1'))).toBe('bigbird:64:16:1:0');
  });

  it('names the problem in its errors', () => {
    expect(() => parsePattern('local')).toThrow(/local:<window>/);
    expect(() => parsePattern('banded:3')).toThrow(/unknown type "banded"/);
    expect(() => parsePattern('local:abc')).toThrow(/field 1 \("abc"\) is not an integer/);
    expect(() => parsePattern('local:0')).toThrow(/window must be an integer ≥ 1/);
    expect(() => parsePattern('fixed:8:9')).toThrow(/c \(9\) must be ≤ stride \(8\)/);
    expect(() => parsePattern('fixed:8')).toThrow(/fixed:<stride>:<c>/);
    expect(() => validatePattern({ type: 'strided', stride: 2.5 } as AttentionPattern)).toThrow(/stride must be an integer/);
  });
});

describe('element rules (causal)', () => {
  it('dense: every key up to the query', () => {
    expect(keysOf({ type: 'dense' }, 4)).toEqual([0, 1, 2, 3, 4]);
  });
  it('local: the window most recent positions, self included', () => {
    expect(keysOf({ type: 'local', window: 3 }, 5)).toEqual([3, 4, 5]);
    expect(keysOf({ type: 'local', window: 3 }, 1)).toEqual([0, 1]);
  });
  it('strided: previous stride positions plus every stride-th earlier one', () => {
    // i = 9, l = 4: 9−j < 4 → 6..9; (9−j) mod 4 = 0 → 1, 5, 9
    expect(keysOf({ type: 'strided', stride: 4 }, 9)).toEqual([1, 5, 6, 7, 8, 9]);
  });
  it('fixed: own block of length stride plus the last c of every block', () => {
    // i = 9, l = 4, c = 1: own block 8..9; summaries j mod 4 = 3 → 3, 7
    expect(keysOf({ type: 'fixed', stride: 4, c: 1 }, 9)).toEqual([3, 7, 8, 9]);
    expect(keysOf({ type: 'fixed', stride: 4, c: 2 }, 9)).toEqual([2, 3, 6, 7, 8, 9]);
  });
  it('bigbird: window + global tokens + seeded random blocks from strictly earlier blocks', () => {
    const p: AttentionPattern = { type: 'bigbird', window: 2, globalTokens: 1, randomBlocks: 1, seed: 5 };
    const bs = 4;
    for (let i = 0; i < 64; i++) {
      const qb = Math.floor(i / bs);
      const rnd = Array.from(bigbirdRandomBlocks(5, 1, bs, qb));
      expect(rnd.length).toBe(Math.min(1, qb));
      for (const kb of rnd) expect(kb).toBeLessThan(qb);
      const expected = Array.from({ length: i + 1 }, (_, j) => j).filter((j) => i - j < 2 || j < 1 || rnd.includes(Math.floor(j / bs)));
      expect(keysOf(p, i, bs)).toEqual(expected);
    }
    // Seeded: the same seed gives the same blocks, another seed (usually) others.
    const draw = (seed: number) =>
      Array.from({ length: 40 }, (_, qb) => Array.from(bigbirdRandomBlocks(seed, 2, 16, qb + 3)).join()).join('|');
    expect(draw(1)).toBe(draw(1));
    expect(draw(1)).not.toBe(draw(2));
  });
  it('never attends to the future', () => {
    for (const spec of ['dense', 'local:4', 'strided:3', 'fixed:4:2', 'bigbird:3:2:2:1']) {
      const p = parsePattern(spec);
      const future: string[] = [];
      for (let i = 0; i < 40; i++) for (let j = i + 1; j < 45; j++) if (allowed(p, i, j, 8)) future.push(`${i}→${j}`);
      expect(future).toEqual([]);
    }
  });
});

describe('elementMask', () => {
  it('rows are queries, columns keys; queryOffset selects the rows of a longer mask (KV-cache decoding)', () => {
    for (const spec of ['local:5', 'strided:4', 'fixed:6:2', 'bigbird:4:3:1:9']) {
      const p = parsePattern(spec);
      const T = 50;
      const full = elementMask(p, T, T, 0, 8);
      const expected = Array.from({ length: T * T }, (_, x) => (allowed(p, Math.floor(x / T), x % T, 8) ? 1 : 0));
      expect(Array.from(full)).toEqual(expected);
      const tail = elementMask(p, 3, T, T - 3, 8);
      expect(Array.from(tail)).toEqual(Array.from(full.subarray((T - 3) * T)));
    }
  });
});
