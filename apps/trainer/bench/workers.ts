// Data-parallel training speed (issue #19, target 7) in alternated rounds: plain wasm with 1 and 2 gradient
// workers (and 2 with the optimizer step on the main thread, the former path), the native kernels on one
// thread-pool instance and with 2 workers, and the PyTorch peer (eager, 2 threads), each round in a rotated
// order so that load from other processes falls on every setup alike. Medians and minimums of ms/step over the rounds; the ratios use the peer measured in the same run. Each run
// records others_cores: other processes' CPU use over the run, in cores (a figure taken under load is not a
// clean one). Prints one JSON line per run and a summary line; `--out FILE` also writes the summary in the
// docs/results shape (tables rendered into READMEs). Needs the built CLI (dist/).
//   pnpm --filter @gptlab/trainer exec tsx bench/workers.ts --rounds 3 --steps 10 [--out ../../docs/results/x.json]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';

const flags = parseFlags();
const rounds = Number(flags.rounds ?? 3);
const steps = String(flags.steps ?? 10);
const cli = path.resolve('dist', 'cli.js');
const peer = '/work/shared/peers/pytorch/train_bench.py';
if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run pnpm --filter @gptlab/trainer build`);

interface Setup {
  label: string;
  run: () => { rec: Record<string, unknown>; cpuSeconds: number } | { error: string };
}

/** CPU seconds used by every process (all cores), from /proc/stat (USER_HZ ticks). */
function busySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  return (f.reduce((a, b) => a + b, 0) - idle) / 100;
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function gptlab(label: string, workers: number, native: boolean, extraEnv: Record<string, string> = {}): Setup {
  return {
    label,
    run: () => {
      const env = { ...process.env, ...(native ? {} : { GPTLAB_NATIVE: '0' }), ...extraEnv };
      const r = spawnSync(process.execPath, [cli, 'bench', '--json', '--workers', String(workers), '--steps', steps], {
        encoding: 'utf8',
        env,
      });
      if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}` };
      const rec = lastJson(r.stdout);
      // process.cpuUsage() in the bench counts every thread of the process (workers included).
      return { rec, cpuSeconds: Number(rec.main_thread_cpu_s) };
    },
  };
}

const pytorch: Setup = {
  label: 'pytorch eager (2 threads)',
  run: () => {
    const r = spawnSync('/usr/bin/python3', [peer, '--steps', steps], { encoding: 'utf8' });
    if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}` };
    const rec = lastJson(r.stdout);
    const cpu = rec.cpu as { self_cores?: number } | undefined;
    return { rec, cpuSeconds: ((cpu?.self_cores ?? 0) * Number(rec.ms_per_step) * Number(steps)) / 1000 };
  },
};

const all: Record<string, Setup> = {
  w1: gptlab('plain wasm, 1 worker', 1, false),
  w2: gptlab('plain wasm, 2 workers', 2, false),
  // The former path: the optimizer step on the main thread while the workers wait.
  w2main: gptlab('plain wasm, 2 workers, AdamW on the main thread', 2, false, { GPTLAB_WORKER_OPTIMIZER: '0' }),
  n1: gptlab('native, 1 instance', 1, true),
  n2: gptlab('native, 2 workers', 2, true),
  pt: pytorch,
};
// --setups w2,w2main,pt: a subset (default: all).
const chosen = typeof flags.setups === 'string' ? flags.setups.split(',') : Object.keys(all);
for (const k of chosen) if (!all[k]) throw new Error(`--setups: unknown "${k}" (one of ${Object.keys(all).join(', ')})`);
if (chosen.includes('pt') && !(fs.existsSync(peer) && fs.existsSync('/usr/bin/python3')))
  throw new Error(`the PyTorch peer needs ${peer} and /usr/bin/python3`);
const setups = chosen.map((k) => all[k]!);

const msPerStep = new Map<string, number[]>();
const others = new Map<string, number[]>();
const splits = new Map<string, Record<string, number>[]>();
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < setups.length; k++) {
    const s = setups[(k + round) % setups.length]!;
    const busy0 = busySeconds();
    const t0 = performance.now();
    const out = s.run();
    const wall = (performance.now() - t0) / 1000;
    if ('error' in out) {
      emit({ bench: 'train-workers', setup: s.label, round, error: out.error });
      continue;
    }
    // Other processes' CPU over this run, in cores (this run's own CPU time taken out).
    const othersCores = Math.max(0, (busySeconds() - busy0 - out.cpuSeconds) / wall);
    const ms = Number(out.rec.ms_per_step);
    (msPerStep.get(s.label) ?? msPerStep.set(s.label, []).get(s.label)!).push(ms);
    (others.get(s.label) ?? others.set(s.label, []).get(s.label)!).push(othersCores);
    const timing = out.rec.worker_timing as Record<string, number> | undefined;
    if (timing) (splits.get(s.label) ?? splits.set(s.label, []).get(s.label)!).push({ ms_per_step: ms, ...timing });
    emit({ ...out.rec, bench: 'train-workers', setup: s.label, round, others_cores: Number(othersCores.toFixed(2)) });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const tokensPerStep = 8 * 128;
const peerMedian = msPerStep.has(pytorch.label) ? median(msPerStep.get(pytorch.label)!) : NaN;
const rows = setups
  .filter((s) => msPerStep.has(s.label))
  .map((s) => {
    const ms = msPerStep.get(s.label)!;
    const med = median(ms);
    return [
      s.label,
      Number(med.toFixed(0)),
      Number(Math.min(...ms).toFixed(0)),
      Number(((1000 * tokensPerStep) / med).toFixed(0)),
      Number((peerMedian / med).toFixed(3)),
      Number(median(others.get(s.label)!).toFixed(2)),
    ];
  });
/** Median over the rounds of each part of the worker step (ms per step). */
const splitRows = [...splits.entries()].map(([label, recs]) => {
  const keys = [
    'ms_per_step',
    'worker_load_ms',
    'worker_grad_ms',
    'worker_grad_cpu_ms',
    'worker_write_ms',
    'worker_wait_ms',
    'worker_reduce_ms',
    'worker_update_ms',
    'publish_ms',
    'main_ms',
  ];
  return [label, ...keys.map((k) => Number(median(recs.map((r) => r[k] ?? NaN)).toFixed(1)))];
});
const summary = {
  command: `pnpm --filter @gptlab/trainer exec tsx bench/workers.ts --rounds ${rounds} --steps ${steps}${typeof flags.setups === 'string' ? ` --setups ${flags.setups}` : ''}`,
  seeds: [0],
  wall_s: Number(((performance.now() - started) / 1000).toFixed(0)),
  machine: `${machine().cpu}, ${os.cpus().length} cores`,
  tables: {
    speed: {
      columns: ['setup', 'ms/step (median)', 'ms/step (min)', 'tokens/s (median)', '× PyTorch (same run)', 'others_cores (median)'],
      rows,
      note: `4L/4H/256d, ctx 128, batch 8, vocabulary 8,192; ${rounds} alternated rounds of ${steps} timed steps; ratio = PyTorch's median ms/step / the setup's`,
    },
    split: {
      columns: [
        'setup',
        'ms/step',
        'load weights',
        'forward+backward',
        'its CPU time',
        'write slot',
        'barrier wait',
        'reduce',
        'AdamW on its range',
        'publish',
        'main thread alone',
      ],
      rows: splitRows,
      note: 'medians over the rounds of the mean ms per step, warm-up steps included (worker parts: means over the workers); CPU time below wall time = the core taken by other threads or processes',
    },
  },
  ms_per_step: Object.fromEntries(msPerStep),
  others_cores: Object.fromEntries(others),
};
emit({ bench: 'train-workers-summary', ...summary });
if (typeof flags.out === 'string') {
  const tmp = `${flags.out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(summary, null, 2) + '\n');
  fs.renameSync(tmp, flags.out);
}
