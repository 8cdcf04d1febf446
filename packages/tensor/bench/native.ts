// matMul throughput of @gptlab/tensor-native's kernels (through tfjs on the wasm backend, and the raw addon)
// against this package's plain-wasm kernels, OpenBLAS (in-process, bench/sgemm-peer.ts) and PyTorch's
// matmul_peak.py, all measured in the same run, with the machine's fma peak as the ceiling. One JSON object per
// line. (It lives here because it measures the native kernels through @gptlab/tensor, which tensor-native
// cannot load.)
//   pnpm --filter @gptlab/tensor bench:native -- --json [--sizes 256,512,1024,2048] [--seconds 1] [--reps 15]
//     [--skip-torch] [--skip-peer]
// Lines: machine; sgemm_machine, fma_peak, sgemm (the native driver vs OpenBLAS at 1024/2048, 1 and all
// threads, alternated, best of N and median), sgemm_done; matmul (per size: tf.matMul and the raw addon call on
// the same wasm-heap arrays, alternated: dispatch_ratio = tfjs / raw; plain wasm; avx2 figure at 1024);
// matmul_transpose (all four variants at 1024, plain wasm at 512), attention (batched products of a training
// step), gemv (GPT-2 small's generation products, GB/s of weights), pytorch, summary (ratios to the peers).
import { spawnSync } from 'node:child_process';
import { emit, machine, parseFlags, time } from '@gptlab/bench-utils';
// Both packages built (`pnpm --filter @gptlab/tensor... build`), as a user would load them.
import { tf, initBackend, matMul2d, setNativeMatMul, type Tensor } from '@gptlab/tensor';
import { register, unregister, nativeInfo, setIsa, setThreads, addonStatus, sgemm } from '@gptlab/tensor-native';
import { cpuSeconds, tfjsVsRaw } from './dispatch';
import { runSgemmPeer, type PeerRun } from './sgemm-peer';

process.env.GPTLAB_NATIVE = '0'; // registration is switched here, per measurement
const flags = parseFlags();
const sizes = String(flags.sizes ?? '256,512,1024,2048')
  .split(',')
  .map(Number);
const seconds = Number(flags.seconds ?? 1);
const reps = Number(flags.reps ?? 15);
const TORCH = '/work/shared/peers/pytorch/matmul_peak.py';

function gflops(flop: number, sec: number): number {
  return +(flop / sec / 1e9).toFixed(1);
}

interface TorchResult {
  results: { n: number; gflops_median: number; gflops_best: number }[];
  torch: string;
  threads: number;
}

/** PyTorch's matmul_peak.py on the same machine (null, with a reason, when torch is missing). */
function runTorch(torchSizes: number[]): TorchResult | string {
  const r = spawnSync('/usr/bin/python3', [TORCH, '--sizes', torchSizes.join(','), '--seconds', String(Math.max(1, seconds))], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    return `${TORCH} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join(' ')}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

async function main(): Promise<void> {
  emit({ bench: 'machine', ...machine() });
  const status = addonStatus();
  if (!status.built) {
    emit({ bench: 'error', error: status.error });
    process.exitCode = 1;
    return;
  }
  await initBackend({ backend: 'wasm' });
  const info = nativeInfo();
  // PyTorch before and after our square products (the load of a shared machine drifts): ratios use the mean.
  const torchSizes = sizes.filter((n) => n >= 512);
  const torchBefore = flags['skip-torch'] ? null : runTorch(torchSizes);
  const nativeOn = () => {
    register(tf, 'wasm');
    setNativeMatMul(true);
  };
  const nativeOff = () => {
    unregister(tf, 'wasm');
    setNativeMatMul(false);
  };

  /** Seconds per tfjs product (median), kernels as currently registered. */
  const timeProduct = async (a: Tensor, b: Tensor, ta: boolean, tb: boolean, minSeconds = seconds) => {
    const r = await time(() => tf.matMul(a as never, b as never, ta, tb).dispose(), { warmup: 1, iters: 3, minSeconds });
    return r.median;
  };

  // The native driver against OpenBLAS in one process, and the fma ceiling (before the tfjs products, so both
  // see the same machine as PyTorch's first run).
  const peerSizes = sizes.filter((n) => n >= 1024);
  let peer: PeerRun | string = 'peer skipped (--skip-peer)';
  if (!flags['skip-peer'] && peerSizes.length > 0) {
    peer = runSgemmPeer(peerSizes, [...new Set([1, info.threads])], reps, Math.min(seconds, 2));
    if (typeof peer === 'string') emit({ bench: 'sgemm', peer });
    else for (const line of peer.lines) emit(line);
  }
  const fmaPeak = typeof peer === 'string' ? undefined : peer.fmaPeak[info.threads];

  // Square products, no transposes (plain wasm's fastest case: XNNPACK): tf.matMul and the raw addon call on the
  // same wasm-heap arrays, alternated rep by rep, so the dispatch ratio is same-window.
  const bySize: Record<number, number> = {};
  const dispatch: Record<number, number> = {};
  const dispatch1: Record<number, number> = {};
  for (const n of sizes) {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    nativeOn();
    const t = tfjsVsRaw(a, b, n, reps, seconds);
    // The same on one thread by CPU time, which a loaded machine disturbs far less than wall time.
    setThreads(1);
    const t1 = tfjsVsRaw(a, b, n, reps, seconds, cpuSeconds);
    setThreads(info.threads);
    nativeOff();
    const wasm = gflops(2 * n ** 3, await timeProduct(a, b, false, false, Math.min(seconds, 1)));
    let avx2: number | undefined;
    if (n === 1024 && info.isas.includes('avx2+fma') && info.isa !== 'avx2+fma') {
      const A = new Float32Array(n * n).fill(0.5);
      const B = new Float32Array(n * n).fill(0.25);
      const C = new Float32Array(n * n);
      setIsa('avx2+fma');
      avx2 = gflops(2 * n ** 3, (await time(() => sgemm(A, B, n, n, n, { c: C }), { warmup: 1, iters: 3, minSeconds: seconds })).median);
      setIsa(info.isa);
    }
    const native = gflops(2 * n ** 3, t.tfjs.median);
    bySize[n] = native;
    dispatch[n] = +(t.raw.min / t.tfjs.min).toFixed(3);
    dispatch1[n] = +(t1.raw.min / t1.tfjs.min).toFixed(3);
    emit({
      bench: 'matmul',
      n,
      isa: info.isa,
      threads: info.threads,
      reps: t.reps,
      native_gflops: native,
      native_gflops_best: gflops(2 * n ** 3, t.tfjs.min),
      native_raw_gflops: gflops(2 * n ** 3, t.raw.median),
      native_raw_gflops_best: gflops(2 * n ** 3, t.raw.min),
      dispatch_ratio_best: dispatch[n],
      dispatch_ratio_median: +(t.raw.median / t.tfjs.median).toFixed(3),
      native_gflops_1thread_cpu_best: gflops(2 * n ** 3, t1.tfjs.min),
      native_raw_gflops_1thread_cpu_best: gflops(2 * n ** 3, t1.raw.min),
      dispatch_ratio_1thread_cpu: dispatch1[n],
      ...(fmaPeak ? { fma_peak_gflops: fmaPeak, raw_of_peak: +((2 * n ** 3) / t.raw.min / 1e9 / fmaPeak).toFixed(3) } : {}),
      ...(avx2 !== undefined ? { native_avx2_gflops: avx2 } : {}),
      wasm_gflops: wasm,
      speedup_over_wasm: +(native / wasm).toFixed(1),
      others_cores: t.othersCores,
    });
    tf.dispose([a, b]);
  }

  // Every transpose variant (plain wasm's flags path is far slower with transposes: measured at 512).
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const n = 1024;
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 3);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 4);
    nativeOn();
    const native = gflops(2 * n ** 3, await timeProduct(a, b, ta, tb));
    nativeOff();
    const m = 512;
    const a5 = tf.slice(a, [0, 0], [m, m]);
    const b5 = tf.slice(b, [0, 0], [m, m]);
    const wasmFlags = gflops(2 * m ** 3, await timeProduct(a5, b5, ta, tb, 0.3));
    const wasmExplicit = gflops(
      2 * m ** 3,
      (await time(() => matMul2d(a5 as never, b5 as never, ta, tb).dispose(), { warmup: 1, iters: 3, minSeconds: 0.3 })).median,
    );
    emit({
      bench: 'matmul_transpose',
      variant: `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`,
      native_gflops_1024: native,
      wasm_flags_gflops_512: wasmFlags,
      wasm_explicit_transpose_gflops_512: wasmExplicit,
    });
    tf.dispose([a, b, a5, b5]);
  }

  // Attention products of the training bench (batch 8, 4 heads, T 128, head 64): scores q·kᵀ, p·v, and the
  // transposed products of their gradients.
  {
    const [B, H, Tt, D] = [8, 4, 128, 64];
    const q = tf.randomNormal([B, H, Tt, D]);
    const k = tf.randomNormal([B, H, Tt, D]);
    const p = tf.randomNormal([B, H, Tt, Tt]);
    const cases: [string, Tensor, Tensor, boolean, boolean, number][] = [
      ['q·kT', q, k, false, true, 2 * B * H * Tt * Tt * D],
      ['p·v', p, k, false, false, 2 * B * H * Tt * Tt * D],
      ['pT·dy', p, q, true, false, 2 * B * H * Tt * Tt * D],
      ['dy·vT', q, k, false, true, 2 * B * H * Tt * Tt * D],
    ];
    for (const [name, a, b, ta, tb, flop] of cases) {
      nativeOn();
      const native = gflops(flop, await timeProduct(a, b, ta, tb, 0.5));
      nativeOff();
      const wasm = gflops(flop, await timeProduct(a, b, ta, tb, 0.3));
      emit({
        bench: 'attention',
        product: name,
        shape: [B, H, Tt, D],
        native_gflops: native,
        wasm_gflops: wasm,
        speedup_over_wasm: +(native / wasm).toFixed(1),
      });
    }
    tf.dispose([q, k, p]);
  }

  // Generation (batch 1, KV cache): matrix-vector products streaming GPT-2 small's weights.
  {
    const C = 768;
    const V = 50257;
    const shapes: [string, number, number, boolean][] = [
      ['x·W_qkv', C, 3 * C, false],
      ['x·W_proj', C, C, false],
      ['x·W_fc', C, 4 * C, false],
      ['h·W_mlp', 4 * C, C, false],
      ['h·wteT (LM head)', C, V, true],
    ];
    nativeOn();
    let perToken = 0;
    for (const [name, K, N, tb] of shapes) {
      const x = tf.randomNormal([1, K]);
      const w = tf.randomNormal(tb ? [N, K] : [K, N]);
      const sec = await timeProduct(x, w, false, tb, 0.5);
      const uses = name.startsWith('h·wteT') ? 1 : 12;
      perToken += uses * sec;
      emit({
        bench: 'gemv',
        product: name,
        k: K,
        n: N,
        us: +(sec * 1e6).toFixed(1),
        weight_gbytes_per_s: +((4 * K * N) / sec / 1e9).toFixed(1),
      });
      tf.dispose([x, w]);
    }
    emit({
      bench: 'gemv_gpt2_small',
      note: 'sum of the per-token weight products (12 layers + LM head); bounds KV-cache generation',
      products_ms_per_token: +(perToken * 1e3).toFixed(2),
      products_tokens_per_s_bound: +(1 / perToken).toFixed(1),
    });
  }
  nativeOn();

  // PyTorch, same machine, same run.
  const torchMedian: Record<number, number> = {};
  if (torchBefore !== null) {
    const torchAfter = runTorch(torchSizes);
    if (typeof torchBefore === 'string' || typeof torchAfter === 'string') {
      emit({
        bench: 'pytorch',
        error: typeof torchBefore === 'string' ? torchBefore : torchAfter,
        hint: 'sh /work/shared/peers/pytorch/setup.sh',
      });
    } else {
      for (const t of torchBefore.results) {
        const after = torchAfter.results.find((x) => x.n === t.n)!;
        torchMedian[t.n] = +((t.gflops_median + after.gflops_median) / 2).toFixed(1);
        emit({
          bench: 'pytorch',
          torch: torchBefore.torch,
          threads: torchBefore.threads,
          n: t.n,
          gflops_median_before: t.gflops_median,
          gflops_median_after: after.gflops_median,
          gflops_best: Math.max(t.gflops_best, after.gflops_best),
        });
      }
    }
  }
  // Ratios to each peer measured in this run: tf.matMul (median) to PyTorch (mean of its medians before and
  // after); the native driver to OpenBLAS (best of N each, alternated, all threads); tf.matMul to the raw call.
  const ratios: Record<string, number> = {};
  for (const n of torchSizes) if (bySize[n] && torchMedian[n]) ratios[`ratio_pytorch_${n}`] = +(bySize[n]! / torchMedian[n]!).toFixed(2);
  const openblas: Record<number, number> = {};
  if (typeof peer !== 'string')
    for (const l of peer.sgemm) {
      if (l.ratio_best === undefined) continue;
      // One thread is timed by CPU time (see sgemm_peer.cc), far steadier than wall time on a loaded machine.
      if (l.threads === 1) ratios[`ratio_openblas_1thread_cpu_${l.n}`] = l.ratio_best;
      if (l.threads === info.threads) {
        openblas[l.n] = l.openblas_gflops_best!;
        ratios[`ratio_openblas_${l.n}`] = l.ratio_best;
      }
    }
  for (const n of peerSizes) {
    if (dispatch[n]) ratios[`dispatch_ratio_${n}`] = dispatch[n]!;
    if (dispatch1[n]) ratios[`dispatch_ratio_1thread_cpu_${n}`] = dispatch1[n]!;
  }
  emit({
    bench: 'summary',
    ours_gflops: bySize,
    pytorch_gflops: torchMedian,
    openblas_gflops_best: typeof peer === 'string' ? peer : peer.peer.startsWith('peer unavailable') ? peer.peer : openblas,
    ...(fmaPeak ? { fma_peak_gflops: fmaPeak } : {}),
    ...ratios,
    target: 'native ≥ 0.95× OpenBLAS at 1024 and 2048; tf.matMul ≥ 0.95× the raw call',
    others_cores_end: machine().others_cores,
  });
  unregister(tf, 'wasm');
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
