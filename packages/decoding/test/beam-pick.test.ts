// The fused per-row candidate pick of beam search equals the two helpers it replaces, to the bit: the float64
// log-sum-exp (same terms, same order) and topKIndices (value descending, ties by lower id, -Infinity skipped).
import { rowCandidates } from '../src/beam-pick';
import { topKIndices } from '../src/math';

function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max);
  return max + Math.log(sum);
}

function row(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898 + seed * 78.233) * 6;
  return a;
}

describe('rowCandidates', () => {
  const rows: [string, Float32Array, number][] = [
    ['random, GPT-2 vocabulary', row(50257, 1), 8],
    ['random, k = 1', row(1000, 2), 1],
    ['k larger than the row', row(5, 3), 8],
    ['ties: lower ids first', Float32Array.from([1, 3, 3, 2, 3, 3, 0]), 3],
    ['all equal', new Float32Array(100).fill(0.5), 4],
    ['-Infinity entries skipped', Float32Array.from([-Infinity, 2, -Infinity, 1, -Infinity]), 4],
    ['best at the end', Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 3],
  ];
  test.each(rows)('%s: == logSumExp + topKIndices', (_, x, k) => {
    const got = rowCandidates(x, k);
    expect(got.ids).toEqual(topKIndices(x, k));
    expect(got.lse).toBe(logSumExp(x)); // the same double, not just close
  });

  test('logits without a finite maximum are refused', () => {
    expect(() => rowCandidates(Float32Array.from([-Infinity, -Infinity]), 2)).toThrow('model returned logits with maximum -Infinity');
    expect(() => rowCandidates(Float32Array.from([1, NaN, Infinity]), 2)).toThrow('maximum Infinity');
  });
});
