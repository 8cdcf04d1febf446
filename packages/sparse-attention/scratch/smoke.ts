import { tf, initBackend } from '@gptlab/tensor';
import { parsePattern, compileLayout, compileLayoutReference, elementMask, blockSparseAttention, denseAttention, renderLayoutASCII } from '../src';
(async () => {
  console.log(await initBackend());
  for (const spec of ['dense', 'local:20', 'strided:16', 'fixed:16:4', 'bigbird:20:8:2:3']) {
    const p = parsePattern(spec);
    for (const [T, bs] of [[100, 16], [64, 32], [37, 16]]) {
      const L = compileLayout(p, T, bs); const R = compileLayoutReference(p, T, bs);
      const same = L.rows.every((r, i) => r.join() === R.rows[i]!.join());
      const q = tf.randomNormal([2, 3, T, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
      const k = tf.randomNormal([2, 3, T, 8], 0, 1, 'float32', 2) as tf.Tensor4D;
      const v = tf.randomNormal([2, 3, T, 8], 0, 1, 'float32', 3) as tf.Tensor4D;
      const w = tf.randomNormal([2, 3, T, 8], 0, 1, 'float32', 4);
      const mask = elementMask(p, T, T, 0, bs);
      const f1 = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(blockSparseAttention(a as any, b as any, c as any, p, { blockSize: bs }), w));
      const f2 = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(denseAttention(a as any, b as any, c as any, mask), w));
      const o1 = blockSparseAttention(q, k, v, p, { blockSize: bs }); const o2 = denseAttention(q, k, v, mask);
      const d = tf.max(tf.abs(tf.sub(o1, o2))).dataSync()[0];
      const g1 = tf.grads(f1)([q, k, v]); const g2 = tf.grads(f2)([q, k, v]);
      const gd = g1.map((g, i) => tf.max(tf.abs(tf.sub(g, g2[i]!))).dataSync()[0]);
      console.log(spec, T, bs, 'layoutSame', same, 'density', L.density.toFixed(3), 'fwd', d, 'grads', gd, tf.memory().numTensors);
    }
  }
  console.log(renderLayoutASCII(compileLayout(parsePattern('bigbird:64:32:1:0'), 1024, 32)));
})();
