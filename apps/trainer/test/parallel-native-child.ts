// Run by parallel-native.test.ts in a child process (killed on a hang, which a worker stuck in native code would
// otherwise turn into a jest run that never exits): a tiny GPT trained for a few steps in this thread and with
// 2 gradient workers, both on the native kernels. Prints one JSON line.
import { tf, initBackendInfo } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { RandomTokenSampler, type TokenBatch } from '../src/train/batches';
import { LocalGradients } from '../src/train/gradients';
import { WorkerGradients } from '../src/train/parallel';
import { tokenLossFn } from '../src/train/replica';
import { namedWeights } from '../src/lm';
import { stepLosses } from './parallel-helpers';

const STEPS = 6;
const config = getPreset('gpt2-small', {
  nLayer: 1,
  nHead: 2,
  nEmbd: 32,
  nPositions: 16,
  vocabSize: 96,
  embdDropout: 0,
  attnDropout: 0,
  residDropout: 0,
});

async function run(workers: number): Promise<{ losses: number[]; workerNative: boolean; leaked: number }> {
  const before = tf.memory().numTensors;
  const model = GPT.create(config, { seed: 0 });
  const params = namedWeights(model);
  const sampler = new RandomTokenSampler(config.vocabSize, 16, 1);
  const spec = { kind: 'gpt' as const, config: model.config as unknown as Record<string, unknown> };
  const gradients =
    workers > 1
      ? await WorkerGradients.start(params, spec, workers, tf.getBackend())
      : new LocalGradients<TokenBatch>(params, tokenLossFn(model));
  const workerNative = gradients instanceof WorkerGradients ? gradients.native : true;
  let losses: number[];
  try {
    losses = await stepLosses({ params, gradients, steps: STEPS, lr: 3e-3, chunks: 2, sample: () => sampler.sample(8) });
  } finally {
    model.dispose();
  }
  return { losses, workerNative, leaked: tf.memory().numTensors - before };
}

async function main(): Promise<void> {
  const info = await initBackendInfo();
  if (!info.native.active) {
    process.stdout.write(JSON.stringify({ skipped: `native kernels off: ${info.native.detail}` }) + '\n');
    return;
  }
  const t0 = performance.now();
  const single = await run(1);
  const parallel = await run(2);
  // Once more: the first run also allocates what the model keeps across calls (no leak), this one must not.
  const again = await run(1);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ native: info.native.detail, single, parallel, again, seconds }) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
