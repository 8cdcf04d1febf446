// Training throughput against the PyTorch eager peer in the same run: `gptlab-train bench` and
// /work/shared/peers/pytorch/train_bench.py on the same shape, alternated over rounds (ours, peer, ours, ...),
// medians of each side and their ratio; MFU of both against PyTorch's measured matmul peak (matmul_peak.py)
// and against our own (the bench's). Each measurement is one JSON line with the others_cores of its window.
//   pnpm --filter @gptlab/trainer exec tsx bench/train-vs-torch.ts [--rounds 3] [--shapes bench,gpt2]
//     [--out ../../docs/results/train-vs-torch.json]
//   (gpt2: 12L/768d/ctx 256, vocabulary 50257, batch 2; --out writes the results contract the READMEs render)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';

const PEER_DIR = '/work/shared/peers/pytorch';
const PYTHON = '/usr/bin/python3';

const SHAPES: Record<string, Record<string, number>> = {
  bench: { 'n-layer': 4, 'n-head': 4, 'n-embd': 256, 'block-size': 128, 'batch-size': 8, 'vocab-size': 8192, steps: 10, warmup: 2 },
  gpt2: { 'n-layer': 12, 'n-head': 12, 'n-embd': 768, 'block-size': 256, 'batch-size': 2, 'vocab-size': 50257, steps: 3, warmup: 1 },
};

type Rec = Record<string, unknown>;

const flags = parseFlags();
const shapeNames = (typeof flags.shapes === 'string' ? flags.shapes : 'bench').split(',');
for (const n of shapeNames) if (!SHAPES[n]) throw new Error(`--shapes ${n}: expected names from ${Object.keys(SHAPES).join(', ')}`);
const rounds = typeof flags.rounds === 'string' ? Number(flags.rounds) : 3;
const outFile = typeof flags.out === 'string' ? path.resolve(flags.out) : null;
// pnpm runs package scripts in the package directory.
const cli = path.resolve('dist', 'cli.js');
if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run pnpm --filter @gptlab/trainer build`);
if (!fs.existsSync(path.join(PEER_DIR, 'train_bench.py')) || !fs.existsSync(PYTHON)) {
  throw new Error(`the PyTorch peer needs ${PEER_DIR}/train_bench.py and ${PYTHON} (with torch)`);
}

/** Runs a command that prints one JSON line last; the parsed line, or throws with its last stderr line. */
function jsonRun(cmd: string, argv: string[], env: Record<string, string> = {}): Rec {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${path.basename(argv[0] ?? cmd)} failed: ${(r.stderr || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Rec;
}

// OMP_WAIT_POLICY=PASSIVE as matmul_peak.py and train_bench.py set it (libgomp's spinning steals the cores).
const PASSIVE = { OMP_WAIT_POLICY: 'PASSIVE' };
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const others = (r: Rec) => (r.cpu as { others_cores?: number | null } | undefined)?.others_cores ?? null;
const r3 = (x: number) => Number(x.toFixed(3));

/** Alternated rounds at one shape: a JSON line per round and one summary (returned). */
function compare(name: string, peak: number): Rec {
  const args = Object.entries(SHAPES[name]!).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const ours: Rec[] = [];
  const peer: Rec[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = jsonRun(process.execPath, [cli, 'bench', '--json', ...args]);
    const b = jsonRun(PYTHON, [path.join(PEER_DIR, 'train_bench.py'), ...args], PASSIVE);
    ours.push(a);
    peer.push(b);
    emit({
      bench: 'train-vs-torch',
      shape: name,
      round: r + 1,
      tokens_per_sec: a.tokens_per_sec,
      peer: 'pytorch eager (2 threads)',
      peer_tokens_per_sec: b.tokens_per_sec,
      ratio: r3(Number(a.tokens_per_sec) / Number(b.tokens_per_sec)),
      split_ms_per_step: a.split_ms_per_step,
      mfu_vs_own_peak: a.mfu,
      others_cores: others(a),
      peer_others_cores: others(b),
    });
  }
  const tps = (rs: Rec[]) => rs.map((x) => Number(x.tokens_per_sec));
  const mo = median(tps(ours));
  const mp = median(tps(peer));
  const gflops = (t: number) => (t * Number(ours[0]!.model_flops_per_token)) / 1e9;
  const summary = {
    bench: 'train-vs-torch-summary',
    shape: name,
    config: SHAPES[name],
    rounds,
    tokens_per_sec_median: mo,
    peer_tokens_per_sec_median: mp,
    ratio_of_medians: r3(mo / mp),
    ratios: ours.map((a, i) => r3(Number(a.tokens_per_sec) / Number(peer[i]!.tokens_per_sec))),
    torch_matmul_peak_gflops: peak,
    mfu_vs_torch_peak: r3(gflops(mo) / peak),
    peer_mfu_vs_torch_peak: r3(gflops(mp) / peak),
    own_matmul_peak_gflops: median(ours.map((a) => Number(a.matmul_peak_gflops))),
    split_ms_per_step_median: {
      gradients: median(ours.map((a) => (a.split_ms_per_step as Record<string, number>).gradients!)),
      norm_clip_optimizer: median(ours.map((a) => (a.split_ms_per_step as Record<string, number>).norm_clip_optimizer!)),
    },
    others_cores_median: median(ours.map(others).filter((x): x is number => x !== null)),
    peer_others_cores_median: median(peer.map(others).filter((x): x is number => x !== null)),
  };
  emit(summary);
  return summary;
}

const t0 = performance.now();
const peakRec = jsonRun(PYTHON, [path.join(PEER_DIR, 'matmul_peak.py'), '--seconds', '1'], PASSIVE);
const peak = Number(peakRec.peak_gflops_best);
emit({ bench: 'torch-matmul-peak', ...peakRec });
const summaries = shapeNames.map((n) => compare(n, peak));
const command = `pnpm --filter @gptlab/trainer exec tsx bench/train-vs-torch.ts --rounds ${rounds} --shapes ${shapeNames.join(',')}`;
if (outFile) {
  const m = machine();
  const results = {
    command,
    seeds: [0],
    wall_s: Math.round((performance.now() - t0) / 1000),
    machine: `${m.cpu}, ${m.cores} cores, node ${m.node}`,
    tables: {
      train_vs_torch: {
        columns: [
          'shape',
          'gptlab tokens/s',
          'PyTorch eager tokens/s',
          'ratio (medians)',
          'per-round ratios',
          'MFU vs PyTorch peak',
          'PyTorch MFU',
          'gradients ms/step',
          'norm+clip+AdamW ms/step',
          'others_cores (ours / peer)',
        ],
        rows: summaries.map((s) => {
          const c = s.config as Record<string, number>;
          const split = s.split_ms_per_step_median as Record<string, number>;
          return [
            `${c['n-layer']}L/${c['n-embd']}d ctx ${c['block-size']} b${c['batch-size']} V${c['vocab-size']}`,
            s.tokens_per_sec_median,
            s.peer_tokens_per_sec_median,
            s.ratio_of_medians,
            (s.ratios as number[]).join(' / '),
            s.mfu_vs_torch_peak,
            s.peer_mfu_vs_torch_peak,
            split.gradients,
            split.norm_clip_optimizer,
            `${s.others_cores_median} / ${s.peer_others_cores_median}`,
          ];
        }),
        note: `Alternated rounds (gptlab, PyTorch, …), medians; MFU against PyTorch's measured fp32 matmul peak (matmul_peak.py best: ${peak} GFLOP/s). others_cores: cores other processes used meanwhile (of ${m.cores}).`,
      },
    },
    torch_matmul_peak: peakRec,
    summaries,
  };
  const tmp = `${outFile}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(results, null, 1) + '\n');
  fs.renameSync(tmp, outFile);
  emit({ bench: 'train-vs-torch-written', file: outFile });
}
