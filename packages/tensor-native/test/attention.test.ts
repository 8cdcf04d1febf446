// The addon's flash-style causal attention entry points, raw: cases with a closed form (one key; two queries
// over two keys), the gradients of the closed form, and argument checks. Against float64 on random sizes and
// through tfjs it is tested in @gptlab/tensor's test/native/attention.test.ts (this package cannot load it).
import { addonStatus, nativeAddon } from '../src';

const suite = addonStatus().built ? describe : describe.skip;

suite('attentionForward / attentionBackward', () => {
  it('one key: the output is its value, the log-sum-exp its score; gradients reach v only', () => {
    const d = 16;
    const q = Float32Array.from({ length: d }, (_, i) => i / 10);
    const k = Float32Array.from({ length: d }, (_, i) => 1 - i / 20);
    const v = Float32Array.from({ length: d }, (_, i) => i * i);
    const [o, lse] = [new Float32Array(d), new Float32Array(1)];
    nativeAddon().attentionForward(q, k, v, o, lse, 1, 1, 1, d, 0.5);
    expect(Array.from(o)).toEqual(Array.from(v));
    const score = 0.5 * q.reduce((s, x, i) => s + x * k[i]!, 0);
    expect(lse[0]).toBeCloseTo(score, 5);
    const dO = Float32Array.from({ length: d }, (_, i) => (i % 3) - 1);
    const [dq, dk, dv] = [new Float32Array(d), new Float32Array(d), new Float32Array(d)];
    nativeAddon().attentionBackward(q, k, v, o, lse, dO, dq, dk, dv, 1, 1, 1, d, 0.5);
    expect(Array.from(dv)).toEqual(Array.from(dO)); // p = 1: dv = dO, and a softmax of one entry has no gradient
    expect(Math.max(...dq.map(Math.abs), ...dk.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('two queries over two keys (D = 1): query 0 sees key 0 only, query 1 both in softmax proportion', () => {
    const [q, k, v] = [Float32Array.of(1, 2), Float32Array.of(0.5, -1), Float32Array.of(3, 7)];
    const [o, lse] = [new Float32Array(2), new Float32Array(2)];
    nativeAddon().attentionForward(q, k, v, o, lse, 1, 2, 2, 1, 1);
    const [s0, s1] = [2 * 0.5, 2 * -1]; // query 1's scores
    const p0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
    expect(o[0]).toBe(3);
    expect(o[1]).toBeCloseTo(p0 * 3 + (1 - p0) * 7, 5);
    expect(lse[1]).toBeCloseTo(Math.log(Math.exp(s0) + Math.exp(s1)), 5);
    // d o1 / d q1 = Σ_j p_j (v_j − o1) k_j
    const [dq, dk, dv] = [new Float32Array(2), new Float32Array(2), new Float32Array(2)];
    nativeAddon().attentionBackward(q, k, v, o, lse, Float32Array.of(0, 1), dq, dk, dv, 1, 2, 2, 1, 1);
    expect(dq[0]).toBe(0);
    expect(dq[1]).toBeCloseTo(p0 * (3 - o[1]!) * 0.5 + (1 - p0) * (7 - o[1]!) * -1, 5);
    expect(dv[0]).toBeCloseTo(p0, 6);
    expect(dv[1]).toBeCloseTo(1 - p0, 6);
  });

  it('rejects short arrays and Tk < T, naming them', () => {
    const a = new Float32Array(8);
    expect(() => nativeAddon().attentionForward(a, a, a, new Float32Array(4), a, 1, 2, 2, 4, 1)).toThrow('O has 4 elements, needs 8');
    expect(() => nativeAddon().attentionForward(a, a, a, a, a, 1, 2, 1, 4, 1)).toThrow('Tk must be ≥ T');
    expect(() => nativeAddon().attentionBackward(a, a, a, a, a, a, a, a, new Float32Array(1), 1, 2, 2, 4, 1)).toThrow(
      'dV has 1 elements, needs 8',
    );
  });
});
