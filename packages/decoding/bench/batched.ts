// Continuous batching throughput: `pnpm --filter @gptlab/decoding bench -- --json --only batched`
// (also the last part of the full bench). GPT-2 small shape (random weights), 32-token prompts, 64 new greedy
// tokens: one request alone through generate(), then `--rows` (8) concurrent requests through one
// BatchedGenerator — first as before batched prefill (the model seen without prefillBatched: one prompt
// forward each), then with it (every prompt in one forward). Both sides decode on the same path: natively where
// @gptlab/tensor-native is built (the one-row step for generate(), the R-row step for the batch: one addon call per
// step for all rows), else — or with --tfjs — on tfjs; the `decode_path` field says which. `--rounds` (3) rounds
// alternate single and batched runs so all see the same machine load; one JSON line per prefill variant with the
// medians and [min, max] over rounds of aggregate tokens/s, the ratio to one sequence (speedup_vs_1; same-round
// ratios) and per sequence (per_sequence_vs_single), whether every request's ids equal its run alone, where the
// batched time went (prompt prefills, batched forwards, token picking) and the other processes' load per round.
// Flags: --rows N (8) --prompt N (32) --new N (64) --layers N --rounds N (3) --tfjs.
import { emit, machine, othersCores, parseFlags } from '@gptlab/bench-utils';
import { enableNativeDecoding, disableNativeDecoding, type GPT } from '@gptlab/model';
import { BatchedGenerator, generate, gptLanguageModel, type BatchedGPTLike, type GenerateResult } from '../src';

/** What the generator sees of a GPT. */
type Subject = BatchedGPTLike<ReturnType<GPT['createCache']>, ReturnType<GPT['createBatchedCache']>>;

export interface BatchedBenchOptions {
  rows: number;
  prompt: number;
  newTokens: number;
  shape: Record<string, unknown>;
}

const r3 = (x: number) => +x.toFixed(3);
const median = (a: number[]) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2]! : (b[b.length / 2 - 1]! + b[b.length / 2]!) / 2;
};
/** Median and [min, max], rounded. */
const summary = (a: number[]) => ({ median: r3(median(a)), spread: [r3(Math.min(...a)), r3(Math.max(...a))] });

/** One batched run's figures. */
interface BatchedRound {
  tps: number;
  sameIds: boolean;
  steps: number;
  prefills: number;
  prefillS: number;
  forwardS: number;
  pickS: number;
}

export async function batchedBench(model: GPT, o: BatchedBenchOptions): Promise<void> {
  const flags = parseFlags();
  const rounds = typeof flags.rounds === 'string' ? Number(flags.rounds) : 3;
  const status = flags.tfjs === true ? { active: false, detail: '--tfjs' } : enableNativeDecoding(model);
  const decodePath = `both sides: ${status.active ? status.detail : `tfjs (${status.detail})`}`;
  const V = model.config.vocabSize;
  const { batch: _one, ...shape } = o.shape; // `rows` says how many sequences run together
  // different prompts (same length), so the rows do not all take the same tokens
  const prompts = Array.from({ length: o.rows }, (_, r) => Array.from({ length: o.prompt }, (_, i) => (i * 7919 + 13 + r * 104729) % V));
  const lm = gptLanguageModel(model);
  await generate(lm, prompts[0]!, { maxNewTokens: 2 }); // warm-up
  const variants = ['one-by-one', 'batched'] as const;
  const singleTps: number[] = [];
  const others: number[] = [];
  const runs = new Map<string, BatchedRound[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    others.push(r3(othersCores(100) ?? NaN));
    const t0 = performance.now();
    const single = (await generate(lm, prompts[0]!, { maxNewTokens: o.newTokens })) as GenerateResult;
    singleTps.push(o.newTokens / ((performance.now() - t0) / 1000));
    for (const prefill of variants) {
      // before batched prefill: the same model seen without prefillBatched (one prompt forward each)
      const subject: Subject = prefill === 'batched' ? model : withoutBatchedPrefill(model);
      runs.get(prefill)!.push(await batchedRun(subject, { single, prompts, lm, o }));
    }
  }
  emit({ bench: 'batched', rows: 1, ...shape, new_tokens: o.newTokens, rounds, tokens_per_s: summary(singleTps), decode_path: decodePath });
  for (const prefill of variants) {
    const rs = runs.get(prefill)!;
    const ratios = rs.map((r, i) => r.tps / singleTps[i]!);
    const sum = (f: (r: BatchedRound) => number) => rs.reduce((a, r) => a + f(r), 0);
    emit({
      bench: 'batched',
      rows: o.rows,
      prefill,
      ...shape,
      new_tokens: o.newTokens,
      rounds,
      tokens_per_s: summary(rs.map((r) => r.tps)),
      speedup_vs_1: summary(ratios),
      per_sequence_vs_single: summary(ratios.map((x) => x / o.rows)),
      target_speedup: 5,
      same_ids_as_alone: rs.every((r) => r.sameIds),
      steps: rs[0]!.steps,
      prefill_forwards: rs[0]!.prefills,
      // per round, averaged
      prefill_s: r3(sum((r) => r.prefillS) / rounds),
      batched_forward_s: r3(sum((r) => r.forwardS) / rounds),
      ms_per_batched_step: +((1000 * sum((r) => r.forwardS)) / sum((r) => r.steps)).toFixed(2),
      pick_s: r3(sum((r) => r.pickS) / rounds),
      decode_path: decodePath,
      others_cores_rounds: others,
      machine: machine(),
    });
  }
  if (status.active) disableNativeDecoding(model);
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
  prompts: number[][];
  lm: ReturnType<typeof gptLanguageModel>;
  o: BatchedBenchOptions;
}

/** `rows` concurrent requests through one BatchedGenerator over `model`. */
async function batchedRun(model: Subject, ctx: RunContext): Promise<BatchedRound> {
  const { single, prompts, lm, o } = ctx;
  const strategy = { maxNewTokens: o.newTokens };
  const gen = new BatchedGenerator(model, { maxBatch: o.rows });
  await gen.add({ ids: prompts[1]!, maxNewTokens: 2 }); // warm-up of the batched kernels
  const warm = gen.stats;
  const t0 = performance.now();
  const results = await Promise.all(prompts.map((ids) => gen.add({ ids, ...strategy })));
  const batchedS = (performance.now() - t0) / 1000;
  const st = gen.stats;
  // the first row is the single run's request: same ids; the others are checked alone on a few tokens
  const few = Math.min(8, o.newTokens);
  const alone = await Promise.all(
    prompts.slice(1, 3).map(async (ids) => (await generate(lm, ids, { maxNewTokens: few })) as GenerateResult),
  );
  const sameIds =
    results[0]![0]!.ids.join() === single.ids.join() &&
    alone.every((a, i) => a.ids.join() === results[i + 1]![0]!.ids.slice(0, few).join());
  await gen.close();
  return {
    tps: (st.tokens - warm.tokens) / batchedS,
    sameIds,
    steps: st.steps - warm.steps,
    prefills: st.prefills - warm.prefills,
    prefillS: (st.prefillMs - warm.prefillMs) / 1000,
    forwardS: (st.stepMs - warm.stepMs) / 1000,
    pickS: (st.pickMs - warm.pickMs) / 1000,
  };
}
