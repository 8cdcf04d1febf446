import { tf, initBackend, batchMatMul } from '@gptlab/tensor';
(async () => {
  await initBackend();
  const T = (fn: () => tf.Tensor | tf.Tensor[], label: string) => {
    for (let i = 0; i < 2; i++) tf.tidy(fn);
    const t0 = performance.now(); const n = 5;
    for (let i = 0; i < n; i++) tf.tidy(() => { const r = fn(); (Array.isArray(r) ? r[0]! : r).dataSync(); });
    console.log(label, ((performance.now() - t0) / n).toFixed(1), 'ms');
  };
  const kb = tf.randomNormal([4, 128, 32, 64]);
  const idx = tf.tensor1d(Array.from({ length: 120 * 9 }, (_, i) => Math.floor(i / 9) + (i % 9)), 'int32');
  T(() => tf.gather(kb, idx, 1), 'gather axis1 [4,1080,32,64]');
  const k2 = tf.reshape(kb, [512, 2048]);
  const idx2 = tf.tensor1d(Array.from({ length: 4 * 1080 }, (_, i) => i % 512), 'int32');
  T(() => tf.gather(k2, idx2, 0), 'gather axis0 [4320,2048]');
  T(() => tf.slice(kb, [0, 8, 0, 0], [4, 120, 32, 64]), 'slice [4,120,32,64]');
  T(() => tf.concat(Array.from({ length: 9 }, (_, s) => tf.slice(kb, [0, s, 0, 0], [4, 119, 32, 64]).reshape([4, 119, 1, 2048])), 2), '9 slices + concat axis2');
  const big = tf.randomNormal([4, 128, 32, 64]);
  T(() => tf.split(big, [8, 120], 1), 'split');
  T(() => tf.transpose(big, [0, 1, 3, 2]), 'transpose');
  const a = tf.randomNormal([480, 32, 64]), b = tf.randomNormal([480, 64, 288]);
  T(() => batchMatMul(a, b), 'bmm [480,32,64]x[480,64,288] (0.57GF)');
  const s = tf.randomNormal([4, 120, 32, 288]);
  T(() => tf.softmax(s), 'softmax');
  T(() => tf.add(s, tf.zeros([120, 32, 288])), 'add bcast');
  T(() => tf.unsortedSegmentSum(tf.reshape(tf.gather(kb, idx, 1), [4, 1080, 2048]).transpose([1, 0, 2]), idx, 128), 'gather+segsum');
})();
