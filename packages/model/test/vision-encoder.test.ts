// The image encoder: the patch embedding is a stride = kernel convolution (float64 reference), gradients of the
// encoder and projector match finite differences, the vision_config round trip, no tensor leaks.
import { finiteDiff, matMulFloat64 } from '@gptlab/common/testing';
import { fromHFVisionConfig, patchEmbedding, standardize, toHFVisionConfig, VisionEncoder, type VisionConfig } from '../src';
import { maxAbsDiff, setup, tf } from './helpers';

const CFG: VisionConfig = {
  imageHeight: 8,
  imageWidth: 12,
  patchHeight: 4,
  patchWidth: 3,
  hiddenSize: 8,
  nLayer: 1,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  projector: 'mlp',
};

beforeAll(setup);

function seeded(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

test('the patch embedding equals a direct convolution with stride = kernel = patch (float64 reference)', () => {
  const [B, H, W, ph, pw, D] = [2, 8, 12, 4, 3, 5];
  const img = seeded(B * H * W, 1);
  const w = seeded(ph * pw * D, 2); // [ph·pw, D]: kernel tap (i, j) of output channel d at w[(i·pw + j)·D + d]
  const b = seeded(D, 3);
  const got = tf.tidy(() =>
    patchEmbedding(
      tf.tensor3d(Float32Array.from(img), [B, H, W]),
      tf.tensor2d(Float32Array.from(w), [ph * pw, D]),
      tf.tensor1d(Float32Array.from(b)),
      ph,
      pw,
    ).arraySync(),
  );
  // The convolution written out: output (gy, gx) sums kernel × input over its window.
  const gh = H / ph;
  const gw = W / pw;
  let worst = 0;
  for (let n = 0; n < B; n++)
    for (let gy = 0; gy < gh; gy++)
      for (let gx = 0; gx < gw; gx++)
        for (let d = 0; d < D; d++) {
          let acc = b[d]!;
          for (let i = 0; i < ph; i++)
            for (let j = 0; j < pw; j++) acc += w[(i * pw + j) * D + d]! * img[n * H * W + (gy * ph + i) * W + gx * pw + j]!;
          worst = Math.max(worst, Math.abs(got[n]![gy * gw + gx]![d]! - acc));
        }
  expect(worst).toBeLessThan(1e-5);
  expect(got[0]!.length).toBe(gh * gw);
});

test('the patch embedding is the matmul of the flattened patches (float64 matmul)', () => {
  const img = seeded(8 * 12, 4);
  const w = seeded(12 * 3, 5);
  const got = tf.tidy(() =>
    patchEmbedding(
      tf.tensor3d(Float32Array.from(img), [1, 8, 12]),
      tf.tensor2d(Float32Array.from(w), [12, 3]),
      tf.zeros([3]) as tf.Tensor1D,
      4,
      3,
    ).dataSync(),
  );
  const patches = new Float64Array(8 * 12);
  for (let p = 0; p < 8; p++)
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) patches[p * 12 + i * 3 + j] = img[(Math.floor(p / 4) * 4 + i) * 12 + (p % 4) * 3 + j]!;
  const ref = matMulFloat64(patches, w, { m: 8, k: 12, n: 3 });
  expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5);
});

test('gradients of the encoder and projector match finite differences', () => {
  const enc = VisionEncoder.create(CFG, 6, 3);
  const images = tf.tensor3d(
    Float32Array.from(seeded(2 * 8 * 12, 9), (v) => v + 0.5),
    [2, 8, 12],
  );
  const probe = tf.tensor3d(Float32Array.from(seeded(2 * 8 * 6, 10)), [2, 8, 6]);
  const weights = enc.namedWeights();
  const lossOf = () => tf.tidy(() => tf.sum(tf.mul(enc.encode(images), probe)) as tf.Scalar);
  for (const name of [
    'vision_tower.patch_embedding.weight',
    'vision_tower.h.0.attn.c_attn.weight',
    'vision_tower.h.0.ln_1.weight',
    'multi_modal_projector.linear_1.weight',
    'multi_modal_projector.linear_2.bias',
  ]) {
    const v = weights.get(name)!;
    const { grads, value } = tf.variableGrads(lossOf, [v]);
    const analytic = grads[v.name]!.dataSync().slice(0, 6);
    tf.dispose([value, ...Object.values(grads)]);
    const original = v.dataSync().slice();
    const at = Float64Array.from(original.slice(0, 6));
    const f = (x: Float64Array) => {
      const cur = original.slice();
      cur.set(x);
      v.assign(tf.tensor(cur, v.shape));
      const l = lossOf();
      const out = l.dataSync()[0]!;
      l.dispose();
      return out;
    };
    const numeric = finiteDiff(f, at, 1e-2);
    v.assign(tf.tensor(original, v.shape));
    const scale = Math.max(1e-3, ...Array.from(numeric, Math.abs));
    expect([name, maxAbsDiff(analytic, numeric) / scale < 3e-2]).toEqual([name, true]);
  }
  tf.dispose([images, probe]);
  enc.dispose();
});

test('vision_config round trip and clear errors', () => {
  const json = toHFVisionConfig(CFG);
  expect(json).toMatchObject({ image_size: [8, 12], patch_size: [4, 3], projector_type: 'mlp2x_gelu' });
  expect(fromHFVisionConfig(JSON.parse(JSON.stringify(json)), 'c.json')).toEqual(CFG);
  expect(() => fromHFVisionConfig({ ...json, patch_size: [3, 3] }, 'c.json')).toThrow(
    /c\.json: vision_config: the 8×12 image does not divide into 3×3 patches/,
  );
  expect(() => fromHFVisionConfig({ ...json, num_channels: 3 }, 'c.json')).toThrow(/num_channels must be 1/);
  expect(() => fromHFVisionConfig({ ...json, projector_type: 'qformer' }, 'c.json')).toThrow(/projector_type/);
});

test('encoding checks the image shape and leaks no tensors', () => {
  const enc = VisionEncoder.create(CFG, 6, 1);
  const images = tf.ones([2, 8, 12]) as tf.Tensor3D;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(enc.encode(images));
  expect(tf.memory().numTensors).toBe(before);
  images.dispose();
  const wrong = tf.ones([1, 8, 10]) as tf.Tensor3D;
  expect(() => enc.encode(wrong)).toThrow(/images must be float32 \[batch, 8, 12\], got float32 \[1,8,10\]/);
  wrong.dispose();
  enc.dispose();
});

test('images are standardised per image (mean 0, sd 1), a blank one stays finite', () => {
  const x = tf.tensor3d(
    Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => (i < 16 ? (i % 3) / 2 : 0.8)),
    [2, 4, 4],
  );
  const y = tf.tidy(() => standardize(x).arraySync() as number[][][]);
  const first = y[0]!.flat();
  const mean = first.reduce((a, b) => a + b, 0) / 16;
  expect(Math.abs(mean)).toBeLessThan(1e-6);
  expect(Math.abs(first.reduce((a, b) => a + (b - mean) ** 2, 0) / 16 - 1)).toBeLessThan(1e-4);
  expect(Math.max(...y[1]!.flat().map(Math.abs))).toBeLessThan(1e-5);
  x.dispose();
});
