import { tf, initBackend } from '@gptlab/tensor';
import { readFileSync } from 'node:fs';
import { parsePattern, blockSparseAttention, denseAttention } from '../src';
(async () => {
  await initBackend();
  const T = Number(process.argv[2] ?? 4096); const specs = (process.argv[3] ?? 'dense,local:256').split(',');
  const sh = [1, 4, T, 64];
  const q = tf.randomNormal(sh) as tf.Tensor4D, k = tf.randomNormal(sh) as tf.Tensor4D, v = tf.randomNormal(sh) as tf.Tensor4D;
  for (let it = 0; it < 2; it++) for (const spec of specs) {
    const p = spec === 'dense' ? null : parsePattern(spec);
    const att = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => p ? blockSparseAttention(a as any, b as any, c as any, p) : denseAttention(a as any, b as any, c as any);
    let t0 = performance.now();
    tf.tidy(() => { att(q, k, v).dataSync(); });
    const fw = performance.now() - t0; t0 = performance.now();
    const g = tf.grads((a, b, c) => tf.sum(att(a!, b!, c!)))([q, k, v]); g.forEach((x) => { x.dataSync(); x.dispose(); });
    console.log(spec, T, 'fwd', fw.toFixed(0), 'fwd+bwd', (performance.now() - t0).toFixed(0), 'load', readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  }
})();
