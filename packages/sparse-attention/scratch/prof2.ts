import { tf, initBackend } from '@gptlab/tensor';
import { blockSparseAttention } from '../src';
(async () => {
  await initBackend();
  const T = Number(process.argv[2]); const mode = process.argv[3] as 'blocks' | 'factorized';
  const sh = [1, 4, T, 64];
  const q = tf.randomNormal(sh) as tf.Tensor4D, k = tf.randomNormal(sh) as tf.Tensor4D, v = tf.randomNormal(sh) as tf.Tensor4D;
  const p = { type: 'strided' as const, stride: 128 };
  const run = () => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(blockSparseAttention(a as any, b as any, c as any, p, { strided: mode })))([q, k, v]);
  for (let i = 0; i < 3; i++) { const t0 = performance.now(); run().forEach((x) => { x.dataSync(); x.dispose(); }); console.log('run', (performance.now() - t0).toFixed(0)); }
  const info = await tf.profile(() => { const r = run(); r.forEach((x) => x.dataSync()); return r; });
  const agg = new Map<string, [number, number]>();
  for (const kk of info.kernels) { const t = await (kk as any).kernelTimeMs; const a = agg.get(kk.name) ?? [0, 0]; a[0] += typeof t === 'number' ? t : 0; a[1]++; agg.set(kk.name, a); }
  console.log([...agg.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, 10).map(([n, [t, c]]) => `${n} ${t.toFixed(0)}ms x${c}`).join('\n'));
})();
