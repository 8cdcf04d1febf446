// `pnpm experiment:align`: GPT-4's alignment step in miniature (issue #16), run by experiments.mjs.
//   base (pretrained once) → per seed: SFT on WordNet instructions → reward model on WordNet preference pairs →
//   PPO against it, and DPO on the same pairs → align-eval of base / SFT / PPO / DPO on held-out prompts.
// The base model: --model DIR, else a small GPT the script pretrains itself with `gptlab-train demo` on the
// WordNet glosses (2 layers, width 128, context 96 — chat prompts with a system turn need more than the demo
// model's 64 positions — for --base-minutes), cached in <out>/align/base. Seeds vary the alignment stages
// (data order, held-out split, PPO sampling, heads), not the base. Writes docs/results/align.json in the shared
// results shape, docs/results/align-ppo.svg (PPO reward and KL over iterations, one line per seed), and
// re-renders the README blocks that show them.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const words = (settings) => settings.split(' ');
const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').pop());
const meanOf = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdOf = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - meanOf(xs)) ** 2, 0) / (xs.length - 1)));

function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** mean ± sd over seeds as a cell; null when no seed has the value. */
function meanSd(xs, scale = 1, digits = 3) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).map((x) => x * scale);
  if (v.length === 0) return null;
  return v.length === 1 ? v[0].toFixed(digits) : `${meanOf(v).toFixed(digits)} ± ${sdOf(v).toFixed(digits)}`;
}

/**
 * Whether A and B differ beyond the spread: the gap of the seed means must exceed twice the combined spread,
 * where a model's spread is the larger of its sd over seeds and its prompt-sampling standard error (two seeds
 * alone can agree by chance). Returns the verdict ("A > B beyond 2 sd" or "A ≈ B (within the spread)") with the
 * numbers, and `beyond`.
 */
export function effect(a, b) {
  const spread = (m) => Math.max(sdOf(m.values), meanOf(m.stderrs));
  const gap = meanOf(a.values) - meanOf(b.values);
  const s = Math.sqrt(spread(a) ** 2 + spread(b) ** 2);
  const beyond = Math.abs(gap) > 2 * s;
  const verdict = beyond ? `${a.name} ${gap > 0 ? '>' : '<'} ${b.name} beyond 2 sd` : `${a.name} ≈ ${b.name} (within the spread)`;
  return { beyond, verdict, text: `${verdict} (Δ ${gap.toFixed(3)}, 2 sd ${(2 * s).toFixed(3)})` };
}

/** PPO reward and KL per iteration, one polyline per seed, as a two-panel SVG. */
export function ppoSvg(series) {
  const W = 360;
  const H = 200;
  const pad = 40;
  const panel = (key, x0, title) => {
    const pts = series.flatMap((s) => s.points.map((p) => p[key]));
    const steps = series.flatMap((s) => s.points.map((p) => p.step));
    if (pts.length === 0) return '';
    const [lo, hi] = [Math.min(...pts), Math.max(...pts)];
    const [s0, s1] = [Math.min(...steps), Math.max(...steps)];
    const X = (v) => x0 + pad + ((v - s0) / (s1 - s0 || 1)) * (W - 2 * pad);
    const Y = (v) => H - pad + 10 - ((v - lo) / (hi - lo || 1)) * (H - 2 * pad);
    const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
    const lines = series.map(
      (s, i) =>
        `<polyline fill="none" stroke="${colors[i % 4]}" stroke-width="1.5" points="${s.points.map((p) => `${X(p.step).toFixed(1)},${Y(p[key]).toFixed(1)}`).join(' ')}"/>` +
        `<text x="${x0 + W - pad}" y="${20 + 12 * i}" font-size="10" text-anchor="end" fill="${colors[i % 4]}">seed ${s.seed}</text>`,
    );
    return [
      `<text x="${x0 + W / 2}" y="14" font-size="12" text-anchor="middle">${title}</text>`,
      `<line x1="${x0 + pad}" y1="${H - pad + 10}" x2="${x0 + W - pad}" y2="${H - pad + 10}" stroke="#888"/>`,
      `<line x1="${x0 + pad}" y1="${pad - 10}" x2="${x0 + pad}" y2="${H - pad + 10}" stroke="#888"/>`,
      `<text x="${x0 + pad - 4}" y="${pad - 6}" font-size="9" text-anchor="end">${hi.toPrecision(3)}</text>`,
      `<text x="${x0 + pad - 4}" y="${H - pad + 10}" font-size="9" text-anchor="end">${lo.toPrecision(3)}</text>`,
      `<text x="${x0 + W / 2}" y="${H - 8}" font-size="10" text-anchor="middle">PPO iteration (${s0}–${s1})</text>`,
      ...lines,
    ].join('\n');
  };
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${panel('reward', 0, 'mean reward-model score of the rollouts')}\n${panel('kl', W, 'KL to the SFT model (per sequence)')}\n</svg>\n`
  );
}

/** PPO's per-iteration records of a run directory's metrics.jsonl. */
function ppoPoints(runDir) {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'eval' && typeof r.reward === 'number' && typeof r.kl === 'number')
    .map((r) => ({ step: r.iteration ?? r.step, reward: r.reward, kl: r.kl }));
}

const RESULTS = 'docs/results/align.json';
const SVG = 'docs/results/align-ppo.svg';
const MODELS = ['base', 'SFT', 'PPO', 'DPO'];
const KINDS = ['one-word', 'sentence', 'capitals', 'yes-no'];
const SYSTEM_PROMPTS = {
  'one-word': 'Answer in one word.',
  sentence: 'Answer in one full sentence.',
  capitals: 'Answer in capital letters.',
  'yes-no': "Start your answer with 'Yes' or 'No'.",
};

/** The results file (shared contract) from the per-seed runs: the judge and steerability tables, effects in the notes. */
export function alignResults(perSeed, meta) {
  const col = (name, key) => perSeed.map((s) => s.eval[name][key]);
  const judgeRows = MODELS.map((name) => [
    name,
    meanSd(col(name, 'score')),
    meanSd(col(name, 'correct'), 100, 1),
    meanSd(col(name, 'compliant'), 100, 1),
    meanSd(col(name, 'reward')),
    meanSd(col(name, 'kl'), 1, 2),
    meanSd(col(name, 'winRate'), 100, 1),
  ]);
  const score = (name) => ({ name, values: col(name, 'score'), stderrs: col(name, 'scoreStderr') });
  const pairs = [
    ['SFT', 'base'],
    ['PPO', 'SFT'],
    ['DPO', 'SFT'],
  ];
  const judgeEffects = pairs.map(([a, b]) => `judge score: ${effect(score(a), score(b)).text}`);
  // A compliance rate's prompt-sampling error is binomial, with Laplace's (x+1)/(n+2) so that 0% or 100% of a
  // few prompts does not claim zero error.
  const steer = (name, k) => {
    const cells = perSeed.map((s) => s.eval[name].steer[k]).filter(Boolean);
    const se = (c) => {
      const p = (c.compliance * c.n + 1) / (c.n + 2);
      return Math.sqrt((p * (1 - p)) / c.n);
    };
    return { name, values: cells.map((c) => c.compliance), stderrs: cells.map(se) };
  };
  const steerRows = MODELS.map((name) => [
    name,
    ...KINDS.map((k) =>
      meanSd(
        perSeed.map((s) => s.eval[name].steer[k]?.compliance ?? null),
        100,
        1,
      ),
    ),
  ]);
  const steerEffects = KINDS.filter((k) => perSeed.every((s) => MODELS.every((m) => s.eval[m].steer[k]))).flatMap((k) =>
    pairs.map(([a, b]) => ({ kind: k, ...effect(steer(a, k), steer(b, k)) })).filter((e) => e.beyond),
  );
  const steerSummary = steerEffects.length
    ? `Beyond 2 sd (seeds, or the binomial error of the prompts where larger): ${steerEffects.map((e) => `${e.kind}: ${e.text}`).join('; ')}; every other difference of SFT vs base, PPO vs SFT and DPO vs SFT is within the spread.`
    : 'No difference of SFT vs base, PPO vs SFT or DPO vs SFT exceeds 2 sd.';
  const steerN = KINDS.map((k) => `${k} n=${perSeed[0].eval.SFT.steer[k]?.n ?? 0}`).join(', ');
  const seeds = perSeed.map((s) => s.seed);
  return {
    ...meta,
    tables: {
      judge: {
        columns: ['model', 'judge score', 'correct %', 'compliant %', 'RM score', 'KL to SFT', 'win rate vs SFT %'],
        rows: judgeRows,
        note: `Mean ± sd over seeds ${seeds.join(', ')}; ${perSeed[0].eval.SFT.prompts} held-out prompts each (test synsets, words never in training). ${judgeEffects.join('; ')}.`,
      },
      steerability: {
        columns: ['model', ...KINDS.map((k) => `"${SYSTEM_PROMPTS[k]}" %`)],
        rows: steerRows,
        note:
          `Compliance with each system prompt on the held-out prompts that carry it (${steerN}); mean ± sd over seeds. ` +
          `${steerSummary} PPO reward and KL per iteration: ${SVG}.`,
      },
    },
    runs: perSeed,
  };
}

/** docs/results/align.json and the PPO plot, then the README blocks rendered from them. */
function writeResults(root, result) {
  mkdirSync(path.join(root, 'docs/results'), { recursive: true });
  writeAtomic(path.join(root, SVG), ppoSvg(result.runs.map((s) => ({ seed: s.seed, points: s.ppoPoints }))));
  // Paths relative to the repository (the raw runs name their checkpoints), so the file reads the same anywhere.
  writeAtomic(
    path.join(root, RESULTS),
    JSON.stringify(result, null, 2)
      .split(root + path.sep)
      .join('') + '\n',
  );
  const renderer = path.join(root, 'tooling/scripts/render-results.mjs');
  const render = spawnSync(process.execPath, [renderer, '--only', RESULTS], { stdio: 'inherit' });
  if (render.status !== 0) console.error('render-results failed: the README blocks are not updated');
}

export function alignExperiment({ run, flag, root, out }) {
  if (process.argv.includes('--tables-only')) {
    // Tables and plot again from the raw runs kept in docs/results/align.json (no training): a new table layout
    // or note without the 15-minute run; command, seeds and wall time stay those of the run.
    const old = JSON.parse(readFileSync(path.join(root, RESULTS), 'utf8'));
    const { tables: _tables, runs, ...meta } = old;
    const result = alignResults(runs, meta);
    writeResults(root, result);
    return { ...result, md: `tables of ${RESULTS} rebuilt from its runs` };
  }
  const t0 = performance.now();
  const dir = path.join(out, 'align');
  mkdirSync(dir, { recursive: true });
  const seedsFlag = flag('seeds', '2');
  const seeds = seedsFlag.includes(',') ? seedsFlag.split(',').map(Number) : Array.from({ length: Number(seedsFlag) }, (_, i) => i + 1);
  const n = flag('n', '150');
  const ppoMinutes = flag('minutes', '2');
  let base = flag('model');
  if (base) base = path.resolve(base);
  else {
    base = path.join(dir, 'base');
    if (!existsSync(path.join(base, 'checkpoints/LATEST')))
      run([
        'demo',
        '--out',
        base,
        '--minutes',
        flag('base-minutes', '3'),
        ...words('--n-layer 2 --n-head 4 --n-embd 128 --block-size 96 --batch-size 16'),
      ]);
  }
  const perSeed = [];
  for (const seed of seeds) {
    const sd = path.join(dir, `seed${seed}`);
    // Each stage: its settings (as one string: no paths in it), then the paths, the seed and --json.
    const stage = (name, settings, paths, out) =>
      lastJson(run([name, ...words(settings), ...paths, '--out', path.join(sd, out), '--seed', String(seed), '--json']));
    const sftSettings = `--data wordnet-instruct --examples ${flag('sft-examples', '2000')} --epochs 2 --packing --batch-size 16 --lr 1e-3 --warmup-fraction 0.05`;
    const sft = stage('sft', sftSettings, ['--init-from', base], 'sft');
    const pairs = path.join(sd, 'pairs.jsonl');
    run(['align-eval', '--write-pairs', pairs, '--examples', flag('pair-examples', '1200'), '--seed', String(seed)]);
    const rm = stage('reward', '--lr 3e-4 --batch-size 16', ['--init-from', sft.checkpoint, '--data', pairs], 'reward');
    const dpo = stage('dpo', '--beta 0.1 --lr 1e-4 --batch-size 16', ['--init-from', sft.checkpoint, '--data', pairs], 'dpo');
    const ppoSettings = `--prompts wordnet-instruct --steps ${flag('ppo-steps', '40')} --minutes ${ppoMinutes} --lr 1e-4 --batch-size 16 --mini-batch-size 8 --ppo-epochs 2`;
    const ppo = stage('ppo', ppoSettings, ['--policy', sft.checkpoint, '--reward', rm.checkpoint], 'ppo');
    const models = { base, SFT: sft.checkpoint, PPO: ppo.checkpoint ?? ppo.out, DPO: dpo.checkpoint };
    const evalArgs = Object.values(models).flatMap((m) => ['--model', m]);
    const ev = lastJson(
      run([
        'align-eval',
        ...evalArgs,
        '--reference',
        sft.checkpoint,
        '--reward',
        rm.checkpoint,
        '--n',
        n,
        '--seed',
        '0',
        '--samples',
        '3',
        '--json',
      ]),
    );
    const byName = Object.fromEntries(Object.keys(models).map((name, i) => [name, ev.models[i]]));
    perSeed.push({ seed, sft, reward: rm, dpo, ppo, eval: byName, ppoPoints: ppoPoints(ppo.out) });
  }
  const result = alignResults(perSeed, {
    command: `pnpm experiment:align --seeds ${seedsFlag}${flag('model') ? ` --model ${flag('model')}` : ''}`,
    seeds,
    wall_s: Math.round((performance.now() - t0) / 1000),
    machine: `${cpus().length} × ${cpus()[0]?.model?.trim() ?? 'cpu'} (shared with other jobs: wall times inflated)`,
    base,
  });
  writeResults(root, result);
  const md = [
    `Alignment (${result.command}; ${result.wall_s} s)`,
    '',
    `| ${result.tables.judge.columns.join(' | ')} |`,
    `|${result.tables.judge.columns.map(() => '---').join('|')}|`,
    ...result.tables.judge.rows.map((r) => `| ${r.map((x) => x ?? '–').join(' | ')} |`),
    '',
    result.tables.judge.note,
  ].join('\n');
  return { ...result, md };
}
