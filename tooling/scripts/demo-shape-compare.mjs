// `pnpm experiment:demo-shape --compare`: the demo with its old defaults (before) and its current ones (after,
// the shape the experiment chose), all runs at the same time so that each sees the same machine — the 2 cores are
// shared with other jobs, whose CPU use during the runs is recorded as others_cores — and the results added to
// docs/results/demo-shape.json: final validation loss (the demo's own and the comparable held-out loss, the same
// validation tokens for every shape) and the samples (same prompts, same decoding, same seed).
import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as kit from './experiment-kit.mjs';

const TICKS = 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** Busy and total CPU ticks of the machine (/proc/stat's first line). */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

/** utime + stime of a process (all its threads), in ticks; null once it has exited. */
function processTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Runs one demo, its stdout kept; stderr (progress) to a log file. Resolves with stdout. */
function startDemo(run, minutes) {
  mkdirSync(run.dir, { recursive: true });
  const argv = [
    kit.cli,
    'demo',
    '--out',
    run.dir,
    '--seed',
    String(run.seed),
    '--minutes',
    String(minutes),
    ...kit.settingsFlags(run.flags),
  ];
  console.error(`$ gptlab-train ${argv.slice(1).join(' ')}`);
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.pipe(createWriteStream(path.join(run.dir, 'demo.log')));
  run.pid = child.pid;
  run.cpuTicks = 0;
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      writeFileSync(path.join(run.dir, 'demo.out'), stdout);
      if (code === 0) resolve(stdout);
      else reject(new Error(`demo ${run.label} seed ${run.seed} exited with ${code} (its progress: ${path.join(run.dir, 'demo.log')})`));
    }),
  );
}

/** The demo's printed summary: validation loss, steps, seconds, tokens/s, parameters and samples. */
function parseDemo(stdout, log) {
  const m = stdout.match(/validation loss ([\d.]+) \(perplexity [\d.]+\) after (\d+) steps, (\d+)s/);
  const tp = stdout.match(/throughput ([\d,]+) tokens\/s with (\d+) worker\(s\).*?; ([\d,]+) parameters/);
  const model = log.match(/n_layer=(\d+) n_head=(\d+) n_embd=(\d+) .*context (\d+)/);
  const batch = log.match(/batch (\d+)×/);
  if (!m || !tp || !model || !batch) throw new Error(`unexpected demo output:\n${stdout}`);
  const samples = [];
  let prompt = null;
  for (const line of stdout.split('\n')) {
    const p = line.match(/^prompt: (".*")$/);
    if (p) prompt = JSON.parse(p[1]);
    const s = line.match(/^ {2}(\S.*?)\s+: (".*")$/);
    // The demo labels its sampling strategy with the seed when --seed is given: the same decoding for every seed.
    if (s && prompt !== null) samples.push({ prompt, strategy: s[1].replace(/, seed \d+$/, ''), text: JSON.parse(s[2]) });
  }
  const num = (s) => Number(s.replace(/,/g, ''));
  return {
    valLoss: Number(m[1]),
    steps: Number(m[2]),
    seconds: Number(m[3]),
    tokensPerSec: num(tp[1]),
    params: num(tp[3]),
    shape: {
      nLayer: Number(model[1]),
      nHead: Number(model[2]),
      nEmbd: Number(model[3]),
      blockSize: Number(model[4]),
      batchSize: Number(batch[1]),
    },
    samples,
  };
}

/** Runs every demo at once; the wall time, the CPU each used and what the other jobs used meanwhile. */
async function runAll(runs, minutes, cacheFrom) {
  for (const r of runs) {
    rmSync(r.dir, { recursive: true, force: true });
    // The tokenizer and shards the fit made (the same for every shape): no run spends its minutes on them.
    cpSync(cacheFrom, path.join(r.dir, 'cache'), { recursive: true });
  }
  const machine = kit.machine();
  const t0 = performance.now();
  const m0 = machineTicks();
  const pending = runs.map((r) => startDemo(r, minutes));
  const poll = setInterval(() => {
    for (const r of runs) r.cpuTicks = processTicks(r.pid) ?? r.cpuTicks;
  }, 2000);
  try {
    await Promise.all(pending);
  } finally {
    clearInterval(poll);
  }
  const wall = (performance.now() - t0) / 1000;
  const busy = (machineTicks().busy - m0.busy) / TICKS;
  const ours = runs.reduce((s, r) => s + r.cpuTicks, 0) / TICKS;
  return { wall, othersCores: Math.max(0, (busy - ours) / wall), machine };
}

/** The timings of the last comparison's runs (for --reparse). */
function previousRuns(compare, runs) {
  if (!compare) throw new Error('--reparse: the results file has no comparison yet');
  for (const r of runs) {
    const old = compare.runs.find((o) => o.label === r.label && o.seed === r.seed);
    if (!old) throw new Error(`--reparse: no ${r.label} run of seed ${r.seed} in the last comparison`);
    r.cpuTicks = old.cpuTicks ?? old.coresUsed * compare.wall_s * TICKS;
    r.heldOut = old.heldOut;
  }
  return { wall: compare.wall_s, othersCores: compare.others_cores, machine: compare.machine };
}

const shapeName = (s) => `${s.nLayer}L/${s.nEmbd}d, ctx ${s.blockSize} × batch ${s.batchSize}`;

export async function compareDemos({ flag, out, resultsFile, pilot, OLD_DEMO, cacheFrom, heldOutLoss, readJson }) {
  if (!existsSync(resultsFile)) throw new Error(`${resultsFile}: run the fit first (without --compare)`);
  const minutes = Number(flag('minutes', '10'));
  const seeds = flag('compare-seeds', '0,1').split(',').map(Number);
  const evalTokens = Number(flag('compare-eval-tokens', '65536'));
  const runs = seeds.flatMap((seed) => [
    { label: 'before', seed, flags: OLD_DEMO },
    { label: 'after', seed, flags: {} },
  ]);
  const results = readJson(resultsFile);
  for (const r of runs) r.dir = path.join(out, `compare-${r.label}-seed${r.seed}`);
  // --reparse: the finished demos of the last comparison again (their timings as measured then), e.g. after a
  // change to how their output is read; otherwise run them all now.
  const measured = process.argv.includes('--reparse') ? previousRuns(results.compare, runs) : await runAll(runs, minutes, cacheFrom);
  const { wall, othersCores, machine } = measured;
  runs.forEach((r) => {
    Object.assign(r, parseDemo(readFileSync(path.join(r.dir, 'demo.out'), 'utf8'), readFileSync(path.join(r.dir, 'demo.log'), 'utf8')));
    r.coresUsed = r.cpuTicks / TICKS / wall;
    const ckpts = path.join(r.dir, 'checkpoints');
    r.heldOut =
      r.heldOut ??
      heldOutLoss(path.join(ckpts, readFileSync(path.join(ckpts, 'LATEST'), 'utf8').trim()), path.join(r.dir, 'cache'), evalTokens);
  });
  results.command = `${results.command.split(' && ')[0]} && pnpm experiment:demo-shape --compare --minutes ${minutes} --compare-seeds ${seeds.join(',')}`;
  results.wall_s = (results.fit_wall_s ?? 0) + Math.round(wall);
  results.seeds = [...new Set([...results.seeds, ...seeds])].sort((a, b) => a - b);
  results.compare = {
    minutes,
    seeds,
    wall_s: Math.round(wall),
    others_cores: Number(othersCores.toFixed(2)),
    machine,
    evalTokens,
    runs: runs.map(({ pid, flags, ...r }) => r),
  };
  results.tables.before_after = {
    columns: [
      'demo defaults',
      'shape',
      'parameters',
      'seed',
      'steps',
      'tokens/s',
      'cores used',
      'demo validation loss',
      `held-out loss (${evalTokens} val tokens)`,
    ],
    rows: runs.map((r) => [
      r.label,
      shapeName(r.shape),
      r.params,
      r.seed,
      r.steps,
      r.tokensPerSec,
      Number(r.coresUsed.toFixed(2)),
      r.valLoss,
      Number(r.heldOut.loss.toFixed(4)),
    ]),
    note:
      `All ${runs.length} demos ran at the same time, each with a ${minutes}-minute budget (the demo plans its steps from its first steps' speed; these trained ` +
      `${Math.min(...runs.map((r) => r.seconds))}–${Math.max(...runs.map((r) => r.seconds))} s; wall ${Math.round(wall)} s with data loading and sampling) on the ` +
      `2 cores, beside other jobs using ${othersCores.toFixed(2)} cores on average. Demo validation loss: the demo's own (its first 16 batches of ` +
      `validation windows: the token set depends on context and batch). Held-out loss: NLL per token (nats) of the first ${evalTokens} validation ` +
      `tokens in non-overlapping windows of each model's context (\`gptlab-train eval --data\`): same tokenizer, same document split, same tokens.`,
  };
  const prompts = [...new Set(runs[0].samples.map((s) => `${s.prompt}\u0000${s.strategy}`))];
  results.tables.samples = {
    columns: ['seed', 'prompt', 'decoding', 'before', 'after'],
    rows: seeds.flatMap((seed) =>
      prompts.map((key) => {
        const [prompt, strategy] = key.split('\u0000');
        const text = (label) =>
          runs.find((r) => r.label === label && r.seed === seed).samples.find((s) => s.prompt === prompt && s.strategy === strategy)
            ?.text ?? null;
        return [seed, prompt, strategy, text('before'), text('after')];
      }),
    ),
    note: "The demo's own samples after training (32 new tokens): the same prompts and decoding for both shapes, sampling seeded with the run's seed.",
  };
  kit.writeResults(resultsFile, results, readFileSync(resultsFile.replace(/\.json$/, '.svg'), 'utf8'), pilot);
  return results.compare;
}
