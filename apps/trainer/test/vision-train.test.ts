// `gptlab-train vision`: a tiny run whose held-out OCR loss falls, checkpoints that loadVisionGPT reads and
// @gptlab/decoding generates from, the command's --json line, --resume, and clear usage errors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generate, gptLanguageModel, type GenerateResult } from '@gptlab/decoding';
import { GPT, loadVisionGPT, VisionEncoder, VisionGPT, type GPTConfig } from '@gptlab/model';
import { initBackend, tf } from '@gptlab/tensor';
import { BPETokenizer } from '@gptlab/tokenizer';
import { VisionData } from '../src/vision/batch';
import { answerLoss, greedyAnswers } from '../src/vision/evaluate';
import { trainVision } from '../src/vision/method';
import { readMetrics, tmpDir, trainInProcess } from './helpers';

beforeAll(async () => {
  await initBackend();
});

const SIZE = { height: 8, width: 24 };
const WORDS = [
  'cat',
  'dog',
  'sea',
  'tree',
  'fox',
  'owl',
  'bee',
  'ant',
  'elk',
  'yak',
  'ram',
  'hen',
  'cow',
  'pig',
  'eel',
  'emu',
  'gnu',
  'ape',
  'bat',
  'jay',
];

function tinyModel(tok: BPETokenizer): VisionGPT {
  const text: GPTConfig = {
    vocabSize: tok.vocabSize,
    nPositions: 64, // the scene questions of the held-out set are the longest prompts
    nEmbd: 32,
    nLayer: 1,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: false,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  };
  const vision = {
    imageHeight: 8,
    imageWidth: 24,
    patchHeight: 8,
    patchWidth: 4,
    hiddenSize: 32,
    nLayer: 1,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    projector: 'mlp' as const,
  };
  return new VisionGPT(GPT.create(text, { seed: 1 }), VisionEncoder.create(vision, 32, 1));
}

const RUN = {
  steps: 60,
  batchSize: 16,
  lr: 3e-3,
  warmupSteps: 5,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  clip: 1,
  seed: 0,
  trainLm: true,
  evalExamples: 6,
  evalEvery: 60,
  checkpointEvery: 60,
  keepCheckpoints: 1,
  logEvery: 100,
  config: {},
};

test('a tiny run: the held-out OCR loss falls; the checkpoint loads and decodes like the evaluation', async () => {
  const tok = BPETokenizer.train([], { vocabSize: 257, specialTokens: ['<|endoftext|>'] });
  const model = tinyModel(tok);
  const data = new VisionData({ size: SIZE, seed: 0, ocrFraction: 1, words: WORDS });
  const held = data.heldOut(6).ocr;
  const before = await answerLoss(model, tok, held, SIZE);
  const out = tmpDir('vision-run');
  const r = await trainVision(model, tok, data, { ...RUN, out });
  const after = await answerLoss(model, tok, held, SIZE);
  expect(after).toBeLessThan(before - 1);
  expect(r.run.step).toBe(60);
  const evals = readMetrics(out).filter((m) => m.type === 'eval') as unknown as Record<string, number>[];
  expect(evals[evals.length - 1]).toMatchObject({ ocr_exact_match: expect.any(Number), vqa_accuracy: expect.any(Number) });
  // The checkpoint: loadVisionGPT reads it, and decoding with the image prefix gives the evaluation's answer.
  const loaded = await loadVisionGPT(r.run.checkpoint!);
  const [answer] = await greedyAnswers(loaded, tok, held.slice(0, 1), SIZE, 6);
  const image = tf.tensor3d(held[0]!.pixels, [1, 8, 24]);
  const conditioned = loaded.withImage(image);
  const gen = (await generate(gptLanguageModel(conditioned), tok.encode(held[0]!.prompt), {
    maxNewTokens: 6,
    eosTokenId: tok.eosId,
  })) as GenerateResult;
  expect(tok.decode(gen.ids.filter((id) => id !== tok.eosId))).toBe(answer);
  conditioned.dispose();
  image.dispose();
  loaded.dispose();
  model.dispose();
});

test('gptlab-train vision: --help, --json with the held-out scores, --resume, usage errors', async () => {
  expect((await trainInProcess(['vision', '--help'])).stdout).toMatch(/--train-lm.*--init-from/s);
  const out = tmpDir('vision-cli');
  const args = [
    'vision',
    '--steps',
    '2',
    '--batch-size',
    '4',
    '--eval-examples',
    '3',
    '--n-embd',
    '32',
    '--vision-width',
    '32',
    '--out',
    out,
    '--json',
  ];
  const first = await trainInProcess([...args, '--checkpoint-every', '1']);
  expect(first.code).toBe(0);
  const json = JSON.parse(first.stdout.trim().split('\n').pop()!);
  expect(json).toMatchObject({ ocr_exact_match: expect.any(Number), vqa_accuracy: expect.any(Number), steps: 2, held_out: 3 });
  const cfg = JSON.parse(fs.readFileSync(path.join(json.checkpoint, 'config.json'), 'utf8'));
  expect(cfg.vision_config).toMatchObject({ image_size: [16, 72], hidden_size: 32 });
  const resumed = await trainInProcess(['vision', '--resume', out, '--steps', '3', '--json']);
  expect(resumed.code).toBe(0);
  expect(JSON.parse(resumed.stdout.trim().split('\n').pop()!).steps).toBe(3);
  const bad = await trainInProcess(['vision', '--minutes', '0', '--out', out]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--minutes must be > 0/);
  const changed = await trainInProcess(['vision', '--resume', out, '--seed', '5']);
  expect(changed.code).toBe(2);
  expect(changed.stderr).toMatch(/--seed cannot change when resuming/);
});
