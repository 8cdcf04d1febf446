import { tf, initBackend } from '@gptlab/tensor';
import { readFileSync } from 'node:fs';
import { blockSparseAttention } from '../src';
(async () => {
  await initBackend();
  const T = Number(process.argv[2] ?? 4096);
  const sh = [1, 4, T, 64];
  const q = tf.randomNormal(sh) as tf.Tensor4D, k = tf.randomNormal(sh) as tf.Tensor4D, v = tf.randomNormal(sh) as tf.Tensor4D;
  const p = { type: 'strided' as const, stride: 128 };
  for (let it = 0; it < 2; it++) for (const mode of (process.argv[3] ?? 'factorized,blocks,local').split(',') as ('factorized' | 'blocks' | 'local')[]) {
    const att = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => mode === 'local' ? blockSparseAttention(a as any, b as any, c as any, { type: 'local', window: 256 }) : blockSparseAttention(a as any, b as any, c as any, p, { strided: mode });
    const t0 = performance.now();
    const g = tf.grads((a, b, c) => tf.sum(att(a!, b!, c!)))([q, k, v]); g.forEach((x) => { x.dataSync(); x.dispose(); });
    console.log(mode, T, 'fwd+bwd', (performance.now() - t0).toFixed(0), 'load', readFileSync('/proc/loadavg', 'utf8').split(' ')[0], tf.memory().numTensors);
  }
})();
