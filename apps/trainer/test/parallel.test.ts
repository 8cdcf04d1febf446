import { tf, initBackend } from '@gptlab/tensor';
import { AdamW } from '../src/train/adamw';
import { WindowSampler, splitBatch, type TokenBatch } from '../src/train/batches';
import { clipScale } from '../src/train/clip';
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

/** Every weight of `params` and every AdamW moment, as plain arrays (to compare bit for bit). */
function snapshot(params: Record<string, tf.Variable>, opt: AdamW): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(params)) out[k] = Array.from(v.dataSync());
  for (const [k, a] of Object.entries(opt.stateArrays())) out[k] = Array.from(a.data);
  return out;
}

describe('the optimizer step on the workers (ZeRO-1 style)', () => {
  test('equals AdamW.applyFlat on the main thread bit for bit (weights, moments, t), also after loadState', async () => {
    const spec = { kind: 'tiny' as const, config: { vocabSize: V, nEmbd: C } };
    // The same tiny model twice: one updated by the main thread, one by the workers.
    const models = [new TinyLM(spec.config, 0), new TinyLM(spec.config, 0)];
    const params = models.map((m) => m.namedWeights());
    const opts = [new AdamW(), new AdamW()];
    const sources = await Promise.all(params.map((p) => WorkerGradients.start(p, spec, 2, tf.getBackend())));
    const sampler = new WindowSampler(corpus, T, 3);
    // A small clip, so the clipping scale (from the workers' summed norms) takes part.
    const lr = 0.05;
    const clip = 0.5;
    let clipped = 0;
    try {
      for (let step = 0; step < 6; step++) {
        const chunks = splitBatch(sampler.sample(6), 3);
        const main = await sources[0]!.compute(chunks, step, []);
        expect(main.flat!.updated).toBe(false);
        const norm = Math.sqrt(main.flat!.sumSquares);
        if (clipScale(norm, clip) < 1) clipped++;
        opts[0]!.applyFlat(main.flat!.layout, main.flat!.params, main.flat!.grads, lr, clipScale(norm, clip));
        sources[0]!.paramsUpdated();
        const onWorkers = await sources[1]!.compute(chunks, step, [], { optimizer: opts[1]!, lr, clip });
        expect(onWorkers.flat!.updated).toBe(true);
        sources[1]!.paramsUpdated();
        expect(onWorkers.chunkLosses).toEqual(main.chunkLosses);
        expect(opts[1]!.step).toBe(opts[0]!.step);
        expect(snapshot(params[1]!, opts[1]!)).toEqual(snapshot(params[0]!, opts[0]!));
        if (step === 2) {
          // As a resumed run does: the moments come back from a checkpoint; the workers must use those.
          for (const o of opts) {
            const arrays = Object.fromEntries(Object.entries(o.stateArrays()).map(([k, a]) => [k, Float32Array.from(a.data)]));
            o.loadState(o.step, arrays, Object.fromEntries(Object.entries(params[0]!).map(([k, v]) => [k, v])));
          }
        }
      }
      expect(clipped).toBeGreaterThan(0);
    } finally {
      await Promise.all(sources.map((s) => s.dispose()));
      models.forEach((m) => m.dispose());
    }
  }, 60000);

  test('a non-finite loss leaves weights, moments and t alone (the loop then stops the run)', async () => {
    const spec = { kind: 'tiny' as const, config: { vocabSize: V, nEmbd: C } };
    const m = new TinyLM(spec.config, 0);
    const params = m.namedWeights();
    const opt = new AdamW();
    const sampler = new WindowSampler(corpus, T, 5);
    const first = await WorkerGradients.start(params, spec, 2, tf.getBackend());
    try {
      expect((await first.compute(splitBatch(sampler.sample(4), 2), 0, [], { optimizer: opt, lr: 0.05, clip: 1 })).flat!.updated).toBe(
        true,
      );
      first.paramsUpdated();
    } finally {
      await first.dispose();
    }
    // A NaN weight makes every loss NaN (fresh workers read the weights from the tensors).
    const w = params['ln_f.weight']!;
    const bad = w.dataSync().slice();
    bad[0] = NaN;
    w.assign(tf.tensor(bad, w.shape));
    const before = snapshot(params, opt);
    const source = await WorkerGradients.start(params, spec, 2, tf.getBackend());
    try {
      const res = await source.compute(splitBatch(sampler.sample(4), 2), 1, [], { optimizer: opt, lr: 0.05, clip: 1 });
      expect(Number.isFinite(res.loss)).toBe(false);
      expect(res.flat!.updated).toBe(false);
      expect(opt.step).toBe(1);
      source.paramsUpdated();
      expect(snapshot(params, opt)).toEqual(before);
    } finally {
      await source.dispose();
      m.dispose();
    }
  }, 60000);
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
