// Where one training step's time goes at a bench shape: forward+backward (per tfjs kernel, timed by
// tf.profile), the optimizer, and the rest (dispatch, allocation, tidy). Prints one JSON line per step kind
// and one summary line. `pnpm --filter @gptlab/trainer exec tsx bench/train-split.ts [--n-layer 4 ...] [--adamw js]`
import { emit, parseFlags } from '@gptlab/bench-utils';
import { tf, initBackendInfo } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { AdamW } from '../src/train/adamw';
import { RandomTokenSampler } from '../src/train/batches';
import { globalNorm } from '../src/train/clip';
import { LocalGradients } from '../src/train/gradients';
import { tokenLossFn } from '../src/train/replica';
import { namedWeights } from '../src/lm';

const flags = parseFlags();
const num = (k: string, d: number) => (flags[k] !== undefined && flags[k] !== true ? Number(flags[k]) : d);
const L = num('n-layer', 4);
const H = num('n-head', 4);
const C = num('n-embd', 256);
const T = num('block-size', 128);
const B = num('batch-size', 8);
const V = num('vocab-size', 8192);
const steps = num('steps', 4);

/** The op kind a kernel's time counts under. */
function kindOf(name: string, inputShapes: number[][]): string {
  if (name === 'BatchMatMul' || name === '_FusedMatMul') {
    // Attention's products are per head ([B, H, T, ·]); the dense layers' are 2-D.
    return (inputShapes[0] ?? []).length === 4 ? 'matmul (attention)' : 'matmul (dense)';
  }
  if (/Softmax|CausalAttention/.test(name)) return 'softmax / attention';
  if (/CrossEntropy/.test(name)) return 'cross-entropy';
  if (/LayerNorm/.test(name)) return 'layer norm';
  if (/Gelu/.test(name)) return 'gelu';
  if (/Transpose|Reshape|Slice|Concat|Pad|Identity|Cast/.test(name)) return 'layout (transpose/slice/concat)';
  if (/Gather|Scatter|UnsortedSegmentSum/.test(name)) return 'embedding gather/scatter';
  if (name === 'Sum') return 'sum (bias grads)';
  return 'elementwise';
}

async function main(): Promise<void> {
  await initBackendInfo();
  // --adamw js: the trainer's JS update instead of the native GptlabAdamW kernel (the before/after of that change).
  if (flags.adamw === 'js') tf.unregisterKernel('GptlabAdamW', tf.getBackend());
  const config = getPreset('gpt2-small', {
    nLayer: L,
    nHead: H,
    nEmbd: C,
    nPositions: T,
    vocabSize: V,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  });
  const model = GPT.create(config, { seed: 0 });
  const params = namedWeights(model);
  const gradients = new LocalGradients(params, tokenLossFn(model));
  const optimizer = new AdamW({ weightDecay: 0.1 });
  const sampler = new RandomTokenSampler(V, T, 0);
  const byKind = new Map<string, number>();
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let gradMs = 0;
  let optMs = 0;
  let normMs = 0;
  let profiledMs = 0;
  let plainGradMs = 0;
  for (let s = 0; s < steps + 1; s++) {
    const batch = sampler.sample(B);
    // Unprofiled step first (wall time without the profiler's bookkeeping), then a profiled one.
    const t0 = performance.now();
    const g0 = await gradients.compute([batch], s, [0]);
    const t1 = performance.now();
    const prof = await tf.profile(async () => {
      const g = await gradients.compute([batch], s, [0]);
      for (const t of Object.values(g.grads)) t.dispose();
    });
    const t2 = performance.now();
    await globalNorm(g0.grads);
    const tn = performance.now();
    optimizer.apply(params, g0.grads, 3e-4);
    const t3 = performance.now();
    for (const t of Object.values(g0.grads)) t.dispose();
    if (s === 0) continue; // warm-up
    plainGradMs += t1 - t0;
    gradMs += t2 - t1;
    normMs += tn - t2;
    optMs += t3 - tn;
    for (const k of prof.kernels) {
      // customGrad ops appear as an 'unnamed scope' entry around the kernels they run: not counted twice.
      if (k.name === 'unnamed scope') continue;
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      profiledMs += ms;
      const kind = kindOf(k.name, k.inputShapes as number[][]);
      byKind.set(kind, (byKind.get(kind) ?? 0) + ms);
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      byKernel.set(key, e);
    }
  }
  const per = (x: number) => Number((x / steps).toFixed(1));
  const stepMs = (plainGradMs + normMs + optMs) / steps;
  const top = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, num('top', 40));
  for (const [key, e] of top) emit({ bench: 'train-split-kernel', kernel: key, ms_per_step: per(e.ms), calls_per_step: e.calls / steps });
  const kinds = Object.fromEntries([...byKind.entries()].sort((a, b) => b[1] - a[1]).map(([k, ms]) => [k, per(ms)]));
  emit({
    bench: 'train-split',
    shape: { n_layer: L, n_head: H, n_embd: C, block_size: T, batch_size: B, vocab_size: V },
    step_ms: Number(stepMs.toFixed(1)),
    grad_ms: per(plainGradMs),
    grad_norm_ms: per(normMs),
    optimizer_ms: per(optMs),
    kernels_ms: per(profiledMs),
    // Forward+backward wall time not spent inside kernels: tfjs dispatch, tape, allocation, tidy.
    dispatch_ms: Number((plainGradMs / steps - profiledMs / steps).toFixed(1)),
    profiled_grad_ms: per(gradMs),
    kernel_kinds_ms: kinds,
    tf_tensors: tf.memory().numTensors,
  });
  optimizer.dispose();
  model.dispose();
}

void main();
