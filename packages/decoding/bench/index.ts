// `pnpm --filter @gptlab/decoding bench -- --json`
// Greedy and beam-4 tokens/s with the KV cache on the GPT-2 small shape (random weights), 32-token prompt,
// 64 new tokens, batch 1; beam-4 against greedy per token, interleaved rounds (bench/beam.ts); the same greedy
// run without the cache (full re-encoding each step) and the ratio;
// and the decoding logic's own cost per step (a fake model with GPT-2's vocabulary, no network).
// Last, continuous batching: --rows (8) concurrent requests through one BatchedGenerator vs one alone
// (bench/batched.ts).
// Flags: --preset NAME (default gpt2-small) --prompt N (32) --new N (64) --no-cache-new N (64) --layers N
//        --rows N (8) --rounds N (3, beam) --only overhead | batched | beam (just that part).
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { generate, gptLanguageModel, type GenerateResult, type LanguageModel } from '../src';
import { batchedBench } from './batched';
import { beamBench } from './beam';

const flags = parseFlags();
const int = (name: string, def: number) => (typeof flags[name] === 'string' ? Number(flags[name]) : def);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function fakeLM(V: number): LanguageModel {
  const logits = new Float32Array(V);
  for (let i = 0; i < V; i++) logits[i] = Math.sin(i * 12.9898) * 4;
  return {
    vocabSize: V,
    contextLength: 1 << 20,
    start: () => {
      let rows = 1;
      return {
        feed: async (t: number[][]) => {
          rows = t.length;
          return Array.from({ length: rows }, () => logits);
        },
        reorder: (r: number[]) => void (rows = r.length),
        dispose: () => undefined,
      };
    },
  };
}

async function main() {
  const preset = typeof flags.preset === 'string' ? flags.preset : 'gpt2-small';
  const P = int('prompt', 32);
  const N = int('new', 64);
  const NC = int('no-cache-new', N);
  if (flags.only === 'overhead') return searchOverhead(getPreset(preset).vocabSize);
  const info = await initBackendInfo();
  process.stderr.write(describeBackend(info) + '\n');
  const overrides = typeof flags.layers === 'string' ? { nLayer: Number(flags.layers) } : {};
  const config = getPreset(preset, overrides);
  const t0 = performance.now();
  const model = GPT.create(config, { seed: 0 });
  process.stderr.write(`created ${preset} (${model.numParameters()} params) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const shape = { preset, n_layer: config.nLayer, n_embd: config.nEmbd, vocab: config.vocabSize, prompt: P, batch: 1 };
  const cached = gptLanguageModel(model);
  const uncached = gptLanguageModel(model, { useCache: false });
  emit({ bench: 'setup', backend: info.backend, threads: info.threads, ...shape, machine: machine() });
  const batched = () => batchedBench(model, { rows: int('rows', 8), prompt: P, newTokens: N, shape });
  if (flags.only === 'batched' || flags.only === 'beam') {
    if (flags.only === 'batched') await batched();
    else await beamBench(model, { prompt: P, newTokens: N, rounds: int('rounds', 3), beams: 4, shape });
    model.dispose();
    return;
  }

  await generate(cached, prompt, { maxNewTokens: 4 }); // warm-up (kernels, allocations)

  // first-token latency (prefill of the prompt) and steady decode
  const prefill = await timed(() => generate(cached, prompt, { maxNewTokens: 1 }));
  const greedy = await timed(() => generate(cached, prompt, { maxNewTokens: N }));
  const greedyTps = N / greedy;
  emit({
    bench: 'greedy',
    cache: true,
    ...shape,
    new_tokens: N,
    seconds: +greedy.toFixed(3),
    tokens_per_s: +greedyTps.toFixed(2),
    prefill_s: +prefill.toFixed(3),
    decode_tokens_per_s: +((N - 1) / (greedy - prefill)).toFixed(2),
    machine: machine(),
  });

  await beamBench(model, { prompt: P, newTokens: N, rounds: int('rounds', 3), beams: 4, shape });

  // no cache: every step re-runs the whole prefix; compared with the cached run over the same number of tokens
  let cachedSame = greedy;
  if (NC !== N) cachedSame = await timed(() => generate(cached, prompt, { maxNewTokens: NC }));
  let outA: GenerateResult | undefined;
  let outB: GenerateResult | undefined;
  const noCache = await timed(async () => (outB = (await generate(uncached, prompt, { maxNewTokens: NC })) as GenerateResult));
  outA = (await generate(cached, prompt, { maxNewTokens: Math.min(NC, 8) })) as GenerateResult;
  emit({
    bench: 'greedy',
    cache: false,
    ...shape,
    new_tokens: NC,
    seconds: +noCache.toFixed(3),
    tokens_per_s: +(NC / noCache).toFixed(2),
    cache_speedup: +(noCache / cachedSame).toFixed(2),
    same_tokens: outA.ids.every((t, i) => t === outB!.ids[i]),
    machine: machine(),
  });
  await batched();
  model.dispose();
  await searchOverhead(config.vocabSize);
}

/** The search itself (processors, log-softmax, candidate selection) on GPT-2's vocabulary, no network. */
async function searchOverhead(vocab: number) {
  const fake = fakeLM(vocab);
  const steps = 64;
  await generate(fake, [1], { maxNewTokens: 8 }); // JIT warm-up
  await generate(fake, [1], { type: 'beam', numBeams: 4, maxNewTokens: 8 });
  await generate(fake, [1], { type: 'sample', seed: 1, topK: 50, topP: 0.95, maxNewTokens: 8 });
  const g = await timed(() => generate(fake, [1], { maxNewTokens: steps }));
  const b = await timed(() => generate(fake, [1], { type: 'beam', numBeams: 4, maxNewTokens: steps }));
  const s = await timed(() =>
    generate(fake, [1], { type: 'sample', seed: 1, topK: 50, topP: 0.95, temperature: 0.8, repetitionPenalty: 1.1, maxNewTokens: steps }),
  );
  emit({
    bench: 'search-overhead',
    vocab,
    greedy_ms_per_step: +((g * 1000) / steps).toFixed(3),
    beam4_ms_per_step: +((b * 1000) / steps).toFixed(3),
    sample_topk_topp_ms_per_step: +((s * 1000) / steps).toFixed(3),
  });
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
