import { tf, initBackend } from '@gptlab/tensor';
import { parsePattern, blockSparseAttention, denseAttention } from '../src';
(async () => {
  await initBackend();
  const [spec, T] = [process.argv[2]!, Number(process.argv[3])];
  const bwd = process.argv[4] === 'bwd';
  const sh = [1, 4, T, 64];
  const q = tf.randomNormal(sh) as tf.Tensor4D, k = tf.randomNormal(sh) as tf.Tensor4D, v = tf.randomNormal(sh) as tf.Tensor4D;
  const p = spec === 'dense' ? null : parsePattern(spec);
  const run = () => bwd ? tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(p ? blockSparseAttention(a as any, b as any, c as any, p) : denseAttention(a as any, b as any, c as any)))([q, k, v]) : [tf.tidy(() => (p ? blockSparseAttention(q, k, v, p) : denseAttention(q, k, v)))];
  run().forEach((x) => x.dispose());
  const info = await tf.profile(() => { const r = run(); r.forEach((x) => x.dataSync()); return r; });
  const agg = new Map<string, [number, number]>();
  for (const kk of info.kernels) { const t = await (kk as any).kernelTimeMs; const a = agg.get(kk.name) ?? [0, 0]; a[0] += typeof t === 'number' ? t : 0; a[1]++; agg.set(kk.name, a); }
  console.log([...agg.entries()].sort((a, b) => b[1][0] - a[1][0]).map(([n, [t, c]]) => `${n} ${t.toFixed(0)}ms x${c}`).join('\n'));
  console.log('peak MB', (info.peakBytes / 1e6).toFixed(0));
})();
