#!/usr/bin/env node
// `pnpm experiment:sparse`: GPT-3's alternating dense / locally banded sparse layers (Brown et al. 2020, §2.1)
// against the same model with dense attention in every layer, at GPT-3's context of 2,048 (issue #17,
// phenomenon 4; `--block-size 1024` for the shorter one).
//
// Design. The claim to test is an efficiency one: banded layers make a step cheaper at long context, so at EQUAL
// WALL TIME the sparse model sees more tokens — does it reach a lower validation loss? Both models are the
// `gpt3-small` / `gpt2-small` presets shrunk to the same small shape (default 4 layers × 64, 2 heads, context
// 2,048, 4,096 tokens a step; GPT-3's layers alternate dense and local:256, the dense model is dense everywhere —
// the only difference), trained from the same seed on the same Brown-corpus token stream (whole documents of
// ~2,000 words) with the same time budget (`--minutes`: the step count is planned from the measured speed, the
// cosine schedule ends at the budget). The two runs of a seed run CONCURRENTLY, so both see the same machine load.
// Each evaluates every `--eval-every` steps; its wall-clock time at an evaluation is the `elapsed_s` of that
// step's record in metrics.jsonl, and the table compares validation loss interpolated at the same wall-clock
// points (a third, two thirds and the end of the shorter run). A second table times one layer's attention alone
// (dense with the native fused kernel the dense model uses, dense through plain tfjs products, local:256) at
// 1,024–4,096 positions: the reason the model-level speed-up is what it is.
//   node tooling/scripts/experiment-sparse.mjs [--seeds 1,2,3] [--minutes 8] [--n-layer 4] [--n-embd 64]
//     [--block-size 2048] [--eval-every 10] [--out runs/experiments] [--results FILE (a pilot: READMEs left alone)]
//     [--reanalyse]
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brownDocs } from '../../packages/data/dist/index.js';
import { blockSparseAttention, parsePattern } from '../../packages/sparse-attention/dist/index.js';
import { batchMatMul, causalAttention, causalMask, hasFusedCausalAttention, initBackend, tf } from '../../packages/tensor/dist/index.js';
import { effect } from './experiment-align.mjs';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, resultsFile, pilot } = kit.experimentSetup('sparse', { seeds: '1,2,3', items: '0' });
const TOKENS_PER_STEP = 4096;
const minutes = Number(flag('minutes', '8'));
const evalEvery = Number(flag('eval-every', '10'));
const blockSize = Number(flag('block-size', '2048'));
const SHAPE = {
  'n-layer': Number(flag('n-layer', '4')),
  'n-head': 2,
  'n-embd': Number(flag('n-embd', '64')),
  'block-size': blockSize,
  'batch-size': Math.max(1, Math.round(TOKENS_PER_STEP / blockSize)),
  'vocab-size': 1024,
  'val-fraction': 0.05,
  dropout: 0,
};
const MODELS = [
  { name: 'dense (every layer)', slug: 'dense', preset: 'gpt2-small' },
  { name: 'GPT-3: dense / local:256 alternating', slug: 'sparse', preset: 'gpt3-small' },
];
const corpus = path.join(out, 'brown.jsonl');
const cacheDir = path.join(out, 'cache');

/** `gptlab-train pretrain` as a child process; resolves with its exit status, stderr kept in DIR.log. */
function pretrainAsync(dir, settings) {
  const argv = [
    kit.cli,
    'pretrain',
    ...kit.settingsFlags({ corpus: `jsonl:${corpus}`, 'cache-dir': cacheDir, ...SHAPE, ...settings }),
    '--out',
    dir,
  ];
  console.error(`$ gptlab-train ${argv.slice(1).join(' ')}  (log: ${path.relative(kit.root, dir)}.log)`);
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.pipe(createWriteStream(`${dir}.log`));
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

/** A finished run's curve: [{t, step, val_loss}], its tokens/s and the parameter count from its log. */
function readRun(dir) {
  const records = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
  const train = new Map(records.filter((r) => r.type === 'train').map((r) => [r.step, r]));
  const curve = records
    .filter((r) => r.type === 'eval')
    .map((r) => ({ t: train.get(r.step).elapsed_s, step: r.step, val_loss: r.val_loss }));
  const last = [...train.values()].pop();
  const params = Number(/· ([\d,]+) parameters/.exec(readFileSync(`${dir}.log`, 'utf8'))?.[1].replace(/,/g, '') ?? NaN);
  return { curve, steps: last.step, tokens: last.tokens, seconds: last.elapsed_s, tokensPerSec: last.tokens / last.elapsed_s, params };
}

/** Validation loss at wall-clock second t, linear between evaluations (null before the first). */
function lossAt(curve, t) {
  if (t < curve[0].t) return null;
  for (let i = 1; i < curve.length; i++) {
    const [a, b] = [curve[i - 1], curve[i]];
    if (t <= b.t) return a.val_loss + ((b.val_loss - a.val_loss) * (t - a.t)) / (b.t - a.t);
  }
  return curve[curve.length - 1].val_loss;
}

/**
 * Why the model-level speed-up is what it is: one layer's attention alone (forward + backward, the model's heads
 * and head size, batch × context = TOKENS_PER_STEP) — dense through the native fused causal kernel the dense
 * model uses, dense through plain tfjs products (what it costs without that kernel), and local:256 block-sparse.
 * The three alternate three times per context; each keeps its fastest pass (the machine is shared).
 */
async function attentionBench(contexts) {
  await initBackend();
  const heads = SHAPE['n-head'];
  const headDim = SHAPE['n-embd'] / heads;
  const scale = 1 / Math.sqrt(headDim);
  const local = parsePattern('local:256');
  const impls = {
    fused: (q, k, v) => causalAttention(q, k, v, scale),
    unfused: (q, k, v) => batchMatMul(tf.softmax(tf.add(batchMatMul(tf.mul(q, scale), k, false, true), causalMask(q.shape[2]))), v),
    local: (q, k, v) => blockSparseAttention(q, k, v, local, { scale }),
  };
  const rows = [];
  for (const T of contexts) {
    const qkv = [0, 1, 2].map((seed) => tf.randomNormal([Math.max(1, TOKENS_PER_STEP / T), heads, T, headDim], 0, 1, 'float32', seed));
    const best = {};
    for (let rep = 0; rep < 3; rep++) {
      for (const [name, f] of Object.entries(impls)) {
        const t = performance.now();
        const grads = tf.tidy(() => tf.grads((q, k, v) => tf.sum(f(q, k, v)))(qkv));
        await Promise.all(grads.map((g) => g.data()));
        tf.dispose(grads);
        best[name] = Math.min(best[name] ?? Infinity, (performance.now() - t) / 1000);
      }
    }
    tf.dispose(qkv);
    rows.push([T, best.fused, best.unfused, best.local, best.fused / best.local]);
  }
  return { fusedKernel: hasFusedCausalAttention(), rows };
}

// --reanalyse (with the flags of that run): no training — the tables are recomputed from the run directories and
// the results file of the last run (its command, wall time, machine and attention timings are kept).
const previous = process.argv.includes('--reanalyse') ? JSON.parse(readFileSync(resultsFile, 'utf8')) : null;
const t0 = performance.now();
const machineNote = previous?.machine ?? kit.machine();
const bench = previous
  ? { fusedKernel: !previous.tables.attention.note.includes('no native fused kernel'), rows: previous.tables.attention.rows }
  : await attentionBench([1024, 2048, 4096]);
const docs = [...brownDocs()].map((d) => JSON.stringify({ text: d.text }));
writeFileSync(corpus, docs.join('\n') + '\n');
// One step of a throwaway model trains the tokenizer and writes the shards into the shared cache, so the timed
// runs start together and do not race to build it.
if (
  !previous &&
  (await pretrainAsync(path.join(out, 'cache-prime'), {
    preset: 'gpt2-small',
    'n-layer': 1,
    steps: 1,
    'eval-every': 1,
    'sample-tokens': 0,
  })) !== 0
) {
  console.error(`preparing the Brown corpus failed: see ${path.relative(kit.root, out)}/cache-prime.log`);
  process.exit(1);
}

const runs = [];
for (const seed of seeds) {
  const settings = { minutes, steps: 1000000, seed, lr: 2e-3, 'warmup-steps': 20, 'eval-every': evalEvery, 'eval-batches': 4 };
  const common = { ...settings, 'checkpoint-every': 1000000, 'sample-tokens': 0 };
  const dirs = MODELS.map((m) => path.join(out, `${m.slug}-seed${seed}`));
  const codes = previous ? [0, 0] : await Promise.all(MODELS.map((m, i) => pretrainAsync(dirs[i], { ...common, preset: m.preset })));
  codes.forEach((code, i) => {
    if (code !== 0) {
      console.error(`${MODELS[i].slug} seed ${seed} failed with exit ${code}: see ${path.relative(kit.root, dirs[i])}.log`);
      process.exit(1);
    }
  });
  const pair = MODELS.map((m, i) => ({ model: m.slug, seed, ...readRun(dirs[i]) }));
  // Matched wall-clock points: a third, two thirds and all of the shorter run.
  const horizon = Math.min(...pair.map((r) => r.curve[r.curve.length - 1].t));
  const points = [horizon / 3, (2 * horizon) / 3, horizon];
  for (const r of pair) {
    r.matched = points.map((t) => ({ t: Math.round(t), val_loss: lossAt(r.curve, t) }));
    runs.push(r);
    console.error(
      `${r.model} seed ${seed}: ${r.steps} steps, ${Math.round(r.tokensPerSec)} tokens/s, val loss at ${Math.round(horizon)} s ${r.matched[2].val_loss?.toFixed(4)}`,
    );
  }
}

const byModel = (slug) => runs.filter((r) => r.model === slug);
const cell = (xs, digits) => {
  const v = xs.filter((x) => typeof x === 'number');
  if (v.length === 0) return null;
  const { m, sd } = kit.stats(v);
  return v.length > 1 ? `${m.toFixed(digits)} ± ${sd.toFixed(digits)}` : m.toFixed(digits);
};
const rows = MODELS.map((m) => {
  const mine = byModel(m.slug);
  return [
    m.name,
    mine[0].params,
    cell(
      mine.map((r) => r.tokensPerSec),
      0,
    ),
    cell(
      mine.map((r) => r.steps),
      0,
    ),
    ...[0, 1, 2].map((i) =>
      cell(
        mine.map((r) => r.matched[i].val_loss),
        3,
      ),
    ),
  ];
});
const speedup = kit.stats(byModel('sparse').map((r) => r.tokensPerSec)).m / kit.stats(byModel('dense').map((r) => r.tokensPerSec)).m;
const final = (slug, name) => ({ name, values: byModel(slug).map((r) => r.matched[2].val_loss), stderrs: [0] });
// One seed has no spread to judge a difference by: then the note gives the gap alone.
const verdict =
  seeds.length > 1
    ? effect(final('sparse', 'sparse'), final('dense', 'dense'))
    : {
        beyond: false,
        text: `sparse − dense ${(kit.stats(final('sparse').values).m - kit.stats(final('dense').values).m).toFixed(3)} (one seed: no spread to judge it by)`,
      };
// The two runs of a seed share the seed, the data order and the machine's load, so the per-seed differences are
// the sharper test: their mean against twice their sd.
const perSeed = seeds.map((seed) => {
  const [d, sp] = ['dense', 'sparse'].map((slug) => runs.find((r) => r.model === slug && r.seed === seed));
  return { seed, lossGap: sp.matched[2].val_loss - d.matched[2].val_loss, speedRatio: sp.tokensPerSec / d.tokensPerSec };
});
const gap = kit.stats(perSeed.map((p) => p.lossGap));
const ratio = kit.stats(perSeed.map((p) => p.speedRatio));
const paired =
  seeds.length > 1
    ? `paired by seed, sparse − dense ${gap.m.toFixed(3)} ± ${gap.sd.toFixed(3)} (${Math.abs(gap.m) > 2 * gap.sd ? 'beyond' : 'within'} 2 sd)`
    : 'one seed';
const horizons = runs.filter((r) => r.model === 'dense').map((r) => r.matched[2].t);
const note =
  `${SHAPE['n-layer']} layers × ${SHAPE['n-embd']} (${SHAPE['n-head']} heads), context ${SHAPE['block-size']}, batch ${SHAPE['batch-size']} × ` +
  `${SHAPE['block-size']} tokens, vocabulary ${SHAPE['vocab-size']}, Brown corpus (${docs.length} documents, 5 % held out); both models of a ` +
  `seed trained concurrently with a budget of ${minutes} minutes each. Tokens/s = training tokens ÷ wall seconds (evaluations included). ` +
  `Validation loss (nats/token, 4 batches of the held-out documents) at the same wall-clock seconds T/3, 2T/3, T, T = the shorter run (${horizons.join(', ')} s per seed). ` +
  `Sparse vs dense: ${ratio.m.toFixed(2)} ± ${ratio.sd.toFixed(2)}× the tokens/s (per seed); validation loss at T: ${verdict.text}; ${paired}. ` +
  'Plot: docs/results/sparse.svg.';

const results = {
  command: previous?.command ?? `pnpm experiment:sparse${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`,
  seeds,
  wall_s: previous?.wall_s ?? Math.round((performance.now() - t0) / 1000),
  machine: machineNote,
  tables: {
    attention: {
      columns: ['context', 'dense, fused kernel (s)', 'dense, tfjs products (s)', 'local:256 block-sparse (s)', 'fused ÷ local:256'],
      rows: bench.rows.map((r) => r.map((x, i) => (i === 0 ? x : Number(x.toFixed(i === 4 ? 2 : 3))))),
      note:
        `One layer's attention, forward + backward, ${SHAPE['n-head']} heads of ${SHAPE['n-embd'] / SHAPE['n-head']}, batch × context = ` +
        `${TOKENS_PER_STEP} tokens; fastest of 3 alternated passes in the same process${bench.fusedKernel ? '' : ' (no native fused kernel here: "fused" fell back to tfjs)'}.`,
    },
    sparse: {
      columns: ['attention', 'parameters', 'tokens/s', 'steps', 'val loss @ T/3', 'val loss @ 2T/3', 'val loss @ T'],
      rows,
      note,
    },
  },
  settings: { ...SHAPE, minutes, evalEvery, models: MODELS },
  speedup,
  finalLoss: { beyond: verdict.beyond, text: verdict.text, paired },
  ...(previous ? { reanalysed: 'tables recomputed by --reanalyse from the run directories of the command above' } : {}),
  perSeed,
  runs,
};
kit.writeResults(resultsFile, results, curvePlot(), pilot);

/** Validation loss against wall-clock seconds: one polyline per run (colour: model, dash: seed). */
function curvePlot() {
  const W = 480;
  const H = 290;
  const pad = { l: 52, r: 14, t: 48, b: 40 };
  const pts = runs.flatMap((r) => r.curve);
  const [tMax, lMin, lMax] = [
    Math.max(...pts.map((p) => p.t)),
    Math.min(...pts.map((p) => p.val_loss)),
    Math.max(...pts.map((p) => p.val_loss)),
  ];
  const X = (t) => pad.l + (t / tMax) * (W - pad.l - pad.r);
  const Y = (l) => pad.t + ((lMax - l) / (lMax - lMin || 1)) * (H - pad.t - pad.b);
  const colors = { dense: '#1f77b4', sparse: '#d62728' };
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="black"/>`,
    ...ticks.map((f) => `<text x="${X(f * tMax)}" y="${H - pad.b + 14}" text-anchor="middle">${Math.round(f * tMax)}</text>`),
    ...ticks.map(
      (f) =>
        `<text x="${pad.l - 6}" y="${Y(lMin + f * (lMax - lMin)) + 4}" text-anchor="end">${(lMin + f * (lMax - lMin)).toFixed(2)}</text>`,
    ),
    `<text x="${(W + pad.l) / 2}" y="${H - 6}" text-anchor="middle">wall-clock seconds (both models of a seed trained concurrently)</text>`,
    `<text x="12" y="${(H + pad.t - pad.b) / 2}" transform="rotate(-90 12 ${(H + pad.t - pad.b) / 2})" text-anchor="middle">validation loss</text>`,
    ...MODELS.map((m, i) => `<text x="${pad.l + 8}" y="${16 + 14 * i}" fill="${colors[m.slug]}">— ${m.name}</text>`),
    `<text x="${W - pad.r}" y="16" text-anchor="end" fill="gray">solid: seed ${seeds[0]}${seeds.length > 1 ? ', dashed: later seeds' : ''}</text>`,
  ];
  for (const r of runs) {
    const dash = r.seed === seeds[0] ? '' : ' stroke-dasharray="5 3"';
    parts.push(
      `<polyline fill="none" stroke="${colors[r.model]}" stroke-width="2"${dash} points="${r.curve.map((p) => `${X(p.t).toFixed(1)},${Y(p.val_loss).toFixed(1)}`).join(' ')}"/>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
