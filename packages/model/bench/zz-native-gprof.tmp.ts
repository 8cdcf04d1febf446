import { initBackendInfo, tf } from '@gptlab/tensor';
import { GPT, getPreset } from '../src';
(async () => {
  await initBackendInfo();
  const cfg = getPreset('gpt2-small', { embdDropout: 0, attnDropout: 0, residDropout: 0 });
  const model = GPT.create(cfg, { seed: 1 });
  const cache = model.createCache(1);
  let input = tf.tensor2d([Array.from({length: 32}, (_, i) => i * 13)], [1, 32], 'int32');
  let r = model.forward(input, { cache }); r.logits.dispose(); input.dispose();
  for (let i = 0; i < 3; i++) { input = tf.tensor2d([[5]], [1, 1], 'int32'); r = model.forward(input, { cache }); r.logits.dataSync(); r.logits.dispose(); input.dispose(); }
  input = tf.tensor2d([[7]], [1, 1], 'int32');
  const prof = await tf.profile(() => { const o = model.forward(input, { cache }); o.logits.dataSync(); o.logits.dispose(); });
  const agg = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) if (k.name === 'BatchMatMul') { const key = JSON.stringify(k.inputShapes); const e = agg.get(key) ?? { ms: 0, n: 0 }; e.ms += k.kernelTimeMs as number; e.n++; agg.set(key, e); }
  for (const [k, v] of agg) console.log(k, v.n, (v.ms / v.n).toFixed(3));
  const ts: number[] = [];
  for (let i = 0; i < 10; i++) { const t = performance.now(); const o = model.forward(input, { cache }); o.logits.dataSync(); o.logits.dispose(); ts.push(performance.now() - t); }
  console.log('token ms', ts.map((t) => t.toFixed(0)).join(' '));
})();
