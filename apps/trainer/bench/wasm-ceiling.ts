// The ceiling of data-parallel training on plain wasm (issue #19, target 7): the matMul work plain wasm (tfjs-
// backend-wasm's XNNPACK, one thread) and PyTorch's BLAS (one thread) each do per CPU-second of their own
// thread, at the bench's product shapes. Per CPU-second, not per wall second: other processes on the machine
// then do not change the figure (a wall-clock peak on a shared machine does). Prints one JSON line; `--out FILE`
// writes it in the docs/results shape.
//   pnpm --filter @gptlab/trainer exec tsx bench/wasm-ceiling.ts [--seconds 3] [--out ../../docs/results/x.json]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';

const flags = parseFlags();
const seconds = Number(flags.seconds ?? 3);
/** [m, k, n]: the 1,024-cube and the bench's products (512 rows = a worker's 4 sequences of 128). */
const shapes = [
  [1024, 1024, 1024],
  [512, 256, 768],
  [512, 256, 8192],
  [512, 1024, 256],
];

// Plain wasm in a child (GPTLAB_NATIVE=0), timed by its thread's CPU time (Linux /proc/thread-self/stat).
const wasmCode = `
const fs = require('node:fs');
const t = require('node:module').createRequire(${JSON.stringify(path.resolve('package.json'))})('@gptlab/tensor');
const cpu = () => { const s = fs.readFileSync('/proc/thread-self/stat', 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
t.initBackendInfo().then(() => {
  const tf = t.tf, out = [];
  for (const [m, k, n] of ${JSON.stringify(shapes)}) {
    const a = tf.randomNormal([m, k]), b = tf.randomNormal([k, n]);
    for (let i = 0; i < 2; i++) tf.matMul(a, b).dispose();
    const c0 = cpu(); let reps = 0;
    while (cpu() - c0 < ${seconds}) { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); reps++; }
    out.push((2 * m * k * n * reps) / (cpu() - c0) / 1e9);
  }
  console.log(JSON.stringify({ gflops: out, simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.backend().wasm._get_threads_count?.() ?? 1 }));
});`;
const pyCode = `
import os
os.environ["OPENBLAS_NUM_THREADS"] = "1"; os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import json, time, torch
torch.set_num_threads(1)
out = []
for m, k, n in ${JSON.stringify(shapes)}:
    a = torch.randn(m, k); b = torch.randn(k, n)
    for _ in range(2): a @ b
    c0 = time.thread_time(); reps = 0
    while time.thread_time() - c0 < ${seconds}:
        a @ b; reps += 1
    out.append(2 * m * k * n * reps / (time.thread_time() - c0) / 1e9)
blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower()})
print(json.dumps({"gflops": out, "torch": torch.__version__, "blas": blas}))`;

function lastJson(r: ReturnType<typeof spawnSync>, what: string): Record<string, unknown> {
  if (r.status !== 0) throw new Error(`${what} failed: ${String(r.stderr).trim().split('\n').pop()}`);
  return JSON.parse(String(r.stdout).trim().split('\n').pop()!) as Record<string, unknown>;
}

const started = performance.now();
const wasm = lastJson(
  spawnSync(process.execPath, ['-e', wasmCode], { encoding: 'utf8', env: { ...process.env, GPTLAB_NATIVE: '0' } }),
  'plain wasm',
);
const torch = lastJson(spawnSync('/usr/bin/python3', ['-c', pyCode], { encoding: 'utf8' }), 'PyTorch');
const w = wasm.gflops as number[];
const p = torch.gflops as number[];
const rows = shapes.map((s, i) => [s.join('×'), Number(w[i]!.toFixed(1)), Number(p[i]!.toFixed(1)), Number((w[i]! / p[i]!).toFixed(3))]);
const result = {
  command: `pnpm --filter @gptlab/trainer exec tsx bench/wasm-ceiling.ts --seconds ${seconds}`,
  seeds: [],
  wall_s: Number(((performance.now() - started) / 1000).toFixed(0)),
  machine: `${machine().cpu}, ${os.cpus().length} cores`,
  tables: {
    ceiling: {
      columns: ['matMul m×k×n', 'plain wasm GFLOP per CPU-second', 'PyTorch (1 thread) GFLOP per CPU-second', 'wasm / PyTorch'],
      rows,
      note: `plain wasm: tfjs-backend-wasm (SIMD ${String(wasm.simd)}, ${String(wasm.threads)} thread); PyTorch ${String(torch.torch)} with ${(torch.blas as string[]).map((b) => path.basename(b)).join(', ')}, one thread`,
    },
  },
  wasm,
  pytorch: torch,
};
emit({ bench: 'wasm-ceiling', ...result });
if (typeof flags.out === 'string') {
  const tmp = `${flags.out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n');
  fs.renameSync(tmp, flags.out);
}
