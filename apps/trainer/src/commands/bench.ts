// `gptlab-train bench --json`: training throughput on random tokens (AdamW, the fastest setup: data-parallel
// workers on plain wasm), one JSON line. FLOPs per token as the PyTorch peer counts them: 6·N + 12·L·C·T.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { tf, initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT, getPreset, countParameters, trainingFlopsPerToken } from '@gptlab/model';
import type { TrainerCommand } from '../cli/command';
import { JSON_FLAG, seedFlag, shapeFlags, WORKERS_FLAG } from '../cli/flag-groups';
import { settingsOf } from '../cli/settings';
import { AdamW } from '../train/adamw';
import { RandomTokenSampler, splitBatch, type TokenBatch } from '../train/batches';
import { trainLoop } from '../train/loop';
import type { GradientSource } from '../train/gradients';
import { defaultWorkers, gptGradients, namedWeights } from '../lm';
import { WorkerGradients, type WorkerTiming } from '../train/parallel';

export const BENCH_FLAGS: FlagSpecs = {
  ...shapeFlags({ nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 128, batchSize: 8 }),
  'vocab-size': { type: 'int', min: 2, help: 'vocabulary (random tokens)', default: 8192 },
  steps: { type: 'int', min: 1, help: 'timed steps', default: 20 },
  warmup: { type: 'int', min: 0, help: 'untimed steps first', default: 2 },
  workers: { ...WORKERS_FLAG, help: 'gradient worker threads (default: the fastest setup for the backend)' },
  seed: seedFlag(0, 'seed'),
  json: { ...JSON_FLAG, help: 'print one JSON line (the default output)' },
};

export interface BenchOptions {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
  vocabSize: number;
  steps: number;
  warmup: number;
  workers?: number;
  seed: number;
}

export async function trainBench(o: BenchOptions, log: (s: string) => void = () => {}): Promise<Record<string, unknown>> {
  const info = await initBackendInfo();
  log(describeBackend(info));
  const config = getPreset('gpt2-small', {
    nLayer: o.nLayer,
    nHead: o.nHead,
    nEmbd: o.nEmbd,
    nPositions: o.blockSize,
    vocabSize: o.vocabSize,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  });
  const workers = o.workers ?? defaultWorkers(info);
  if (o.batchSize % workers !== 0) throw new UsageError(`--batch-size ${o.batchSize} must be a multiple of --workers ${workers}`);
  const model = GPT.create(config, { seed: o.seed });
  const params = namedWeights(model);
  // The peer's optimizer settings (AdamW lr 3e-4, weight decay 0.1 on matrices).
  const optimizer = new AdamW({ weightDecay: 0.1 });
  // MFU denominator: the measured matMul peak of the instances that compute the gradients (each worker
  // measures its own, with its share of the cores).
  const { gradients, peakGflops: peakTotal } = await gptGradients(model, params, info, workers);
  const sampler = new RandomTokenSampler(o.vocabSize, o.blockSize, o.seed);
  // The step's split: gradient computation (forward + backward, or the workers' round trip, which includes
  // AdamW where the workers run it) vs the rest (global norm, clipping, AdamW, the loop's bookkeeping).
  const gradientSeconds: number[] = [];
  const timedGradients: GradientSource<TokenBatch> = {
    workers: gradients.workers,
    async compute(chunks, step, seeds, update) {
      const t0 = performance.now();
      const out = await gradients.compute(chunks, step, seeds, update);
      gradientSeconds.push((performance.now() - t0) / 1000);
      return out;
    },
    ...(gradients.paramsUpdated ? { paramsUpdated: () => gradients.paramsUpdated!() } : {}),
    dispose: () => gradients.dispose(),
  };
  const times: number[] = [];
  const losses: number[] = [];
  const cpu0 = process.cpuUsage();
  const busy0 = busyCoreSeconds();
  const wall0 = performance.now();
  let timing: WorkerTiming | null = null;
  try {
    await trainLoop<TokenBatch>({
      params,
      gradients: timedGradients,
      optimizer,
      lr: () => 3e-4,
      totalSteps: o.warmup + o.steps,
      batches: () => {
        const b = sampler.sample(o.batchSize);
        return { chunks: splitBatch(b, workers), seeds: [], tokens: o.batchSize * o.blockSize };
      },
      onStep: (r) => {
        times.push(r.stepSeconds);
        losses.push(r.loss);
      },
    });
    if (gradients instanceof WorkerGradients) timing = gradients.timing();
  } finally {
    await gradients.dispose();
    optimizer.dispose();
    model.dispose();
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  const busy1 = busyCoreSeconds();
  const selfCores = (cpu.user + cpu.system) / 1e6 / wall;
  const workerNative = gradients instanceof WorkerGradients ? gradients.native : info.native.active;
  const timed = times.slice(o.warmup);
  const seconds = timed.reduce((a, b) => a + b, 0);
  const gradientMs = (1000 * gradientSeconds.slice(o.warmup).reduce((a, b) => a + b, 0)) / timed.length;
  const tokensPerSec = (o.batchSize * o.blockSize * timed.length) / seconds;
  const fpt = trainingFlopsPerToken(config, o.blockSize);
  const achieved = (tokensPerSec * fpt) / 1e9;
  return {
    bench: 'train',
    backend: info.backend,
    workers,
    native: info.native.active,
    native_detail: info.native.detail,
    tokens_per_sec: Number(tokensPerSec.toFixed(1)),
    ms_per_step: Number(((1000 * seconds) / timed.length).toFixed(1)),
    split_ms_per_step: {
      gradients: Number(gradientMs.toFixed(1)),
      norm_clip_optimizer: Number(((1000 * seconds) / timed.length - gradientMs).toFixed(1)),
    },
    mfu: Number((achieved / peakTotal).toFixed(4)),
    achieved_gflops: Number(achieved.toFixed(2)),
    matmul_peak_gflops: Number(peakTotal.toFixed(2)),
    matmul_peak_scope:
      workers > 1 ? `sum of ${workers} workers (${workerNative ? 'native' : 'plain ' + info.backend} each)` : 'this thread',
    worker_native: workerNative,
    // Mean ms per step of the data-parallel step's parts (all steps, warm-up included).
    ...(timing ? { worker_timing: timing } : {}),
    params: countParameters(config),
    model_flops_per_token: fpt,
    flops_formula: '6*N + 12*L*C*T, N = params excluding wpe (wte counted once, tied)',
    config: {
      n_layer: o.nLayer,
      n_head: o.nHead,
      n_embd: o.nEmbd,
      block_size: o.blockSize,
      batch_size: o.batchSize,
      vocab_size: o.vocabSize,
      steps: o.steps,
      warmup: o.warmup,
    },
    loss_first: Number(losses[0]!.toFixed(4)),
    loss_last: Number(losses[losses.length - 1]!.toFixed(4)),
    main_thread_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    // As the PyTorch peer's CpuMeter reports them: cores this process used, and cores everything else used
    // over the same window (well above 0: the timing was disturbed by other processes).
    cpu: {
      self_cores: Number(selfCores.toFixed(2)),
      others_cores: busy0 === null || busy1 === null ? null : Number(Math.max(0, (busy1 - busy0) / wall - selfCores).toFixed(2)),
    },
    cores: os.cpus().length,
    tf_tensors_after: tf.memory().numTensors,
  };
}

/** Busy CPU seconds of the whole machine so far (/proc/stat, all cores), or null where there is no /proc. */
function busyCoreSeconds(): number | null {
  try {
    const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = v[3]! + (v[4] ?? 0);
    // USER_HZ is 100 on every Linux this runs on (the peer reads it from sysconf).
    return (v.reduce((a, b) => a + b, 0) - idle) / 100;
  } catch {
    return null;
  }
}

export const benchCommand: TrainerCommand = {
  name: 'bench',
  summary: 'training throughput on random tokens: one JSON line {backend, workers, tokens_per_sec, mfu, params, ...}',
  flags: BENCH_FLAGS,
  async run({ flags }, io) {
    const o = settingsOf(withDefaults(BENCH_FLAGS, flags), ['json']) as unknown as BenchOptions;
    if (o.nEmbd % o.nHead !== 0) throw new UsageError(`--n-head ${o.nHead} does not divide --n-embd ${o.nEmbd}`);
    const rec = await trainBench(o, (s) => io.stderr(s + '\n'));
    io.stdout(JSON.stringify(rec) + '\n');
    return 0;
  },
};
