// The native fused AdamW (@gptlab/tensor-native's GptlabAdamW kernel) against the JS update it replaces: the
// same parameters and moments to the bit over several steps, with and without decay, clipping's gradient
// scale, sizes below and above the kernel's threading threshold; no tensors leak.
import { tf, initBackend, readFloat32 } from '@gptlab/tensor';
import { AdamW } from '../src/train/adamw';

const KERNEL = 'GptlabAdamW';

let config: tf.KernelConfig | undefined;
beforeAll(async () => {
  await initBackend();
  config = tf.getKernel(KERNEL, tf.getBackend());
});

/** Deterministic values in roughly [-scale, scale] (a small LCG; no dependence on tfjs's RNG). */
function values(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

// Names chosen so the default rule decays the matrices and not the bias or the embedding.
const SHAPES: Record<string, number[]> = {
  'h.0.mlp.c_fc.weight': [317, 331], // 104,927 values: split over the thread pool
  'h.0.mlp.c_fc.bias': [331],
  'wte.weight': [97, 13],
};

/** Runs 4 steps (varying lr, a clipping scale on two of them); returns parameters and moments as arrays. */
function run(): Record<string, Float32Array> {
  const params: Record<string, tf.Variable> = {};
  Object.entries(SHAPES).forEach(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const init = tf.tensor(values(n, 11 + i, 0.5), shape, 'float32');
    params[name] = tf.variable(init);
    init.dispose();
  });
  const opt = new AdamW({ beta2: 0.999, weightDecay: 0.1 });
  const lrs = [3e-4, 1e-3, 2e-2, 5e-4];
  const scales = [1, 0.37, 1, 0.9];
  for (let k = 0; k < lrs.length; k++) {
    const grads: Record<string, tf.Tensor> = {};
    Object.entries(SHAPES).forEach(([name, shape], i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      // Gradients of very different sizes (tiny second moments exercise eps).
      grads[name] = tf.tensor(values(n, 100 * k + i, i === 2 ? 1e-6 : 3), shape, 'float32');
    });
    opt.apply(params, grads, lrs[k]!, scales[k]!);
    Object.values(grads).forEach((g) => g.dispose());
  }
  const out: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(params)) out[name] = Float32Array.from(readFloat32(p));
  for (const [name, s] of Object.entries(opt.stateArrays())) out[name] = Float32Array.from(s.data);
  Object.values(params).forEach((p) => p.dispose());
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe('native fused AdamW', () => {
  test('the kernel is registered with the native kernels, or the suite says why it does not run', () => {
    if (!config) {
      // eslint-disable-next-line no-console
      console.warn('SKIPPED: GptlabAdamW not registered (native kernels off or addon not built)');
    }
    expect(config === undefined || config.kernelName === KERNEL).toBe(true);
  });

  test('same parameters and moments, to the bit, as the JS update; no tensors leak', () => {
    if (!config) return;
    const before = tf.memory().numTensors;
    const native = run();
    expect(tf.memory().numTensors).toBe(before);
    tf.unregisterKernel(KERNEL, tf.getBackend());
    let js: Record<string, Float32Array>;
    try {
      js = run();
    } finally {
      tf.registerKernel(config);
    }
    expect(Object.keys(native).sort()).toEqual(Object.keys(js).sort());
    for (const name of Object.keys(js)) {
      if (!sameBits(native[name]!, js[name]!)) {
        let i = 0;
        while (native[name]![i] === js[name]![i]) i++;
        throw new Error(`${name}[${i}]: native ${native[name]![i]}, JS ${js[name]![i]}`);
      }
    }
    // The update moved the parameters (a comparison of two no-ops would pass too).
    const w0 = values(317 * 331, 11, 0.5);
    expect(sameBits(js['h.0.mlp.c_fc.weight']!, w0)).toBe(false);
  });

  test('a gradient of the wrong size or moments of the wrong length fail with one clear message', () => {
    if (!config) return;
    const p = tf.tensor1d([1, 2, 3]);
    const g = tf.tensor1d([1, 2]);
    const base = { beta1: 0.9, beta2: 0.999, eps: 1e-8, keep: 1, stepSize: 1e-3, invBc2: 1, gradScale: 1 };
    const m = new Float32Array(3);
    const v = new Float32Array(3);
    const call = (grad: tf.Tensor, attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel(KERNEL, { param: p, grad }, attrs as unknown as tf.NamedAttrMap);
    expect(call(g, { ...base, m, v })).toThrow(/GptlabAdamW: gradient \[2\] for parameter \[3\]/);
    expect(call(p, { ...base, m: new Float32Array(2), v })).toThrow(/moments m and v must be Float32Arrays of 3 values/);
    p.dispose();
    g.dispose();
  });
});
