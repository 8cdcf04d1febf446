// native_decode: GPT-2 small KV-cached greedy generation (batch 1, prompt 32, 64 new; tokens/s = new tokens /
// (prefill + decode), gen_bench.py's definition) with enableNativeDecoding against the tfjs path and against
// onnxruntime-node (/work/shared/peers/onnxruntime, run before and after ours in the same invocation when its build
// directory exists; then the same checkpoint and prompt, ids checked against the PyTorch reference ref_greedy.json).
// Also the weight-streaming bound: the matrix-vector products of one token alone (every weight read once), timed
// through the same native kernel. Flags: --ort-peer DIR (the peer), --ort-build DIR (its checkpoint directory),
// --runs N (default 3, median). bfloat16 / int8 weights against float32: native-decode-quant.ts, also on a trained
// checkpoint with --quant-ckpt DIR (random weights exaggerate drift); --quant-only runs just those.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emit, machine } from '@gptlab/bench-utils';
import { nativeInfo, sgemm } from '@gptlab/tensor-native';
import { GPT, getPreset, loadGPT, enableNativeDecoding, disableNativeDecoding, countParameters } from '../src';
import { greedy, median } from './greedy-run';
import { quantDecodeBench } from './native-decode-quant';

const DEFAULT_PEER = '/work/shared/peers/onnxruntime';
const SHAPE_DIR = 'gpt2-L12-H12-C768-V50257-P1024-seed7-std0.2';

interface Timing {
  tokensPerSec: number;
  decodePerSec: number;
  /** The fastest one-token step of all runs (what the machine gives when nothing else runs on it). */
  fastestStep: number;
}

function timed(model: GPT, prompt: number[], n: number, runs: number): Timing {
  const all = Array.from({ length: runs }, () => greedy(model, prompt, n, false));
  const total = median(all.map((r) => r.total));
  const prefill = median(all.map((r) => r.prefill));
  return { tokensPerSec: n / total, decodePerSec: (n - 1) / (total - prefill), fastestStep: Math.min(...all.flatMap((r) => r.steps)) };
}

/** Seconds per token of the weight products alone: each layer's four matrix-vector products and the tied head. */
function weightStreamSeconds(model: GPT, reps: number): number {
  const c = model.config;
  const w = model.namedWeights();
  const get = (n: string) => w.get(n)!.dataSync() as Float32Array;
  const C = c.nEmbd;
  const mats = Array.from({ length: c.nLayer }, (_, l) =>
    (
      [
        ['attn.c_attn.weight', C, 3 * C],
        ['attn.c_proj.weight', C, C],
        ['mlp.c_fc.weight', C, 4 * C],
        ['mlp.c_proj.weight', 4 * C, C],
      ] as const
    ).map(([n, k, m]) => ({ w: get(`transformer.h.${l}.${n}`), k, m })),
  ).flat();
  const wte = get('transformer.wte.weight');
  const x = new Float32Array(4 * C).fill(0.01);
  const y = new Float32Array(Math.max(4 * C, c.vocabSize));
  const once = () => {
    for (const { w: W, k, m } of mats) sgemm(x.subarray(0, k), W, 1, m, k, { c: y.subarray(0, m) });
    sgemm(x.subarray(0, C), wte, 1, c.vocabSize, C, { transB: true, c: y.subarray(0, c.vocabSize) });
  };
  once();
  const times = Array.from({ length: reps }, () => {
    const t0 = performance.now();
    once();
    return (performance.now() - t0) / 1000;
  });
  return Math.min(...times); // the bound: the best any repetition streamed
}

/** One onnxruntime-node run of the peer's bench (its JSON line), or null with the reason printed. */
function ortRun(peer: string, build: string, runs: number): Record<string, unknown> | null {
  const r = spawnSync('node', [path.join(peer, 'ort_gen_bench.mjs'), '--dir', build, '--runs', String(runs)], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    process.stderr.write(`onnxruntime peer failed (exit ${r.status}): ${(r.stderr || line).slice(-300)}\n`);
    return null;
  }
}

/** Ids equal to the reference's up to its first near tie (margin < 1e-3), as the peer's own parity check. */
function sameAsReference(ids: number[], ref: { ids: number[]; margins?: number[] }): { equal: boolean; compared: number } {
  let n = Math.min(ids.length, ref.ids.length);
  const tie = ref.margins ? ref.margins.slice(0, n).findIndex((m) => m < 1e-3) : -1;
  if (tie >= 0) n = tie + 1;
  return { equal: ids.slice(0, n).every((t, i) => t === ref.ids[i]), compared: n };
}

export async function nativeDecodeBench(backend: string, flags: Record<string, string | true>): Promise<void> {
  // Load the addon now: a rebuild running elsewhere while this bench runs removes the file for a minute.
  nativeInfo();
  const runs = typeof flags.runs === 'string' ? Number(flags.runs) : 3;
  const peer = typeof flags['ort-peer'] === 'string' ? flags['ort-peer'] : DEFAULT_PEER;
  const build = typeof flags['ort-build'] === 'string' ? flags['ort-build'] : path.join(peer, 'build', SHAPE_DIR);
  const withPeer = fs.existsSync(path.join(build, 'model.onnx')) && fs.existsSync(path.join(peer, 'ort_gen_bench.mjs'));
  const n = 64;
  let model: GPT;
  let prompt: number[];
  let ref: { ids: number[]; margins?: number[] } | null = null;
  if (withPeer) {
    model = await loadGPT(path.join(build, 'ckpt'));
    prompt = (JSON.parse(fs.readFileSync(path.join(build, 'meta.json'), 'utf8')) as { prompt: number[] }).prompt;
    ref = JSON.parse(fs.readFileSync(path.join(build, 'ref_greedy.json'), 'utf8')) as { ids: number[]; margins?: number[] };
  } else {
    process.stderr.write(`no onnxruntime peer build at ${build} (run ${peer}/run.sh): measuring without the peer\n`);
    model = GPT.create(getPreset('gpt2-small', { embdDropout: 0, attnDropout: 0, residDropout: 0 }), { seed: 1 });
    prompt = Array.from({ length: 32 }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
  }
  const probe = enableNativeDecoding(model);
  disableNativeDecoding(model);
  if (!probe.active) {
    emit({ bench: 'native_decode', skipped: probe.detail });
    model.dispose();
    return;
  }
  const common = {
    backend,
    config: withPeer ? `gpt2-small (${SHAPE_DIR}, the peer's checkpoint)` : 'gpt2-small (random weights)',
    params: countParameters(model.config),
    batch: 1,
    prompt_len: prompt.length,
    new_tokens: n,
    runs,
  };
  if (flags['quant-only']) {
    quantDecodeBench(model, prompt, n, runs, common);
    model.dispose();
    if (typeof flags['quant-ckpt'] === 'string') await quantOnCheckpoint(flags['quant-ckpt'], backend, runs);
    return;
  }
  const m0 = machine();
  const before = withPeer ? ortRun(peer, build, runs) : null;
  // tfjs path, then native (each warmed up once; the native warm-up takes the weight snapshot)
  const plainCheck = greedy(model, prompt, n, true);
  const plain = timed(model, prompt, n, runs);
  const status = enableNativeDecoding(model);
  const nativeCheck = greedy(model, prompt, n, true);
  const native = timed(model, prompt, n, runs);
  disableNativeDecoding(model);
  // bfloat16 and int8 weights (opt-in): alternating rounds against float32, and their drift
  const quant = quantDecodeBench(model, prompt, n, runs, common);
  const bound = weightStreamSeconds(model, 10);
  const after = withPeer ? ortRun(peer, build, runs) : null;
  const m1 = machine();
  const peerRates = [before, after].filter((r): r is Record<string, unknown> => r !== null).map((r) => Number(r.tokens_per_sec));
  const peerMean = peerRates.length ? peerRates.reduce((a, b) => a + b, 0) / peerRates.length : null;
  let maxLogitDiff = 0;
  nativeCheck.logits.forEach((l, i) => {
    const p = plainCheck.logits[i]!;
    for (let j = 0; j < l.length; j++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(l[j]! - p[j]!));
  });
  const refCheck = ref ? sameAsReference(nativeCheck.ids, ref) : null;
  for (const [mode, r, detail] of [
    ['tfjs', plain, null],
    ['native', native, status.detail],
    ['native_bf16', quant.get('bfloat16')!, quant.get('bfloat16')!.detail],
    ['native_int8', quant.get('int8')!, quant.get('int8')!.detail],
  ] as const) {
    emit({
      bench: 'native_decode',
      mode,
      ...common,
      ...(detail ? { native: detail } : {}),
      tokens_per_sec: +r.tokensPerSec.toFixed(2),
      decode_tokens_per_sec: +r.decodePerSec.toFixed(2),
      ms_per_decode_token: +(1000 / r.decodePerSec).toFixed(2),
      fastest_step_ms: +(r.fastestStep * 1000).toFixed(2),
      peer: withPeer ? 'onnxruntime-node (mean of runs before and after ours)' : null,
      peer_tokens_per_sec: peerMean === null ? null : +peerMean.toFixed(2),
      peer_runs_tokens_per_sec: peerRates,
      ratio: peerMean === null ? null : +(r.tokensPerSec / peerMean).toFixed(3),
      same_ids_as_pytorch_reference: refCheck?.equal ?? null,
      reference_steps_compared: refCheck?.compared ?? null,
      machine: { ...m0, others_cores_after: m1.others_cores },
    });
  }
  emit({
    bench: 'native_decode_check',
    same_ids_native_vs_tfjs: nativeCheck.ids.every((t, i) => t === plainCheck.ids[i]),
    max_abs_logit_diff_native_vs_tfjs: +maxLogitDiff.toExponential(3),
    native_over_tfjs: +(native.tokensPerSec / plain.tokensPerSec).toFixed(3),
  });
  emit({
    bench: 'weight_stream_bound',
    ...common,
    ms_per_token: +(bound * 1000).toFixed(2),
    tokens_per_sec: +(1 / bound).toFixed(2),
    native_decode_ms_per_token: +(1000 / native.decodePerSec).toFixed(2),
    native_fastest_step_ms: +(native.fastestStep * 1000).toFixed(2),
    // best against best: on a shared machine the medians measure the other jobs as much as the code
    native_over_bound_time: +(native.fastestStep / bound).toFixed(3),
    target: 'native decode step ≤ 1.5 × the weight products alone (fastest step vs fastest products)',
  });
  model.dispose();
  if (typeof flags['quant-ckpt'] === 'string') await quantOnCheckpoint(flags['quant-ckpt'], backend, runs);
}

/** The quantised-weights comparison on a trained checkpoint (a fixed pseudo-random prompt within its vocabulary). */
async function quantOnCheckpoint(dir: string, backend: string, runs: number): Promise<void> {
  const model = await loadGPT(dir);
  const { vocabSize: V, nPositions: P } = model.config;
  const prompt = Array.from({ length: Math.min(32, P >> 2) }, (_, i) => (i * 7919 + 13) % V);
  const n = Math.min(64, P - prompt.length);
  const common = {
    backend,
    config: `trained checkpoint ${dir}`,
    params: countParameters(model.config),
    batch: 1,
    prompt_len: prompt.length,
    new_tokens: n,
    runs,
  };
  quantDecodeBench(model, prompt, n, runs, common);
  model.dispose();
}
