// Dense causal attention forward+backward at [B, H, T, D] (the bench shape's heads): the model's plain
// composition (scores, mask, softmax, weighted sum) against @gptlab/tensor's fused causalAttention, alternated
// over rounds; medians. Decides the context from which training runs the fused kernel.
// `pnpm --filter @gptlab/trainer exec tsx bench/attention-threshold.ts [--batch 8 --heads 4 --d 64 --rounds 7]`
import { emit, parseFlags } from '@gptlab/bench-utils';
import { tf, initBackend, batchMatMul, causalAttention, causalMask, hasFusedCausalAttention } from '@gptlab/tensor';

// [B, H, D] and rounds; the contexts measured are fixed below.
const settings = { batch: 8, heads: 4, d: 64, rounds: 7 };
for (const [k, v] of Object.entries(parseFlags()))
  if (k in settings && typeof v === 'string') settings[k as keyof typeof settings] = Number(v);
const { batch: B, heads: H, d: D, rounds } = settings;

function plain(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  const T = q.shape[2]!;
  const scores = tf.add(batchMatMul(tf.mul(q, scale), k, false, true), causalMask(T));
  return batchMatMul(tf.softmax(scores), v);
}

function timeOnce(f: typeof plain, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, dy: tf.Tensor): number {
  const t0 = performance.now();
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c, 0.125), dy)))([q, k, v]);
  grads.forEach((g) => g.dataSync());
  const ms = performance.now() - t0;
  tf.dispose(grads);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await initBackend();
  if (!hasFusedCausalAttention()) throw new Error('the fused kernel is not registered (native kernels off)');
  for (const T of [64, 128, 192, 256]) {
    const [q, k, v, dy] = [1, 2, 3, 4].map((s) => tf.randomNormal([B, H, T, D], 0, 1, 'float32', s));
    const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, scale: number) => causalAttention(a, b, c, scale);
    const times = { plain: [] as number[], fused: [] as number[] };
    timeOnce(plain, q!, k!, v!, dy!);
    timeOnce(fused, q!, k!, v!, dy!);
    for (let r = 0; r < rounds; r++) {
      times.plain.push(timeOnce(plain, q!, k!, v!, dy!));
      times.fused.push(timeOnce(fused, q!, k!, v!, dy!));
    }
    const p = median(times.plain);
    const f = median(times.fused);
    const pmin = Math.min(...times.plain);
    const fmin = Math.min(...times.fused);
    emit({
      bench: 'attention-fwd-bwd',
      shape: [B, H, T, D],
      plain_ms: Number(p.toFixed(2)),
      fused_ms: Number(f.toFixed(2)),
      speedup: Number((p / f).toFixed(2)),
      plain_min_ms: Number(pmin.toFixed(2)),
      fused_min_ms: Number(fmin.toFixed(2)),
      speedup_min: Number((pmin / fmin).toFixed(2)),
    });
    tf.dispose([q!, k!, v!, dy!]);
  }
}

void main();
