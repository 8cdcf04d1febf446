// Training throughput, side by side in one run: the fastest setup (`gptlab-train bench`), the native kernels
// with N gradient workers, plain wasm with 1 and N gradient workers (the data-parallel speed-up; the wasm
// fallback's targets), plain wasm on tfjs's own kernels only (GPTLAB_WASM_KERNELS=0, what @gptlab/tensor's
// wasm kernels add), and the PyTorch peer (2 threads) on the same shape.
// Prints one JSON line per measurement and a summary line with the ratios. Needs the built CLI (dist/).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';

const flags = parseFlags();
const shape = ['n-layer', 'n-head', 'n-embd', 'block-size', 'batch-size', 'vocab-size', 'steps'];
const args: string[] = [];
for (const k of shape) if (flags[k] !== undefined && flags[k] !== true) args.push(`--${k}`, String(flags[k]));
// pnpm runs package scripts in the package directory (tsx runs this file as ESM: no __dirname).
const cli = path.resolve('dist', 'cli.js');
if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run pnpm --filter @gptlab/trainer build`);

function run(label: string, extra: string[], env: Record<string, string> = {}): Record<string, unknown> | null {
  const r = spawnSync(process.execPath, [cli, 'bench', '--json', ...args, ...extra], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    emit({ bench: 'train', setup: label, error: (r.stderr || '').trim().split('\n').pop() });
    return null;
  }
  const rec = { setup: label, ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>), machine: machine() };
  emit(rec);
  return rec;
}

function torch(): Record<string, unknown> | null {
  const script = '/work/shared/peers/pytorch/train_bench.py';
  if (!fs.existsSync(script) || !fs.existsSync('/usr/bin/python3')) return null;
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    emit({ bench: 'train', setup: 'pytorch', error: (r.stderr || '').trim().split('\n').pop() });
    return null;
  }
  const rec = { setup: 'pytorch (2 threads)', ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>) };
  emit(rec);
  return rec;
}

const cores = os.cpus().length;
const fastest = run('fastest (default)', []);
const pt1 = torch();
// The native kernels in every worker (one pool per worker, cores / workers threads each).
const nativeN = run(`native kernels, ${cores} workers`, ['--workers', String(cores)]);
const wasm1 = run('plain wasm, 1 worker', ['--workers', '1'], { GPTLAB_NATIVE: '0' });
const wasmN = run(`plain wasm, ${cores} workers`, ['--workers', String(cores)], { GPTLAB_NATIVE: '0' });
const tfjsOnly = run(`plain wasm, ${cores} workers, tfjs kernels only`, ['--workers', String(cores)], {
  GPTLAB_NATIVE: '0',
  GPTLAB_WASM_KERNELS: '0',
});
const pt2 = torch();
const tps = (r: Record<string, unknown> | null) => (r ? Number(r.tokens_per_sec) : NaN);
const ptTps = [pt1, pt2].filter(Boolean).map(tps);
const ptMean = ptTps.reduce((a, b) => a + b, 0) / Math.max(1, ptTps.length);
emit({
  bench: 'train-summary',
  fastest_tokens_per_sec: tps(fastest),
  fastest_mfu: fastest?.mfu,
  pytorch_tokens_per_sec: Number(ptMean.toFixed(1)),
  ratio_vs_pytorch: Number((tps(fastest) / ptMean).toFixed(3)),
  native_workers_tokens_per_sec: nativeN?.worker_native ? tps(nativeN) : null,
  native_workers_ratio_vs_pytorch: nativeN?.worker_native ? Number((tps(nativeN) / ptMean).toFixed(3)) : null,
  plain_wasm_tokens_per_sec: tps(wasmN),
  plain_wasm_ratio_vs_pytorch: Number((tps(wasmN) / ptMean).toFixed(3)),
  plain_wasm_workers_mfu: wasmN?.mfu,
  plain_wasm_worker_speedup: Number((tps(wasmN) / tps(wasm1)).toFixed(3)),
  plain_wasm_kernels_speedup: Number((tps(wasmN) / tps(tfjsOnly)).toFixed(3)),
  machine: machine(),
});
