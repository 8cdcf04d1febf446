// Continuous batching throughput: `pnpm --filter @gptlab/decoding bench -- --json --only batched`
// (also the last part of the full bench). GPT-2 small shape (random weights), 32-token prompts, 64 new greedy
// tokens: one request alone through generate(), then `--rows` (8) concurrent requests through one
// BatchedGenerator. Reports aggregate tokens/s of each, the ratio, whether every request's ids equal its run
// alone, and where the batched time went (prompt prefills, batched forwards, token picking).
// Flags: --rows N (8) --prompt N (32) --new N (64) --layers N.
import { emit, machine } from '@gptlab/bench-utils';
import type { GPT } from '@gptlab/model';
import { BatchedGenerator, generate, gptLanguageModel, type GenerateResult } from '../src';

export interface BatchedBenchOptions {
  rows: number;
  prompt: number;
  newTokens: number;
  shape: Record<string, unknown>;
}

const seconds = (ms: number) => +(ms / 1000).toFixed(3);

export async function batchedBench(model: GPT, o: BatchedBenchOptions): Promise<void> {
  const V = model.config.vocabSize;
  const { batch: _one, ...shape } = o.shape; // `rows` says how many sequences run together
  // different prompts (same length), so the rows do not all take the same tokens
  const prompts = Array.from({ length: o.rows }, (_, r) => Array.from({ length: o.prompt }, (_, i) => (i * 7919 + 13 + r * 104729) % V));
  const lm = gptLanguageModel(model);
  const strategy = { maxNewTokens: o.newTokens };
  await generate(lm, prompts[0]!, { maxNewTokens: 2 }); // warm-up

  let t0 = performance.now();
  const single = (await generate(lm, prompts[0]!, strategy)) as GenerateResult;
  const singleS = (performance.now() - t0) / 1000;
  const singleTps = o.newTokens / singleS;
  emit({ bench: 'batched', rows: 1, ...shape, new_tokens: o.newTokens, seconds: +singleS.toFixed(3), tokens_per_s: +singleTps.toFixed(2) });

  const gen = new BatchedGenerator(model, { maxBatch: o.rows });
  await gen.add({ ids: prompts[1]!, maxNewTokens: 2 }); // warm-up of the batched kernels
  const warm = gen.stats;
  t0 = performance.now();
  const results = await Promise.all(prompts.map((ids) => gen.add({ ids, ...strategy })));
  const batchedS = (performance.now() - t0) / 1000;
  const st = gen.stats;
  const tokens = st.tokens - warm.tokens;
  const batchedTps = tokens / batchedS;
  // the first row is the single run's request: same ids; the others are checked alone on a few tokens
  const few = Math.min(8, o.newTokens);
  const alone = await Promise.all(
    prompts.slice(1, 3).map(async (ids) => (await generate(lm, ids, { maxNewTokens: few })) as GenerateResult),
  );
  const sameIds =
    results[0]![0]!.ids.join() === single.ids.join() &&
    alone.every((a, i) => a.ids.join() === results[i + 1]![0]!.ids.slice(0, few).join());
  const steps = st.steps - warm.steps;
  const stepMs = st.stepMs - warm.stepMs;
  emit({
    bench: 'batched',
    rows: o.rows,
    ...shape,
    new_tokens: o.newTokens,
    seconds: +batchedS.toFixed(3),
    tokens_per_s: +batchedTps.toFixed(2),
    speedup_vs_1: +(batchedTps / singleTps).toFixed(2),
    same_ids_as_alone: sameIds,
    steps,
    prefill_s: seconds(st.prefillMs - warm.prefillMs),
    batched_forward_s: seconds(stepMs),
    ms_per_batched_step: +(stepMs / steps).toFixed(1),
    pick_s: seconds(st.pickMs - warm.pickMs),
    decode_tokens_per_s: +((o.rows * (o.newTokens - 1)) / (stepMs / 1000)).toFixed(2),
    machine: machine(),
  });
  await gen.close();
}
