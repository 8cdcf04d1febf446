// The visual prefix: GPT.forward's prefix equals feeding the same embeddings as tokens; generation with the KV
// cache (prefix prefilled once) equals the full forward; save → load round trip; text checkpoints still load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clearCausalMaskCache } from '@gptlab/tensor';
import { GPT, loadGPT, loadVisionGPT, saveGPT, saveVisionGPT, VisionGPT, type GPTConfig, type VisionConfig } from '../src';
import { ids2d, maxAbsDiff, setup, tf, tmpDir } from './helpers';

const TEXT: GPTConfig = {
  vocabSize: 40,
  nPositions: 32,
  nEmbd: 16,
  nLayer: 2,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
  postLN: false,
  embdDropout: 0,
  attnDropout: 0,
  residDropout: 0,
};
const VISION: VisionConfig = {
  imageHeight: 8,
  imageWidth: 8,
  patchHeight: 4,
  patchWidth: 4,
  hiddenSize: 8,
  nLayer: 1,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  projector: 'mlp',
};

let model: VisionGPT;
let image: tf.Tensor3D;
beforeAll(async () => {
  await setup();
  model = VisionGPT.create(TEXT, VISION, { seed: 5 });
  image = tf.tidy(() => tf.reshape(tf.div(tf.add(tf.range(0, 64), 1), 65), [1, 8, 8]) as tf.Tensor3D);
});
afterAll(() => {
  model.dispose();
  image.dispose();
});

test('a prefix of token embeddings gives the logits of those tokens fed as ids', () => {
  const gpt = GPT.create(TEXT, { seed: 2 });
  const first = ids2d([
    [3, 7, 1],
    [4, 4, 9],
  ]);
  const rest = ids2d([
    [5, 2],
    [8, 0],
  ]);
  const all = ids2d([
    [3, 7, 1, 5, 2],
    [4, 4, 9, 8, 0],
  ]);
  const prefix = tf.gather(gpt.namedWeights().get('transformer.wte.weight')!, first) as tf.Tensor3D;
  const a = gpt.forward(rest, { prefix }).logits;
  const b = gpt.forward(all).logits;
  expect(a.shape).toEqual([2, 5, 40]);
  expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
  expect(() => gpt.forward(rest, { prefix: tf.zeros([2, 1, 8]) as tf.Tensor3D })).toThrow(/prefix must be a float32 tensor \[2, P, 16\]/);
  tf.dispose([first, rest, all, prefix, a, b]);
  gpt.dispose();
});

test('the image-conditioned model with the KV cache (prefix prefilled once) equals the full forward', () => {
  clearCausalMaskCache(); // (causal masks are cached per length; counted out of the leak check)
  const before = tf.memory().numTensors;
  const ids = [1, 9, 4, 22, 7, 3];
  const conditioned = model.withImage(image);
  const idsT = ids2d([ids]);
  const full = conditioned.forward(idsT);
  idsT.dispose();
  const fullAgain = tf.tidy(() => {
    const { logits } = model.forward(image, ids2d([ids]));
    return tf.slice(logits, [0, model.prefixLength, 0], [1, ids.length, 40]);
  });
  expect(maxAbsDiff(full.logits.dataSync(), fullAgain.dataSync())).toBeLessThan(1e-6);
  const cache = conditioned.createCache(1);
  const steps: Float32Array[] = [];
  for (const [i, chunk] of [
    [0, [1, 9, 4]],
    [3, [22]],
    [4, [7]],
    [5, [3]],
  ] as [number, number[]][]) {
    const chunkIds = ids2d([chunk]);
    const out = conditioned.forward(chunkIds, { cache });
    chunkIds.dispose();
    expect(cache.length).toBe(i + chunk.length);
    steps.push(out.logits.dataSync() as Float32Array);
    out.logits.dispose();
  }
  const stepwise = Float32Array.from(steps.flatMap((s) => Array.from(s)));
  expect(maxAbsDiff(stepwise, full.logits.dataSync())).toBeLessThan(1e-5);
  expect(cache.inner.length).toBe(model.prefixLength + ids.length);
  tf.dispose([full.logits, fullAgain]);
  cache.dispose();
  conditioned.dispose();
  clearCausalMaskCache();
  expect(tf.memory().numTensors).toBe(before);
});

test('the loss scores text positions only and its gradient reaches the encoder', () => {
  const ids = ids2d([[1, 2, 3]]);
  const targets = ids2d([[-100, 4, 5]]);
  const patch = model.vision.namedWeights().get('vision_tower.patch_embedding.weight')!;
  const { value, grads } = tf.variableGrads(() => model.loss(image, ids, targets), [patch]);
  expect(Number.isFinite(value.dataSync()[0])).toBe(true);
  expect(Math.max(...Array.from(grads[patch.name]!.dataSync(), Math.abs))).toBeGreaterThan(0);
  tf.dispose([ids, targets, value, ...Object.values(grads)]);
});

test('save → load round trip gives equal outputs; a text checkpoint still loads as before', async () => {
  const dir = tmpDir();
  await saveVisionGPT(model, dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  expect(cfg.vision_config).toMatchObject({ image_size: [8, 8], patch_size: [4, 4], hidden_size: 8 });
  const loaded = await loadVisionGPT(dir);
  const ids = ids2d([[3, 1, 4]]);
  const a = model.forward(image, ids).logits;
  const b = loaded.forward(image, ids).logits;
  expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
  expect(loaded.gpt.extraTensors.size).toBe(0);
  // loadGPT reads the same folder as the plain GPT (the vision tensors are extra tensors).
  const text = await loadGPT(dir);
  expect(text.extraTensors.has('vision_tower.patch_embedding.weight')).toBe(true);
  const textDir = tmpDir();
  await saveGPT(text, textDir, { extraTensors: {} });
  await expect(loadVisionGPT(textDir)).rejects.toThrow(/no vision_config \(a text-only checkpoint: load it with loadGPT\)/);
  tf.dispose([ids, a, b]);
  loaded.dispose();
  text.dispose();
});
