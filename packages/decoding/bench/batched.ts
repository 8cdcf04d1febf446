// Continuous batching throughput: `pnpm --filter @gptlab/decoding bench -- --json --only batched`
// (also the last part of the full bench). GPT-2 small shape (random weights), 32-token prompts, 64 new greedy
// tokens: one request alone through generate(), then `--rows` (8) concurrent requests through one
// BatchedGenerator — first as before batched prefill (the model seen without prefillBatched: one prompt
// forward each), then with it (every prompt in one forward), in the same run window. Reports aggregate
// tokens/s of each, the ratio to one sequence (speedup_vs_1) and per sequence (per_sequence_vs_single: a
// batched row's tokens/s over single-stream's), whether every request's ids equal its run alone, and where the
// batched time went (prompt prefills, batched forwards, token picking).
// Flags: --rows N (8) --prompt N (32) --new N (64) --layers N.
import { emit, machine } from '@gptlab/bench-utils';
import type { GPT } from '@gptlab/model';
import { BatchedGenerator, generate, gptLanguageModel, type BatchedGPTLike, type GenerateResult } from '../src';

/** What the generator sees of a GPT. */
type Subject = BatchedGPTLike<ReturnType<GPT['createCache']>, ReturnType<GPT['createBatchedCache']>>;

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
  await generate(lm, prompts[0]!, { maxNewTokens: 2 }); // warm-up

  const t0 = performance.now();
  const single = (await generate(lm, prompts[0]!, { maxNewTokens: o.newTokens })) as GenerateResult;
  const singleS = (performance.now() - t0) / 1000;
  const singleTps = o.newTokens / singleS;
  emit({ bench: 'batched', rows: 1, ...shape, new_tokens: o.newTokens, seconds: +singleS.toFixed(3), tokens_per_s: +singleTps.toFixed(2) });

  for (const prefill of ['one-by-one', 'batched'] as const) {
    // before batched prefill: the same model seen without prefillBatched (one prompt forward each)
    const subject: Subject = prefill === 'batched' ? model : withoutBatchedPrefill(model);
    await batchedRun(subject, prefill, { single, singleTps, prompts, lm, o, shape });
  }
}

/** GPT's generator interface without prefillBatched: the generator's one-prompt-at-a-time admission. */
function withoutBatchedPrefill(model: GPT): Subject {
  return {
    config: model.config,
    forward: (ids, opts) => model.forward(ids, opts),
    createCache: (b) => model.createCache(b),
    createBatchedCache: () => model.createBatchedCache(),
    decodeStep: (tokens, cache) => model.decodeStep(tokens, cache),
  };
}

/** The single-stream run the batched runs compare with, and the bench's setting. */
interface RunContext {
  single: GenerateResult;
  singleTps: number;
  prompts: number[][];
  lm: ReturnType<typeof gptLanguageModel>;
  o: BatchedBenchOptions;
  shape: Record<string, unknown>;
}

/** `rows` concurrent requests through one BatchedGenerator over `model`: one JSON line. */
async function batchedRun(model: Subject, prefill: string, ctx: RunContext): Promise<void> {
  const { single, singleTps, prompts, lm, o, shape } = ctx;
  const strategy = { maxNewTokens: o.newTokens };
  const gen = new BatchedGenerator(model, { maxBatch: o.rows });
  await gen.add({ ids: prompts[1]!, maxNewTokens: 2 }); // warm-up of the batched kernels
  const warm = gen.stats;
  const t0 = performance.now();
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
    prefill,
    ...shape,
    new_tokens: o.newTokens,
    seconds: +batchedS.toFixed(3),
    tokens_per_s: +batchedTps.toFixed(2),
    speedup_vs_1: +(batchedTps / singleTps).toFixed(2),
    per_sequence_vs_single: +(batchedTps / o.rows / singleTps).toFixed(3),
    same_ids_as_alone: sameIds,
    steps,
    prefill_forwards: st.prefills - warm.prefills,
    prefill_s: seconds(st.prefillMs - warm.prefillMs),
    batched_forward_s: seconds(stepMs),
    ms_per_batched_step: +(stepMs / steps).toFixed(1),
    pick_s: seconds(st.pickMs - warm.pickMs),
    decode_tokens_per_s: +((o.rows * (o.newTokens - 1)) / (stepMs / 1000)).toFixed(2),
    machine: machine(),
  });
  await gen.close();
}
