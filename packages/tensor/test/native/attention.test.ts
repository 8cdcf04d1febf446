// The native flash-style causal attention (GptlabCausalAttention / …Grad) against the float64 reference and
// the plain composition (matMul + masked softmax + matMul), on wasm and cpu, for every instruction set the CPU
// runs: odd T (not a multiple of the 64-row block), D = 16, 40 and 64, cached keys, more heads than threads.
import { maxRelDiff, randomFloat32Array } from '@gptlab/common/testing';
import { tf, causalAttention, hasFusedCausalAttention, type Tensor } from '../../src';
import { attentionFloat64, type AttentionCase } from '../attention-reference';
import { describeNative } from './harness';

describeNative('native causal attention', ({ backend, native, withOriginal }) => {
  beforeAll(() => {
    native.register(tf, backend);
  });

  /** Inputs of a case as tensors [BH, T, D] / [BH, Tk, D] and the float64 values and gradients. */
  function setup(c: AttentionCase, seed: number) {
    const q = randomFloat32Array(c.bh * c.t * c.d, seed, 2);
    const k = randomFloat32Array(c.bh * c.tk * c.d, seed + 1, 2);
    const v = randomFloat32Array(c.bh * c.tk * c.d, seed + 2);
    const dOut = randomFloat32Array(c.bh * c.t * c.d, seed + 3);
    const tensors = [tf.tensor(q, [c.bh, c.t, c.d]), tf.tensor(k, [c.bh, c.tk, c.d]), tf.tensor(v, [c.bh, c.tk, c.d])];
    return { tensors, dOut: tf.tensor(dOut, [c.bh, c.t, c.d]), ref: attentionFloat64(c, q, k, v, dOut) };
  }

  /** Value and the three gradients of Σ causalAttention(q, k, v) ⊙ dOut, as arrays. */
  function run(c: AttentionCase, tensors: Tensor[], dOut: Tensor): Float32Array[] {
    return tf.tidy(() => {
      const f = (q: Tensor, k: Tensor, v: Tensor) => tf.sum(tf.mul(causalAttention(q, k, v, c.scale), dOut));
      const grads = tf.grads(f)(tensors);
      return [causalAttention(tensors[0]!, tensors[1]!, tensors[2]!, c.scale), ...grads].map((t) => t.dataSync().slice() as Float32Array);
    });
  }

  const cases: [string, AttentionCase][] = [
    ['T 130, D 64, 6 heads', { bh: 6, t: 130, tk: 130, d: 64, scale: 0.125 }],
    ['T 67, D 16, 5 heads', { bh: 5, t: 67, tk: 67, d: 16, scale: 0.25 }],
    ['T 70 after 60 cached keys, D 40', { bh: 3, t: 70, tk: 130, d: 40, scale: 1 / Math.sqrt(40) }],
    ['T 1, D 16', { bh: 3, t: 1, tk: 1, d: 16, scale: 0.25 }],
  ];

  // 1 thread: one task per head (dQ accumulated in the key-block pass); BH threads: fewer heads than twice the
  // threads, so the backward runs as two passes (dK and dV by key block, then dQ by query block).
  it.each(cases)('%s: values and dq, dk, dv equal float64 on every ISA, both backward schedules, no leaks', (_, c) => {
    expect(hasFusedCausalAttention()).toBe(true);
    const { tensors, dOut, ref } = setup(c, 11);
    const { isa, threads } = native.nativeInfo();
    try {
      for (const name of native.nativeInfo().isas) {
        for (const n of [1, c.bh]) {
          expect(native.setIsa(name)).toBe(true);
          native.setThreads(n);
          const before = tf.memory().numTensors;
          const got = run(c, tensors, dOut);
          expect(tf.memory().numTensors).toBe(before);
          (['out', 'dq', 'dk', 'dv'] as const).forEach((what, i) => {
            const err = maxRelDiff(got[i]!, ref[what]);
            if (err > 1e-5) throw new Error(`${name}, ${n} thread(s): ${what} differs from float64 by ${err}`);
          });
        }
      }
    } finally {
      native.setIsa(isa);
      native.setThreads(threads);
    }
    tf.dispose([...tensors, dOut]);
  });

  it.each([
    ['T 67, D 16, 5 heads', { bh: 5, t: 67, tk: 67, d: 16, scale: 0.25 }],
    ['T 130, D 64, 6 heads', { bh: 6, t: 130, tk: 130, d: 64, scale: 0.125 }],
    ['T 100 after 28 cached keys, D 32', { bh: 4, t: 100, tk: 128, d: 32, scale: 1 / Math.sqrt(32) }],
  ] as [string, AttentionCase][])('%s: equals the plain composition (values and gradients) within 1e-5', (_, c) => {
    const { tensors, dOut } = setup(c, 21);
    const fused = run(c, tensors, dOut);
    const plain = withOriginal(() => {
      expect(hasFusedCausalAttention()).toBe(false);
      return run(c, tensors, dOut);
    });
    fused.forEach((v, i) => {
      const err = maxRelDiff(v, plain[i]!);
      if (err > 1e-5) throw new Error(`${['out', 'dq', 'dk', 'dv'][i]}: native vs plain differ by ${err}`);
    });
    tf.dispose([...tensors, dOut]);
  });

  it('never allocates the [T, T] probabilities: peak tensor memory under one score matrix', async () => {
    const c = { bh: 2, t: 256, tk: 256, d: 8, scale: 0.25 };
    const { tensors, dOut } = setup(c, 31);
    const scoreBytes = c.bh * c.t * c.tk * 4;
    const peak = async (f: () => Float32Array[]) => {
      const start = tf.memory().numBytes;
      return (await tf.profile(f)).peakBytes - start;
    };
    const fused = await peak(() => run(c, tensors, dOut));
    native.unregister(tf, backend);
    const plain = await peak(() => run(c, tensors, dOut));
    native.register(tf, backend);
    expect(fused).toBeLessThan(scoreBytes / 2);
    expect(plain).toBeGreaterThan(2 * scoreBytes); // the composition holds scores and probabilities
    tf.dispose([...tensors, dOut]);
  });

  it('names the mismatched shapes', () => {
    const q = tf.zeros([2, 5, 8]);
    const k = tf.zeros([2, 5, 8]);
    const v = tf.zeros([2, 6, 8]);
    expect(() => tf.engine().runKernel(native.FUSED_KERNELS.causalAttention, { q, k, v }, { scale: 1 })).toThrow(
      'GptlabCausalAttention: q [2,5,8], k [2,5,8], v [2,6,8] must be',
    );
    tf.dispose([q, k, v]);
  });
});
