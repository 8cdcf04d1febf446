// Measured matMul throughput of the active backend: the denominator of MFU (model FLOPs utilisation).
import { tf } from './tf';
import { matMul2d } from './ops/matmul';

export interface MatMulMeasurement {
  n: number;
  gflops: number;
  seconds: number;
}

/** GFLOP/s of an n×n·n×n float32 product, timed for about `seconds` after one warm-up. */
export function measureMatMul(n: number, seconds = 0.5, transposeA = false, transposeB = false): MatMulMeasurement {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    const once = () => {
      const c = matMul2d(a, b, transposeA, transposeB);
      c.dataSync();
      c.dispose();
    };
    once();
    let runs = 0;
    const t0 = performance.now();
    do {
      once();
      runs++;
    } while ((performance.now() - t0) / 1000 < seconds);
    const dt = (performance.now() - t0) / 1000 / runs;
    return { n, gflops: (2 * n * n * n) / dt / 1e9, seconds: dt };
  } finally {
    a.dispose();
    b.dispose();
  }
}

let cachedPeak: { backend: string; gflops: number } | null = null;

/**
 * The backend's practical peak: the best GFLOP/s over 512/1024/2048 products (cached per backend). Blocked
 * native kernels reach their best only at the larger sizes; measuring smaller ones alone understates the
 * peak and lets MFU exceed 100%.
 */
export function matMulPeakGflops(): number {
  const backend = tf.getBackend();
  if (cachedPeak && cachedPeak.backend === backend) return cachedPeak.gflops;
  const gflops = Math.max(measureMatMul(512, 0.3).gflops, measureMatMul(1024, 0.5).gflops, measureMatMul(2048, 0.5).gflops);
  cachedPeak = { backend, gflops };
  return gflops;
}
