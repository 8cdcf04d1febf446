#!/usr/bin/env node
// GPT-3's data recipe (§2.2, Appendix A) in miniature, end to end through gptlab-train (see README "Data"):
//   node tooling/scripts/experiment-data.mjs            funnel per source, quality classifier AUC, P(keep | score)
//                                                       vs the Pareto rule, mixture shares vs weights, and
//                                                       filtered-vs-unfiltered crawl on the reference text (~5 min)
//   node tooling/scripts/experiment-data.mjs scale [--mb 100] [--gb] [--index memory|sqlite]
//                                                       MB/s of every stage on crawl text generated on the fly, and
//                                                       near-dedup's peak RSS with the SQLite index
// Writes docs/results/data.json (or data-scale.json) in the results shape, SVG plots next to it, and the runs
// under --work (default runs/experiments/data). Needs `pnpm build` (apps/trainer/dist, packages/data/dist).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'apps/trainer/dist/cli.js');
const dataLib = path.join(root, 'packages/data/dist/index.js');
const argv = process.argv.slice(2);
const mode = argv[0] === 'scale' ? 'scale' : 'main';
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const has = (name) => argv.includes(`--${name}`);
for (const f of [cli, dataLib])
  if (!existsSync(f)) {
    console.error(`${path.relative(root, f)} is missing: run \`pnpm build\` first`);
    process.exit(1);
  }
const work = path.resolve(flag('work', path.join(root, 'runs/experiments/data')));
const resultsDir = path.join(root, 'docs/results');
mkdirSync(work, { recursive: true });
mkdirSync(resultsDir, { recursive: true });
const t0 = Date.now();
// the load average says how shared the machine was (times on a saturated machine are lower bounds of speed)
const machine = () =>
  `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`;
const at = (f) => path.join(work, f);

function run(args) {
  console.error(`$ gptlab-train ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  process.stderr.write(r.stderr.split('\n').slice(-4).join('\n'));
  if (r.status !== 0) {
    console.error(`gptlab-train ${args.slice(0, 2).join(' ')} failed with exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

function writeAtomic(file, text) {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

const readJsonl = (f) =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const round = (x, d = 4) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

/** P(keep | score) plot: measured per bin (dots) against the Pareto rule (2 − s)^−α (line), log y axis. */
function paretoSvg(rows, alpha) {
  const W = 560;
  const H = 360;
  const L = 60;
  const B = 40;
  const x = (s) => L + s * (W - L - 20);
  const y = (p) => H - B - ((Math.log10(Math.max(p, 1e-3)) + 3) / 3) * (H - B - 20);
  const curve = Array.from({ length: 101 }, (_, i) => `${x(i / 100).toFixed(1)},${y((2 - i / 100) ** -alpha).toFixed(1)}`).join(' ');
  const dots = rows
    .filter((r) => r.docs > 0)
    .map(
      (r) =>
        `<circle cx="${x(r.meanScore).toFixed(1)}" cy="${y(r.measured).toFixed(1)}" r="4" fill="#d62728"><title>${r.bin}: ${r.kept}/${r.docs}</title></circle>`,
    )
    .join('');
  const yTicks = [1e-3, 1e-2, 1e-1, 1]
    .map(
      (p) =>
        `<text x="${L - 6}" y="${y(p) + 4}" text-anchor="end" font-size="11">${p}</text><line x1="${L}" x2="${W - 20}" y1="${y(p)}" y2="${y(p)}" stroke="#eee"/>`,
    )
    .join('');
  const xTicks = [0, 0.2, 0.4, 0.6, 0.8, 1]
    .map((s) => `<text x="${x(s)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${s}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>${yTicks}${xTicks}
<polyline points="${curve}" fill="none" stroke="#1f77b4" stroke-width="2"/>${dots}
<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="12">quality score s (classifier's P(reference))</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">P(keep | s), log scale</text>
<text x="${L + 10}" y="18" font-size="12"><tspan fill="#1f77b4">line: (2 − s)^−${alpha}</tspan>  <tspan fill="#d62728">dots: measured per score bin</tspan></text>
</svg>
`;
}

async function main() {
  const data = await import(dataLib);
  const seeds = (flag('seeds', '1,2') ?? '1,2').split(',').map(Number);
  const crawlDocs = flag('crawl-docs', '6000');
  const steps = flag('steps', '400');
  // 1. corpora: a crawl for the classifier's negatives and another (disjoint base text) to filter; held-out
  //    reference passages split into classifier positives and the validation text of the comparison
  run(['data', 'crawl', '--docs', '4000', '--part', '0/2', '--seed', '2', '--out', at('neg.jsonl')]);
  run(['data', 'crawl', '--docs', crawlDocs, '--part', '1/2', '--seed', '1', '--out', at('crawl.jsonl')]);
  run(['data', 'crawl', '--reference', '--docs', '100000', '--out', at('reference.jsonl')]);
  const ref = readJsonl(at('reference.jsonl'));
  const nVal = 250;
  writeAtomic(
    at('positive.jsonl'),
    ref
      .slice(0, ref.length - nVal)
      .map((d) => JSON.stringify(d))
      .join('\n') + '\n',
  );
  writeAtomic(
    at('validation.txt'),
    ref
      .slice(ref.length - nVal)
      .map((d) => d.text)
      .join('\n\n') + '\n',
  );
  run(['tokenizer', 'train', '--corpus', at('positive.jsonl'), '--vocab-size', '512', '--out', at('tokenizer.json')]);

  // 2. the classifier
  const q = JSON.parse(
    run([
      'data',
      'quality',
      'train',
      '--positive',
      at('positive.jsonl'),
      '--negative',
      at('neg.jsonl'),
      '--out',
      at('quality.json'),
      '--json',
    ]),
  );
  const crawl = readJsonl(at('crawl.jsonl'));
  const clf = data.QualityClassifier.load(at('quality.json'));
  const scores = crawl.map((d) => clf.score(d.text));
  const plantedAuc = data.rocAuc(
    scores,
    crawl.map((d) => (d.damage.length === 0 ? 1 : 0)),
  );

  // 3. P(keep | score): GPT-3's rule as the pipeline applies it (seeded), measured per score bin
  const alpha = 9;
  const stage = data.qualityStage({ classifier: clf, alpha, seed: 1 });
  const kept = new Set(
    (await data.collect(data.pipe(data.arraySource(crawl.map((d) => ({ id: d.id, text: d.text }))), stage))).map((d) => d.id),
  );
  const bins = Array.from({ length: 10 }, (_, b) => ({
    bin: `${(b / 10).toFixed(1)}–${((b + 1) / 10).toFixed(1)}`,
    docs: 0,
    kept: 0,
    sum: 0,
    expected: 0,
  }));
  crawl.forEach((d, i) => {
    const b = bins[Math.min(9, Math.floor(scores[i] * 10))];
    b.docs++;
    b.sum += scores[i];
    b.expected += (2 - scores[i]) ** -alpha;
    if (kept.has(d.id)) b.kept++;
  });
  const paretoRows = bins.map((b) => ({ ...b, meanScore: b.docs ? b.sum / b.docs : 0, measured: b.docs ? b.kept / b.docs : 0 }));
  writeAtomic(path.join(resultsDir, 'data-pareto.svg'), paretoSvg(paretoRows, alpha));

  // 4. a Table 2.2-style mixture: the crawl filtered (all stages + quality), the rest only cleaned and deduplicated
  const all = ['normalize', 'filter', 'exact-dedup', 'near-dedup'];
  const mix = {
    sources: [
      { name: 'crawl (filtered)', source: at('crawl.jsonl'), weight: 0.6, stages: [...all, 'quality'] },
      { name: 'brown press (≈ WebText2)', source: 'brown:news,editorial,reviews,religion,hobbies,government', weight: 0.22 },
      { name: 'brown fiction (≈ Books1)', source: 'brown:fiction,mystery,science_fiction,adventure,romance,humor', weight: 0.08 },
      { name: 'brown learned (≈ Books2)', source: 'brown:lore,belles_lettres,learned', weight: 0.08 },
      { name: 'wordnet (≈ Wikipedia)', source: 'wordnet', weight: 0.03 },
    ],
    quality: { model: at('quality.json'), alpha },
    total: { tokens: 1000000 },
  };
  writeAtomic(at('mixture.json'), JSON.stringify(mix, null, 2));
  run([
    'data',
    'prepare',
    '--mixture',
    at('mixture.json'),
    '--tokenizer',
    at('tokenizer.json'),
    '--out',
    at('mixture'),
    '--val-fraction',
    '0.01',
  ]);
  const report = JSON.parse(readFileSync(at('mixture/report.json'), 'utf8'));
  // the funnel from one complete pass over each source (a mixture stops inside a pass, and stages that work in
  // batches read ahead of what they pass on, so its first-pass counts are partial)
  const { BPETokenizer } = await import(path.join(root, 'packages/tokenizer/dist/index.js'));
  const full = await data.prepare({
    sources: mix.sources.map((s) => ({ source: s.source, name: s.name, quality: (s.stages ?? []).includes('quality') })),
    quality: { classifier: at('quality.json'), alpha },
    tokenizer: BPETokenizer.load(at('tokenizer.json')),
    outDir: at('funnel'),
    valFraction: 0.01,
  });

  // 5. GPT-3's claim in miniature: equal-token models on the filtered vs the unfiltered crawl, scored on held-out
  //    reference text
  const prepareCrawl = (out, ...flags) =>
    run([
      'data',
      'prepare',
      '--source',
      at('crawl.jsonl'),
      '--tokenizer',
      at('tokenizer.json'),
      '--out',
      at(out),
      '--val-fraction',
      '0.05',
      ...flags,
    ]);
  prepareCrawl('filtered', '--quality', at('quality.json'));
  prepareCrawl('unfiltered', '--no-filter', '--no-near-dedup');
  const shape = ['--n-layer', '2', '--n-head', '2', '--n-embd', '96', '--block-size', '64', '--batch-size', '8'];
  const claim = [];
  for (const cond of ['filtered', 'unfiltered'])
    for (const seed of seeds) {
      const runDir = at(`run-${cond}-${seed}`);
      run([
        'pretrain',
        '--data',
        at(cond),
        '--out',
        runDir,
        ...shape,
        '--steps',
        steps,
        '--warmup-steps',
        '20',
        '--lr',
        '3e-3',
        '--eval-every',
        steps,
        '--checkpoint-every',
        steps,
        '--sample-tokens',
        '0',
        '--workers',
        '1',
        '--seed',
        String(seed),
      ]);
      const ckpt = path.join(runDir, 'checkpoints', readFileSync(path.join(runDir, 'checkpoints/LATEST'), 'utf8').trim());
      const ev = JSON.parse(run(['eval', '--model', ckpt, '--text-file', at('validation.txt'), '--tasks', 'none', '--json']));
      const manifest = JSON.parse(readFileSync(at(`${cond}/manifest.json`), 'utf8'));
      claim.push({
        cond,
        seed,
        corpusTokens: manifest.splits.train.tokens,
        trainTokens: Number(steps) * 8 * 64,
        nll: ev.nll,
        bpb: ev.bits_per_byte,
      });
    }
  const mean = (c, k) => claim.filter((r) => r.cond === c).reduce((a, r) => a + r[k], 0) / seeds.length;

  const results = {
    command: 'pnpm experiment:data',
    seeds,
    wall_s: Math.round((Date.now() - t0) / 1000),
    machine: machine(),
    tables: {
      funnel: {
        columns: ['source', 'stage', 'documents', 'bytes', 'tokens'],
        rows: full.report.perSource.flatMap((p) => p.funnel.map((r) => [p.name, r.stage, r.docs, r.bytes, r.tokens])),
        note: 'one complete pass over each source; tokens are exact at "shards" and estimated from bytes before (the source\'s tokens per byte at the shards); quality (Pareto, α = 9) only on the crawl',
      },
      classifier: {
        columns: ['positives', 'negatives', 'held-out docs', 'held-out AUC', 'held-out accuracy', 'AUC clean vs damaged (unseen crawl)'],
        rows: [[q.positives, q.negatives, q.heldOutDocs, round(q.heldOutAuc), round(q.heldOutAccuracy), round(plantedAuc)]],
      },
      pareto: {
        columns: ['score bin', 'documents', 'kept', 'measured P(keep)', 'expected mean (2 − s)^−9'],
        rows: paretoRows.map((r) => [r.bin, r.docs, r.kept, round(r.measured), round(r.docs ? r.expected / r.docs : NaN)]),
        note: 'plot: docs/results/data-pareto.svg',
      },
      mixture: {
        columns: ['source', 'weight', 'share of shard tokens', 'epochs taken'],
        rows: report.perSource.map((p) => [p.name, round(p.weight), round(p.tokenShare), p.epochs === null ? '< 1' : round(p.epochs, 2)]),
      },
      claim: {
        columns: ['crawl', 'seed', 'corpus tokens', 'training tokens', 'reference nll / token', 'reference bits / byte'],
        rows: [
          ...claim.map((r) => [r.cond, r.seed, r.corpusTokens, r.trainTokens, round(r.nll), round(r.bpb)]),
          ...['filtered', 'unfiltered'].map((c) => [c, 'mean', '', '', round(mean(c, 'nll')), round(mean(c, 'bpb'))]),
        ],
      },
    },
    raw: {
      quality: q,
      plantedAuc,
      pareto: paretoRows,
      funnel: full.report.perSource,
      perSource: report.perSource,
      mixture: report.mixture,
      claim,
    },
  };
  writeAtomic(path.join(resultsDir, 'data.json'), JSON.stringify(results, null, 2) + '\n');
  console.error(`\nwrote docs/results/data.json in ${results.wall_s}s`);
}

/** Every stage's throughput on crawl text generated on the fly, and peak RSS (run in a child of its own). */
async function scale() {
  const mb = has('gb') ? 1000 : Number(flag('mb', '100'));
  const rows = [];
  // --index sqlite|memory measures one index (a 1 GB run of both takes long on 2 cores)
  for (const index of flag('index') ? [flag('index')] : ['memory', 'sqlite']) {
    const script = `
      const d = await import(${JSON.stringify(dataLib)});
      const clf = d.QualityClassifier.load(${JSON.stringify(at('quality.json'))});
      const src = d.crawlSource({ bytes: ${mb} * 1e6, seed: 5 });
      const stages = [d.normalizeStage(), d.filterStage(), d.exactDedupStage(),
        d.nearDedupStage({ index: '${index}', sqlitePath: ${JSON.stringify(at(`scale-${index}.sqlite`))} }), d.qualityStage({ classifier: clf })];
      const t = performance.now();
      await d.drain(d.pipe(src, ...stages));
      const wall = (performance.now() - t) / 1000;
      console.log(JSON.stringify({ wall, bytes: src.stats.bytes, docs: src.stats.docs, maxRssMB: process.resourceUsage().maxRSS / 1024,
        stages: stages.map((s) => ({ name: s.name, mbIn: s.stats.bytesIn / 1e6, seconds: s.stats.timeMs / 1000, docsOut: s.stats.docsOut })) }));`;
    console.error(`scale: ${mb} MB, near-dedup index ${index}`);
    // a file, not --eval: the MinHash worker threads inherit the parent's execArgv
    const file = at(`scale-${index}.mjs`);
    writeAtomic(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exit(1);
    }
    const j = JSON.parse(r.stdout.trim().split('\n').pop());
    for (const s of j.stages) rows.push([`${mb} MB`, index, s.name, round(s.mbIn, 1), round(s.seconds, 1), round(s.mbIn / s.seconds, 2)]);
    rows.push([
      `${mb} MB`,
      index,
      'whole pipeline (incl. generation)',
      round(j.bytes / 1e6, 1),
      round(j.wall, 1),
      round(j.bytes / 1e6 / j.wall, 2),
    ]);
    rows.push([`${mb} MB`, index, 'peak RSS (MB)', '', '', Math.round(j.maxRssMB)]);
  }
  const results = {
    command: `node tooling/scripts/experiment-data.mjs scale ${has('gb') ? '--gb' : `--mb ${mb}`}${flag('index') ? ` --index ${flag('index')}` : ''}`,
    seeds: [5],
    wall_s: Math.round((Date.now() - t0) / 1000),
    machine: machine(),
    tables: {
      scale: {
        columns: ['input', 'near-dedup index', 'stage', 'MB in', 'seconds', 'MB/s'],
        rows,
        note: "stage times are each stage's own main-thread time (upstream and downstream excluded; near-dedup's MinHash signatures are computed in 2 worker threads alongside); the whole pipeline's time includes generating the crawl; peak RSS of the process running it",
      },
    },
  };
  writeAtomic(path.join(resultsDir, has('gb') ? 'data-scale-1gb.json' : 'data-scale.json'), JSON.stringify(results, null, 2) + '\n');
}

if (mode === 'scale') {
  if (!existsSync(at('quality.json'))) {
    console.error(`scale needs the classifier of a main run: ${at('quality.json')} (run \`pnpm experiment:data\` first)`);
    process.exit(1);
  }
  await scale();
} else await main();
