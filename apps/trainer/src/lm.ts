// The language model as the trainer sees it: @gptlab/model's GPT, its weights by Hugging Face name, where its
// gradients are computed (this thread, or data-parallel worker threads with their own replicas), and the
// matMul peak that MFU is measured against.
import * as os from 'node:os';
import { tf, matMulPeakGflops, measureMatMul, type BackendInfo } from '@gptlab/tensor';
import { GPT, type GPTConfig } from '@gptlab/model';
import { LocalGradients, type GradientSource } from './train/gradients';
import { WorkerGradients } from './train/parallel';
import { tokenLossFn, type Replica } from './train/replica';
import type { TokenBatch } from './train/batches';

export type { GPTConfig };

export function namedWeights(m: { namedWeights(): Record<string, tf.Variable> | Map<string, tf.Variable> }): Record<string, tf.Variable> {
  const w = m.namedWeights();
  return w instanceof Map ? Object.fromEntries(w) : w;
}

/** A worker thread's copy of the model (its weights come from the main thread before every step). */
export function gptReplica(config: Record<string, unknown>): Replica {
  const m = GPT.create(config as unknown as GPTConfig, { seed: 0 });
  return { params: namedWeights(m), lossFn: tokenLossFn(m), dispose: () => m.dispose() };
}

/** Default worker count: every core when the backend computes on one thread (plain wasm), else 1. */
export function defaultWorkers(info: BackendInfo): number {
  return info.backend === 'wasm' && !info.native.active ? Math.max(1, os.cpus().length) : 1;
}

const peakCache = new Map<string, number>();

/**
 * The backend's matMul peak for MFU: the best of several measurements at n = 512…2048, since other processes
 * sharing the cores make any single one low, and multi-threaded kernels only reach their peak on large
 * products (an underestimated peak shows as MFU above 100%).
 */
export function robustPeak(): number {
  const key = tf.getBackend();
  const cached = peakCache.get(key);
  if (cached !== undefined) return cached;
  let best = matMulPeakGflops();
  for (let i = 0; i < 2; i++) best = Math.max(best, measureMatMul(1024, 0.25).gflops, measureMatMul(2048, 0.3).gflops);
  peakCache.set(key, best);
  return best;
}

/**
 * Where a GPT's token-batch gradients are computed: this thread, or `workers` threads (each measures its own
 * matMul peak; together they are the MFU denominator).
 */
export async function gptGradients(
  model: GPT,
  params: Record<string, tf.Variable>,
  info: BackendInfo,
  workers: number,
  log: (s: string) => void = () => {},
): Promise<{ gradients: GradientSource<TokenBatch>; peakGflops: number }> {
  if (workers <= 1) {
    const peakGflops = robustPeak();
    log(`matMul peak: ${peakGflops.toFixed(1)} GFLOP/s (MFU denominator)`);
    return { gradients: new LocalGradients<TokenBatch>(params, tokenLossFn(model)), peakGflops };
  }
  const t0 = performance.now();
  const spec = { kind: 'gpt' as const, config: model.config as unknown as Record<string, unknown> };
  const gradients = await WorkerGradients.start(params, spec, workers, info.backend, { measurePeak: true });
  const peakGflops = gradients.peakGflops ?? matMulPeakGflops() * workers;
  log(
    `workers: ${workers} threads (${gradients.native ? `native, ${gradients.threadsPerWorker} thread(s)` : `plain ${info.backend}, one core`} each) ready in ${((performance.now() - t0) / 1000).toFixed(1)}s · ` +
      `matMul peak ${peakGflops.toFixed(1)} GFLOP/s together (MFU denominator)`,
  );
  return { gradients, peakGflops };
}
