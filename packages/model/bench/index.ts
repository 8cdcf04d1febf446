// @gptlab/model benchmarks (one JSON line each):
//   train_step      tokens/s and MFU of a training step (forward + backward + Adam), 4 layers × 4 heads × 256
//                   wide, context 128, batch 8, vocab 8192 (the PyTorch peer's train_bench.py shape)
//   generate        KV-cached greedy generation, GPT-2 small shape with random weights, batch 1, 32-token prompt,
//                   64 new tokens (gen_bench.py's definition: new_tokens / (prefill + decode)); and the same
//                   without the cache (every step re-runs the whole sequence) for contrast
//   native_decode   the same generation with enableNativeDecoding vs the tfjs path vs onnxruntime-node
//                   (bench/native-decode.ts); native_decode_quant: float32 vs bfloat16 vs int8 weights, alternated,
//                   with their log-prob drift (bench/native-decode-quant.ts)
// Flags: --steps N (timed training steps, default 5), --new-tokens N (default 64), --skip-train, --skip-gen,
// --skip-native.
import { describeBackend, initBackendInfo, matMulPeakGflops, tf } from '@gptlab/tensor';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { GPT, getPreset, trainingFlopsPerToken, countParameters, type KVCache } from '../src';
import { nativeDecodeBench } from './native-decode';

const flags = parseFlags();
const num = (k: string, d: number) => (typeof flags[k] === 'string' ? Number(flags[k]) : d);

function randomIds(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % vocab;
  });
}

async function trainBench(peak: number, backend: string): Promise<void> {
  const B = 8;
  const T = 128;
  const cfg = getPreset('tiny', { nLayer: 4, nHead: 4, nEmbd: 256, nPositions: T, vocabSize: 8192 });
  const model = GPT.create(cfg, { seed: 1 });
  const opt = tf.train.adam(1e-4);
  const rows = Array.from({ length: B }, (_, b) => randomIds(T + 1, cfg.vocabSize, 100 + b));
  const x = tf.tensor2d(
    rows.map((r) => r.slice(0, T)),
    [B, T],
    'int32',
  );
  const y = tf.tensor2d(
    rows.map((r) => r.slice(1)),
    [B, T],
    'int32',
  );
  const step = (i: number) => {
    const l = opt.minimize(() => model.loss(x, y, { training: true, seed: i }), true, model.trainableVariables())!;
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  };
  for (let i = 0; i < 2; i++) step(i);
  const steps = num('steps', 5);
  const times: number[] = [];
  const m0 = machine();
  let loss = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    loss = step(100 + i);
    times.push((performance.now() - t0) / 1000);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)]!;
  const tps = (B * T) / med;
  const fpt = trainingFlopsPerToken(cfg, T);
  emit({
    bench: 'train_step',
    backend,
    config: { n_layer: 4, n_head: 4, n_embd: 256, block_size: T, batch_size: B, vocab_size: 8192, dropout: 0 },
    params: countParameters(cfg),
    step_seconds_median: +med.toFixed(4),
    step_seconds_min: +sorted[0]!.toFixed(4),
    steps,
    tokens_per_sec: +tps.toFixed(1),
    model_flops_per_token: fpt,
    achieved_gflops: +((tps * fpt) / 1e9).toFixed(2),
    matmul_peak_gflops: +peak.toFixed(2),
    mfu: +((tps * fpt) / (peak * 1e9)).toFixed(4),
    final_loss: +loss.toFixed(4),
    machine: m0,
  });
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}

function argmaxLast(logits: tf.Tensor3D): number {
  const [, T, V] = logits.shape;
  const d = logits.dataSync();
  let best = 0;
  for (let j = 1; j < V; j++) if (d[(T - 1) * V + j]! > d[(T - 1) * V + best]!) best = j;
  return best;
}

/** Greedy generation; returns the new ids and the prefill/decode times in seconds. */
function generate(model: GPT, prompt: number[], n: number, useCache: boolean) {
  const t0 = performance.now();
  const cache: KVCache | undefined = useCache ? model.createCache(1) : undefined;
  const seq = [...prompt];
  let input = tf.tensor2d([prompt], [1, prompt.length], 'int32');
  let prefill = 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { logits } = model.forward(input, { cache });
    input.dispose();
    const tok = argmaxLast(logits);
    logits.dispose();
    if (i === 0) prefill = (performance.now() - t0) / 1000;
    out.push(tok);
    seq.push(tok);
    input = useCache ? tf.tensor2d([[tok]], [1, 1], 'int32') : tf.tensor2d([seq], [1, seq.length], 'int32');
  }
  input.dispose();
  cache?.dispose();
  const total = (performance.now() - t0) / 1000;
  return { ids: out, prefill, total };
}

async function genBench(backend: string): Promise<void> {
  const cfg = getPreset('gpt2-small', { embdDropout: 0, attnDropout: 0, residDropout: 0 });
  const t0 = performance.now();
  const model = GPT.create(cfg, { seed: 1 });
  const initSeconds = (performance.now() - t0) / 1000;
  const prompt = randomIds(32, cfg.vocabSize, 7);
  const n = num('new-tokens', 64);
  generate(model, prompt, 4, true); // warm-up (kernels, masks)
  generate(model, prompt, 2, false);
  const m0 = machine();
  const withCache = generate(model, prompt, n, true);
  const noCache = generate(model, prompt, n, false);
  const same = withCache.ids.every((t, i) => t === noCache.ids[i]);
  for (const [name, r] of [
    ['kv_cache', withCache],
    ['no_cache', noCache],
  ] as const) {
    emit({
      bench: 'generate',
      mode: name,
      backend,
      config: 'gpt2-small (random weights)',
      params: countParameters(cfg),
      batch: 1,
      prompt_len: prompt.length,
      new_tokens: n,
      seconds: +r.total.toFixed(3),
      prefill_seconds: +r.prefill.toFixed(3),
      tokens_per_sec: +(n / r.total).toFixed(3),
      decode_tokens_per_sec: +((n - 1) / (r.total - r.prefill)).toFixed(3),
      same_ids_as_other_mode: same,
      init_seconds: +initSeconds.toFixed(2),
      machine: name === 'kv_cache' ? m0 : machine(),
    });
  }
  emit({ bench: 'generate_speedup', kv_cache_over_no_cache: +(noCache.total / withCache.total).toFixed(2), same_ids: same });
  model.dispose();
}

(async () => {
  const info = await initBackendInfo();
  const backend = describeBackend(info);
  const peak = matMulPeakGflops();
  if (!flags['skip-train']) await trainBench(peak, backend);
  if (!flags['skip-gen']) await genBench(backend);
  if (!flags['skip-native']) await nativeDecodeBench(backend, flags);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
