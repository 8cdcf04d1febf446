import { tf, initBackend } from '@gptlab/tensor';
import { parsePattern, blockSparseAttention, denseAttention } from '../src';
(async () => {
  await initBackend();
  const [spec, Ts] = [process.argv[2]!, Number(process.argv[3])];
  const T = Ts, sh = [1, 4, T, 64];
  const q = tf.randomNormal(sh) as tf.Tensor4D, k = tf.randomNormal(sh) as tf.Tensor4D, v = tf.randomNormal(sh) as tf.Tensor4D;
  const p = spec === 'dense' ? null : parsePattern(spec);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(p ? blockSparseAttention(a as any, b as any, c as any, p) : denseAttention(a as any, b as any, c as any));
  for (let it = 0; it < 3; it++) {
    let t0 = performance.now();
    const o = tf.tidy(() => (p ? blockSparseAttention(q, k, v, p) : denseAttention(q, k, v)));
    o.dataSync(); o.dispose();
    const tf_ = performance.now() - t0; t0 = performance.now();
    const g = tf.grads(f)([q, k, v]); g.forEach((x) => { x.dataSync(); x.dispose(); });
    console.log(spec, T, 'fwd ms', tf_.toFixed(0), 'fwd+bwd ms', (performance.now() - t0).toFixed(0), tf.memory().numTensors);
  }
})();
