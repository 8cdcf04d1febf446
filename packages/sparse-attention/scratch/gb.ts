import { tf, initBackend } from '@gptlab/tensor';
import { gatherBlocks } from '../src/gather-blocks';
(async () => {
  console.log(await initBackend());
  const x = tf.randomNormal([4, 128, 2048]) as tf.Tensor3D;
  const idx = Int32Array.from({ length: 1080 }, (_, i) => Math.floor(i / 9) + (i % 9));
  const T = (fn: () => void, label: string) => { fn(); const t0 = performance.now(); for (let i = 0; i < 5; i++) fn(); console.log(label, ((performance.now() - t0) / 5).toFixed(1), 'ms'); };
  T(() => tf.tidy(() => { gatherBlocks(x, idx).dataSync(); }), 'gatherBlocks fwd');
  T(() => { const g = tf.grad((a: tf.Tensor) => tf.sum(gatherBlocks(a as tf.Tensor3D, idx)))(x); g.dispose(); }, 'gatherBlocks fwd+bwd');
  T(() => tf.tidy(() => { x.dataSync(); }), 'dataSync 4MB');
  const big = new Float32Array(8847360);
  T(() => tf.tidy(() => { tf.tensor3d(big, [4, 1080, 2048]); }), 'upload 35MB');
  const y = tf.tensor3d(big, [4, 1080, 2048]);
  T(() => { y.dataSync(); }, 'download 35MB');
  T(() => tf.tidy(() => { tf.add(y, 1); }), 'add scalar 35MB');
  T(() => { const o = new Float32Array(8.8e6); const s = x.dataSync() as Float32Array; for (let b = 0; b < 4; b++) for (let t = 0; t < 1080; t++) o.set(s.subarray((b * 128 + idx[t]!) * 2048, (b * 128 + idx[t]!) * 2048 + 2048), (b * 1080 + t) * 2048); }, 'js copy only');
  console.log(require('node:fs').readFileSync('/proc/loadavg', 'utf8'));
})();
