import { MinHeap, kthLargest, editDistance, closestNames } from '../src/index';
import { Rng } from '../src/index';

describe('MinHeap', () => {
  it('pops in sorted order (against Array.sort), with growth and replaceTop', () => {
    const r = new Rng(9);
    const h = new MinHeap(2);
    const xs: number[] = [];
    for (let i = 0; i < 500; i++) {
      const v = Math.floor(r.next() * 1000) - 500;
      xs.push(v);
      h.push(v);
    }
    // replaceTop: drop the minimum, add a big key.
    const min = Math.min(...xs);
    expect(h.peek()).toBe(min);
    h.replaceTop(10_000);
    xs.splice(xs.indexOf(min), 1, 10_000);
    const out: number[] = [];
    while (h.size) out.push(h.pop());
    expect(out).toEqual([...xs].sort((a, b) => a - b));
  });
});

describe('kthLargest', () => {
  it('equals sorting, skips −∞, and is −∞ when fewer than k finite values', () => {
    const r = new Rng(2);
    const x = Float64Array.from({ length: 300 }, () => (r.next() < 0.2 ? -Infinity : r.normal()));
    const finite = [...x].filter((v) => v !== -Infinity).sort((a, b) => b - a);
    for (const k of [1, 2, 17, finite.length]) expect(kthLargest(x, k)).toBe(finite[k - 1]);
    expect(kthLargest(x, finite.length + 1)).toBe(-Infinity);
    expect(() => kthLargest(x, 0)).toThrow(/k must be >= 1/);
  });
});

describe('editDistance', () => {
  it('is Levenshtein distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('same', 'same')).toBe(0);
  });
  it('closestNames ranks near misses first', () => {
    expect(closestNames('stpes', ['steps', 'lr', 'seed', 'step-size'])).toEqual(['steps']);
    expect(closestNames('lr', ['learning-rate', 'lr-min', 'seed'])).toEqual(['lr-min']);
    expect(closestNames('zzz', ['steps'])).toEqual([]);
  });
});
