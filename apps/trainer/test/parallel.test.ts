import { tf, initBackend } from '@gptlab/tensor';
import { AdamW } from '../src/train/adamw';
import { WindowSampler, type TokenBatch } from '../src/train/batches';
import { LocalGradients } from '../src/train/gradients';
import { WorkerGradients } from '../src/train/parallel';
import { TinyLM } from '../src/train/tiny-lm';
import { trainLoop } from '../src/train/loop';
import { tokenLossFn } from '../src/train/replica';
import { stepLosses } from './parallel-helpers';

const V = 40;
const C = 16;
const T = 8;
const corpus = Uint16Array.from({ length: 2000 }, (_, i) => (i * 7 + (i % 13) * 3) % V);

beforeAll(async () => {
  await initBackend();
});

async function run(opts: { chunksPerStep: number; rowsPerChunk: number; workers: number; steps: number }): Promise<number[]> {
  const m = new TinyLM({ vocabSize: V, nEmbd: C }, 0);
  const params = m.namedWeights();
  const sampler = new WindowSampler(corpus, T, 1);
  const gradients =
    opts.workers > 1
      ? await WorkerGradients.start(params, { kind: 'tiny', config: { vocabSize: V, nEmbd: C } }, opts.workers, tf.getBackend())
      : new LocalGradients<TokenBatch>(params, tokenLossFn(m));
  try {
    const sample = () => sampler.sample(opts.chunksPerStep * opts.rowsPerChunk);
    return await stepLosses({ params, gradients, steps: opts.steps, lr: 0.05, chunks: opts.chunksPerStep, sample });
  } finally {
    m.dispose();
  }
}

describe('gradient accumulation and data-parallel workers', () => {
  test('accumulating 4 micro-batches of 2 equals one batch of 8 (float tolerance)', async () => {
    const before = tf.memory().numTensors;
    const full = await run({ chunksPerStep: 1, rowsPerChunk: 8, workers: 1, steps: 6 });
    const accum = await run({ chunksPerStep: 4, rowsPerChunk: 2, workers: 1, steps: 6 });
    expect(tf.memory().numTensors).toBe(before);
    expect(full[5]!).toBeLessThan(full[0]!); // it learns
    full.forEach((l, i) => expect(accum[i]!).toBeCloseTo(l, 4));
  });

  test('2 worker threads give the losses of 1 thread on the same global batch', async () => {
    const single = await run({ chunksPerStep: 2, rowsPerChunk: 4, workers: 1, steps: 5 });
    const parallel = await run({ chunksPerStep: 2, rowsPerChunk: 4, workers: 2, steps: 5 });
    expect(single[4]!).toBeLessThan(single[0]!);
    single.forEach((l, i) => expect(parallel[i]!).toBeCloseTo(l, 4));
  }, 60000);

  test('uneven chunks: 3 chunks or 1 chunk over 2 workers (an idle worker still takes part in the reduce)', async () => {
    for (const chunksPerStep of [3, 1]) {
      const single = await run({ chunksPerStep, rowsPerChunk: 2, workers: 1, steps: 3 });
      const parallel = await run({ chunksPerStep, rowsPerChunk: 2, workers: 2, steps: 3 });
      single.forEach((l, i) => expect(parallel[i]!).toBeCloseTo(l, 4));
    }
  }, 90000);
});

describe('time budget', () => {
  test('planStepsFromBudget ends the schedule on time (within 10%) and reports the planned length', async () => {
    const m = new TinyLM({ vocabSize: V, nEmbd: C }, 0);
    const params = m.namedWeights();
    const opt = new AdamW();
    const sampler = new WindowSampler(corpus, T, 1);
    const plans: number[] = [];
    const lrs: number[] = [];
    const t0 = performance.now();
    const res = await trainLoop({
      params,
      gradients: new LocalGradients<TokenBatch>(params, tokenLossFn(m)),
      optimizer: opt,
      lr: (s, total) => 1 - s / total,
      totalSteps: 1e9,
      maxSeconds: 1.5,
      planStepsFromBudget: true,
      onPlan: (n) => plans.push(n),
      batches: () => ({ chunks: [sampler.sample(4)], seeds: [], tokens: 4 * T }),
      onStep: (r) => lrs.push(r.lr),
    });
    const secs = (performance.now() - t0) / 1000;
    opt.dispose();
    m.dispose();
    expect(plans.length).toBe(2);
    expect(res.reason === 'done' || res.reason === 'time').toBe(true);
    expect(secs).toBeLessThan(1.5 * 1.1 + 0.5);
    expect(res.step).toBeGreaterThan(6);
    expect(res.totalSteps).toBe(plans[1]);
    expect(lrs[lrs.length - 1]!).toBeLessThan(0.5); // the schedule reached its end part
  });
});
