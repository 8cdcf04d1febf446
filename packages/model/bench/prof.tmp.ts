import { initBackendInfo, tf } from '@gptlab/tensor';
import { GPT, getPreset } from '../src';
(async () => {
  await initBackendInfo();
  const cfg = getPreset('tiny', { nLayer: 4, nHead: 4, nEmbd: 256, nPositions: 128, vocabSize: 8192 });
  const m = GPT.create(cfg, { seed: 1 });
  const x = tf.tensor2d(Array.from({ length: 8 }, (_, b) => Array.from({ length: 128 }, (_, i) => (i * 31 + b * 7) % 8192)), [8, 128], 'int32');
  const vars = m.trainableVariables();
  const run = () => { const r = tf.variableGrads(() => m.loss(x, x), vars); tf.dispose([r.value, ...Object.values(r.grads)]); };
  run();
  const p = await tf.profile(run);
  const by = new Map<string, number>();
  for (const k of p.kernels) {
    if (!['Sum', 'Slice', 'BatchMatMul', 'Transpose', 'PadV2', 'Identity'].includes(k.name)) continue;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    by.set(key, (by.get(key) ?? 0) + (k.kernelTimeMs as number));
  }
  console.log([...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0).padStart(5)} ${k}`).join('\n'));
})();
