// The R-row decode step against R one-row steps, on random weights of a GPT shape: per step, the one-row step's
// time × R (what R sequences decoded one after another pay) against ONE R-row step (the same tokens and positions),
// rounds alternated, medians and [min, max]; the process's CPU time per step as well (with GPTLAB_THREADS=1 it is
// the arithmetic's cost, whatever the machine's load). One JSON line per shape.
//   pnpm --filter @gptlab/tensor-native build && GPTLAB_THREADS=1 node packages/tensor-native/bench/decode-rows.mjs
//     [--rows 8] [--steps 40] [--rounds 5] [--shape small|gpt2]
import { createRequire } from 'node:module';
import * as os from 'node:os';

const require = createRequire(import.meta.url);
const { NativeDecodeModel, NativeDecodeRows, decodeWeightNames, nativeInfo } = require('../dist/index.cjs');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const SHAPES = {
  small: { nLayer: 4, nHead: 4, nEmbd: 128, vocabSize: 1024, nPositions: 128 }, // the PPO bench's policy
  gpt2: { nLayer: 12, nHead: 12, nEmbd: 768, vocabSize: 50257, nPositions: 1024 },
};
const R = Number(arg('rows', 8));
const steps = Number(arg('steps', 40));
const rounds = Number(arg('rounds', 5));
const shapes = arg('shape', 'small,gpt2').split(',');

function weights(s) {
  const C = s.nEmbd;
  const size = (n) =>
    n.endsWith('wte.weight')
      ? s.vocabSize * C
      : n.endsWith('wpe.weight')
        ? s.nPositions * C
        : n.endsWith('c_attn.weight')
          ? 3 * C * C
          : n.endsWith('c_attn.bias')
            ? 3 * C
            : n.endsWith('c_fc.weight') || n.endsWith('mlp.c_proj.weight')
              ? 4 * C * C
              : n.endsWith('c_fc.bias')
                ? 4 * C
                : n.endsWith('attn.c_proj.weight')
                  ? C * C
                  : C;
  let seed = 1;
  return decodeWeightNames(s).map((n) => {
    const a = new Float32Array(size(n));
    for (let i = 0; i < a.length; i++) a[i] = ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.04;
    if (/ln_\w+\.weight$/.test(n)) a.fill(1);
    return a;
  });
}

const median = (a) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
};
const stat = (a) => ({ median: +median(a).toFixed(3), spread: [+Math.min(...a).toFixed(3), +Math.max(...a).toFixed(3)] });

/** ms (wall and process CPU) per step of `fn` over `steps` steps. */
function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) fn(s);
  const cpu = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / steps, cpu: (cpu.user + cpu.system) / 1000 / steps };
}

for (const name of shapes) {
  const shape = { ...SHAPES[name], layerNormEpsilon: 1e-5, postLN: false };
  const model = new NativeDecodeModel(shape, weights(shape));
  const one = { wall: [], cpu: [] };
  const rows = { wall: [], cpu: [] };
  const out = new Float32Array(R * shape.vocabSize);
  for (let round = 0; round < rounds; round++) {
    // rows at different positions: prompts of 16 + 3r positions (zeros: the speed does not depend on the values)
    const lens = Array.from({ length: R }, (_, r) => 16 + 3 * r);
    const singles = lens.map((n) => {
      const c = model.createCache();
      const kv = Array.from({ length: shape.nLayer }, () => new Float32Array(n * shape.nEmbd));
      c.load(kv, kv, n);
      return c;
    });
    const batch = new NativeDecodeRows(shape);
    for (const c of singles) {
      const kv = Array.from({ length: shape.nLayer }, (_, l) => c.read(l));
      batch.append(
        kv.map((x) => x.keys),
        kv.map((x) => x.values),
        [c.length],
        c.length,
      );
    }
    const tokens = (s) => lens.map((_, r) => (s * 31 + r * 17) % shape.vocabSize);
    const a = timed((s) => singles.forEach((c, r) => model.step(c, tokens(s)[r])));
    const b = timed((s) => batch.step(model, tokens(s), out));
    one.wall.push(a.wall);
    one.cpu.push(a.cpu);
    rows.wall.push(b.wall);
    rows.cpu.push(b.cpu);
    singles.forEach((c) => c.free());
    batch.free();
  }
  const ratio = (k) => stat(one[k].map((x, i) => x / rows[k][i]));
  console.log(
    JSON.stringify({
      bench: 'decode-rows',
      shape: name,
      ...SHAPES[name],
      rows: R,
      steps,
      rounds,
      [`ms_${R}_one_row_steps`]: { wall: stat(one.wall), cpu: stat(one.cpu) },
      [`ms_one_${R}_row_step`]: { wall: stat(rows.wall), cpu: stat(rows.cpu) },
      speedup: { wall: ratio('wall'), cpu: ratio('cpu') },
      native: nativeInfo(),
      cores: os.cpus().length,
    }),
  );
  model.free();
}
