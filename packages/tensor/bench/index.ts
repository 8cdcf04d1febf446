// `pnpm --filter @gptlab/tensor bench -- --json`
// One JSON line: the active backend's matMul GFLOP/s at 256/512/1024/2048 (the MFU denominator for other
// packages), then one line per product variant (transposes, batched attention shapes), fast path vs raw
// tfjs kernel, so regressions in either show.
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { tf, initBackendInfo, describeBackend, measureMatMul, batchMatMul, setMatMulStrategy } from '@gptlab/tensor';
import { benchAttention } from './attention';

function gflopsOf(fn: () => tf.Tensor, flops: number, seconds: number): number {
  const warm = fn();
  warm.dataSync();
  warm.dispose();
  let runs = 0;
  const t0 = performance.now();
  do {
    const c = fn();
    c.dataSync();
    c.dispose();
    runs++;
  } while ((performance.now() - t0) / 1000 < seconds);
  return flops / ((performance.now() - t0) / 1000 / runs) / 1e9;
}

async function main() {
  const flags = parseFlags();
  const info = await initBackendInfo();
  process.stderr.write(describeBackend(info) + '\n');
  const sizes = typeof flags.sizes === 'string' ? flags.sizes.split(',').map(Number) : [256, 512, 1024, 2048];
  const seconds = typeof flags.seconds === 'string' ? Number(flags.seconds) : 1;
  const gflops: Record<string, number> = {};
  for (const n of sizes) gflops[n] = Number(measureMatMul(n, n >= 2048 ? Math.max(seconds, 2) : seconds).gflops.toFixed(2));
  emit({ bench: 'matmul', backend: info.backend, native: info.native.active, threads: info.threads, gflops, machine: machine() });

  // Variants: the fast path (our ops) against the raw tfjs kernel with transpose flags.
  const n = 512;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
  ] as const) {
    const raw = gflopsOf(() => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), 2 * n ** 3, seconds / 2);
    const fast = gflopsOf(() => batchMatMul(a, b, ta, tb), 2 * n ** 3, seconds / 2);
    emit({ bench: 'matmul-variant', n, transposeA: ta, transposeB: tb, raw_gflops: +raw.toFixed(2), fast_gflops: +fast.toFixed(2) });
  }
  // Attention-shaped batched products: [B·H, T, D] · [B·H, D, T] and back (batch 8, 4 heads, T 128, D 64).
  const q = tf.randomNormal([8, 4, 128, 64]);
  const k = tf.randomNormal([8, 4, 128, 64]);
  const s = tf.randomNormal([8, 4, 128, 128]);
  const qkFlops = 2 * 32 * 128 * 128 * 64;
  for (const strategy of ['flags', 'explicit-transpose'] as const) {
    setMatMulStrategy(strategy);
    const scores = gflopsOf(() => batchMatMul(q, k, false, true), qkFlops, seconds / 2);
    const context = gflopsOf(() => batchMatMul(s, k), qkFlops, seconds / 2);
    emit({
      bench: 'attention-products',
      strategy,
      shape: [8, 4, 128, 64],
      scores_gflops: +scores.toFixed(2),
      context_gflops: +context.toFixed(2),
    });
  }
  setMatMulStrategy(null);
  tf.dispose([a, b, q, k, s]);
  // Long-context attention, fused vs the current path (bench/attention.ts; needs the native kernels).
  if (info.native.active) await benchAttention(flags);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
