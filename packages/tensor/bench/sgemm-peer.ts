// The OpenBLAS peer and the fma ceiling for bench/native.ts: compiles @gptlab/tensor-native's
// bench/sgemm_peer.cc (its own SGEMM driver, the code the addon runs, against OpenBLAS's cblas_sgemm loaded in
// the same process, alternated rep by rep) with the addon's flags, runs it and returns its JSON lines. Without
// a compiler, the harness source or OpenBLAS the result says why ("peer unavailable: …") instead of failing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One `sgemm` line of the harness: ours and OpenBLAS at one size and thread count. */
export interface PeerSgemm {
  n: number;
  threads: number;
  timing: 'thread_cpu' | 'wall';
  reps: number;
  ours_gflops_best: number;
  ours_gflops_median: number;
  openblas_gflops_best?: number;
  openblas_gflops_median?: number;
  ratio_best?: number;
  ratio_median?: number;
  peer?: string;
  fma_peak_gflops?: number;
  others_cores: number;
}

export interface PeerRun {
  /** "openblas (libopenblas.so.0)", or why the peer is unavailable. */
  peer: string;
  /** The fma loop's GFLOP/s by thread count (each thread's CPU time: the hardware's ceiling). */
  fmaPeak: Record<number, number>;
  sgemm: PeerSgemm[];
  /** Every line the harness printed, to pass through. */
  lines: Record<string, unknown>[];
}

const FLAGS = ['-O3', '-std=gnu++17', '-fno-math-errno', '-fno-trapping-math', '-pthread'];

/** Compiles and runs the harness; a string (the reason) when it cannot. */
export function runSgemmPeer(sizes: number[], threads: number[], reps: number, seconds: number): PeerRun | string {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('@gptlab/tensor-native/package.json'));
  } catch (e) {
    return `peer unavailable: @gptlab/tensor-native not found (${(e as Error).message})`;
  }
  const source = join(root, 'bench', 'sgemm_peer.cc');
  if (!existsSync(source)) return `peer unavailable: ${source} missing`;
  const dir = mkdtempSync(join(tmpdir(), 'gptlab-sgemm-peer-'));
  try {
    const exe = join(dir, 'sgemm_peer');
    const csrc = join(root, 'csrc');
    const units = ['isa.cc', 'pool.cc', 'sgemm.cc'].map((f) => join(csrc, f));
    const cc = spawnSync('g++', [...FLAGS, '-I', csrc, ...units, source, '-ldl', '-o', exe], { encoding: 'utf8' });
    if (cc.status !== 0) {
      const why = (cc.stderr || cc.error?.message || '').trim().split('\n').slice(-2).join(' ');
      return `peer unavailable: compiling ${source} failed (${why})`;
    }
    const args = ['--sizes', sizes.join(','), '--threads', threads.join(','), '--reps', String(reps), '--seconds', String(seconds)];
    const r = spawnSync(exe, args, { encoding: 'utf8' });
    if (r.status !== 0) return `peer unavailable: the harness exited ${r.status} (${(r.stderr || '').trim().slice(-200)})`;
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const machineLine = lines.find((l) => l.bench === 'sgemm_machine');
    const fmaPeak: Record<number, number> = {};
    for (const l of lines) if (l.bench === 'fma_peak') fmaPeak[l.threads as number] = l.gflops as number;
    return {
      peer: String(machineLine?.peer ?? 'peer unavailable: no machine line'),
      fmaPeak,
      sgemm: lines.filter((l) => l.bench === 'sgemm') as unknown as PeerSgemm[],
      lines,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
