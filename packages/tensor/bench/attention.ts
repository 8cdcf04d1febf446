// Causal attention forward + backward at long contexts: the native flash-style kernel (causalAttention with
// @gptlab/tensor-native) against the current path — the same op with only its fused kernel unregistered, i.e.
// the model's composition matMul + causal mask + softmax + matMul, every other native kernel still on — in
// the same process. Peak memory is the backend's tensor memory during the step (tf.profile's peak minus what
// was allocated before); the native kernel's own scratch (a few 16–64 KB tiles per thread) is not in it, but
// the process's peak RSS is (fused runs first at each length, so at the first length it bounds the fused run).
//   pnpm --filter @gptlab/tensor exec tsx bench/attention.ts [--attention-sizes 1024,2048,4096] [--heads 4] [--dim 64]
// `pnpm --filter @gptlab/tensor bench` runs it last when the native kernels are on.
import { emit, othersCores, parseFlags } from '@gptlab/bench-utils';
import { tf, initBackendInfo, causalAttention, hasFusedCausalAttention, type Tensor } from '@gptlab/tensor';

const FUSED_KERNEL = 'GptlabCausalAttention';

interface Measurement {
  peak_mb: number;
  fwd_bwd_s: number;
  /** The process's peak resident memory so far (an upper bound for the first path measured in a process). */
  process_max_rss_mb: number;
}

/** Peak tensor memory of one forward + backward, then its time (median of `iters` more runs). */
async function measure(q: Tensor, k: Tensor, v: Tensor, dy: Tensor, iters: number): Promise<Measurement> {
  const step = () =>
    tf.tidy(() => {
      const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(causalAttention(a, b, c), dy)))([q, k, v]);
      grads.forEach((g) => g.dataSync());
    });
  const start = tf.memory().numBytes;
  const profile = await tf.profile(step);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return {
    peak_mb: +((profile.peakBytes - start) / 2 ** 20).toFixed(1),
    fwd_bwd_s: +times[Math.floor(times.length / 2)]!.toFixed(3),
    process_max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** One JSON line per context length: fused and current path, and their ratios. */
export async function benchAttention(flags: Record<string, string | true>): Promise<void> {
  const sizes = String(flags['attention-sizes'] ?? '1024,2048,4096')
    .split(',')
    .map(Number);
  const heads = Number(flags.heads ?? 4);
  const dim = Number(flags.dim ?? 64);
  if (!hasFusedCausalAttention()) {
    emit({ bench: 'causal-attention', skipped: 'the native kernels are off (build @gptlab/tensor-native; GPTLAB_NATIVE unset)' });
    return;
  }
  const config = tf.getKernel(FUSED_KERNEL, tf.getBackend())!;
  for (const n of sizes) {
    const shape = [1, heads, n, dim];
    const [q, k, v, dy] = [1, 2, 3, 4].map((seed) => tf.randomNormal(shape, 0, 1, 'float32', seed));
    const iters = n >= 4096 ? 1 : 3;
    const fused = await measure(q!, k!, v!, dy!, iters);
    tf.unregisterKernel(FUSED_KERNEL, config.backendName);
    let current: Measurement;
    try {
      current = await measure(q!, k!, v!, dy!, iters);
    } finally {
      tf.registerKernel(config);
    }
    emit({
      bench: 'causal-attention',
      n,
      shape,
      backend: tf.getBackend(),
      fused,
      current,
      memory_ratio: +(current.peak_mb / fused.peak_mb).toFixed(1),
      speedup: +(current.fwd_bwd_s / fused.fwd_bwd_s).toFixed(2),
      others_cores: othersCores(),
    });
    tf.dispose([q!, k!, v!, dy!]);
  }
}

// Run directly (not imported by bench/index.ts).
if (/attention\.ts$/.test(process.argv[1] ?? '')) {
  initBackendInfo()
    .then(() => benchAttention(parseFlags()))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
