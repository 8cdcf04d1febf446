// The tfjs dispatch gap of bench/native.ts: a square tf.matMul through the registered native kernel against
// the addon's gemm called directly on the same wasm-heap arrays, alternated rep by rep (a shared machine's load
// drifts; alternating puts both in the same windows), with the other processes' CPU use over the measurement.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tf, type Tensor } from '@gptlab/tensor';
import { nativeAddon } from '@gptlab/tensor-native';

/** Process CPU seconds: with one native thread the product runs on the calling thread alone, and CPU time leaves
 * out the time a loaded machine deschedules it. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const wallSeconds = () => performance.now() / 1000;

/**
 * Seconds per product (min, median) of tf.matMul(a, b) and of the addon's gemm on the same arrays, alternated,
 * by `clock` (wall time by default).
 */
export function tfjsVsRaw(a: Tensor, b: Tensor, n: number, reps: number, seconds: number, clock = wallSeconds) {
  const backend = tf.backend() as unknown as { typedArrayFromHeap(t: Tensor): Float32Array };
  const addon = nativeAddon();
  const out = tf.zeros([n, n]);
  const samples = { tfjs: [] as number[], raw: [] as number[] };
  const cores = othersCoresOver();
  const start = performance.now();
  for (let r = -1; r < reps || (performance.now() - start) / 1000 < seconds; r++) {
    let t0 = clock();
    tf.matMul(a as never, b as never).dispose();
    const tfjs = clock() - t0;
    // Views after the product: an allocation may have grown the heap and detached older views.
    const [av, bv, ov] = [a, b, out].map((x) => backend.typedArrayFromHeap(x)) as [Float32Array, Float32Array, Float32Array];
    t0 = clock();
    addon.gemm(av, bv, ov, 1, n, n, n, false, false, n * n, n * n, false);
    const raw = clock() - t0;
    if (r < 0) continue; // warm-up
    samples.tfjs.push(tfjs);
    samples.raw.push(raw);
  }
  out.dispose();
  const stats = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return { min: s[0]!, median: s[s.length >> 1]! };
  };
  return { tfjs: stats(samples.tfjs), raw: stats(samples.raw), reps: samples.tfjs.length, othersCores: cores() };
}

/** Other processes' CPU use (cores) from now until the returned function is called. */
export function othersCoresOver(): () => number | null {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((x, y) => x + y, 0), self: process.cpuUsage(), at: performance.now() };
  };
  let a: ReturnType<typeof read>;
  try {
    a = read();
  } catch {
    return () => null;
  }
  return () => {
    const b = read();
    const ticks = b.total - a.total;
    const wall = (b.at - a.at) / 1000;
    if (ticks <= 0 || wall <= 0) return null;
    const self = (b.self.user - a.self.user + b.self.system - a.self.system) / 1e6 / wall;
    return +Math.max(0, ((ticks - (b.idle - a.idle)) / ticks) * cpus().length - self).toFixed(2);
  };
}
