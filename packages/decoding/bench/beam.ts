// Beam search vs greedy, per generated token, in one run: `pnpm --filter @gptlab/decoding bench -- --json --only
// beam` (also part of the full bench). GPT-2 small shape (random weights), 32-token prompt, 64 new tokens,
// batch 1; beam-4 with lengthPenalty 0 (no EOS: every beam runs all steps). Three paths over the same model:
// greedy and beam-4 on the plain KVCache session — both native where @gptlab/tensor-native is built
// (enableNativeDecoding: greedy one one-row call per token, beam-4 one 4-row call per step with the beams' caches
// reordered natively), else both tfjs (`--tfjs` forces it; `decode_path` says which) — and beam-4 over the tfjs
// beam cache (GPT.beamStep), the reference the beams are checked against (same beams, score difference).
// The machine is shared, so the paths run interleaved (rotating which goes first) for --rounds rounds (3); each
// figure is the median over rounds, best_* the fastest round (the least disturbed), others_cores_rounds the other
// processes' load at each round's start. ratio = beam ms per token / greedy ms per token (≤ 1.4 is issue #19's
// target). Per token = the whole generate() call (prompt prefill included, as for greedy) over the new tokens;
// decode_* exclude the prompt's forward (a one-token run of the same path, subtracted). Where a decode token's
// time goes (from the session's calls): the model step (feed: the native call + reading the logits), the cache
// reorder (with how many rows it copied per step) and the rest, which is the search itself (candidate pick over
// beams × V logits, bookkeeping).
import { emit, machine, othersCores, parseFlags } from '@gptlab/bench-utils';
import { enableNativeDecoding, disableNativeDecoding, type GPT } from '@gptlab/model';
import { generateAll, gptLanguageModel, type GenerateOptions, type LanguageModel } from '../src';

export interface BeamBenchOptions {
  prompt: number;
  newTokens: number;
  rounds: number;
  beams: number;
  shape: Record<string, unknown>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => +x.toFixed(2);

/** Time spent in a language model's session calls since the last reset (prompt feeds kept apart). */
interface CallTimes {
  promptMs: number;
  stepMs: number;
  steps: number;
  reorderMs: number;
  reorders: number;
  /** Rows the reorders repeated (each repeat is one copied row cache). */
  copies: number;
}

/** `lm` with its sessions' feed and reorder calls timed into `t`. */
function timedLM(lm: LanguageModel, t: CallTimes): LanguageModel {
  return {
    ...lm,
    start(batch) {
      const s = lm.start(batch);
      let fed = false;
      return {
        async feed(tokens) {
          const t0 = performance.now();
          const out = await s.feed(tokens);
          const dt = performance.now() - t0;
          if (fed) {
            t.stepMs += dt;
            t.steps++;
          } else t.promptMs += dt;
          fed = true;
          return out;
        },
        reorder(idx) {
          const t0 = performance.now();
          s.reorder(idx);
          t.reorderMs += performance.now() - t0;
          t.reorders++;
          t.copies += idx.length - new Set(idx).size;
        },
        dispose: () => s.dispose(),
      };
    },
  };
}

const zero = (): CallTimes => ({ promptMs: 0, stepMs: 0, steps: 0, reorderMs: 0, reorders: 0, copies: 0 });

export async function beamBench(model: GPT, o: BeamBenchOptions): Promise<void> {
  const status = parseFlags().tfjs === true ? { active: false, detail: '--tfjs' } : enableNativeDecoding(model);
  const decodePath = status.active ? `greedy and beam both ${status.detail}` : `greedy and beam both tfjs (${status.detail})`;
  const V = model.config.vocabSize;
  const prompt = Array.from({ length: o.prompt }, (_, i) => (i * 7919 + 13) % V);
  const greedy: GenerateOptions = { maxNewTokens: o.newTokens };
  const beam: GenerateOptions = {
    type: 'beam',
    numBeams: o.beams,
    numReturnSequences: o.beams,
    lengthPenalty: 0,
    maxNewTokens: o.newTokens,
  };
  const names = ['greedy', 'beam', 'beam_cache_tfjs'] as const;
  type Name = (typeof names)[number];
  const calls = Object.fromEntries(names.map((n) => [n, [] as CallTimes[]])) as Record<Name, CallTimes[]>;
  const live = Object.fromEntries(names.map((n) => [n, zero()])) as Record<Name, CallTimes>;
  const paths: [Name, LanguageModel, GenerateOptions][] = [
    ['greedy', timedLM(gptLanguageModel(model), live.greedy), greedy],
    ['beam', timedLM(gptLanguageModel(model), live.beam), beam],
    ['beam_cache_tfjs', timedLM(gptLanguageModel(model, { beamCache: true }), live.beam_cache_tfjs), beam],
  ];
  const total = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
  const first = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
  const results: Partial<Record<Name, Awaited<ReturnType<typeof generateAll>>>> = {};
  const others: number[] = [];
  for (const [, lm, opts] of paths) await generateAll(lm, prompt, { ...opts, maxNewTokens: 3 }); // warm-up
  for (let round = 0; round < o.rounds; round++) {
    others.push(+(othersCores(100) ?? NaN).toFixed(2));
    // each round starts with another path, so no path always runs right after the same one
    const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
    for (const [name, lm, opts] of order) {
      let t0 = performance.now();
      await generateAll(lm, prompt, { ...opts, maxNewTokens: 1 });
      first[name].push(performance.now() - t0);
      Object.assign(live[name], zero());
      t0 = performance.now();
      results[name] = await generateAll(lm, prompt, opts);
      total[name].push(performance.now() - t0);
      calls[name].push({ ...live[name] });
    }
  }
  if (status.active) disableNativeDecoding(model);
  const N = o.newTokens;
  const perToken = (n: Name) => median(total[n]) / N;
  const bestPerToken = (n: Name) => Math.min(...total[n]) / N;
  const decodePerToken = (n: Name) => median(total[n].map((t, i) => (t - first[n][i]!) / (N - 1)));
  /** Per decode step, medians over rounds: model step, reorder, the search's own time, rows copied. */
  const split = (n: Name) => {
    const per = (f: (c: CallTimes, i: number) => number) => ms(median(calls[n].map((c, i) => f(c, i) / Math.max(c.steps, 1))));
    return {
      step_ms: per((c) => c.stepMs),
      reorder_ms: per((c) => c.reorderMs),
      search_ms: per((c, i) => total[n][i]! - c.promptMs - c.stepMs - c.reorderMs),
      rows_copied_per_step: +median(calls[n].map((c) => c.copies / Math.max(c.reorders, 1))).toFixed(2),
    };
  };
  const b = results.beam!;
  const ref = results.beam_cache_tfjs!;
  let maxScoreDiff = 0;
  b.forEach((r, i) => (maxScoreDiff = Math.max(maxScoreDiff, Math.abs(r.score - ref[i]!.score))));
  emit({
    bench: 'beam',
    num_beams: o.beams,
    ...o.shape,
    new_tokens: N,
    rounds: o.rounds,
    decode_path: decodePath,
    greedy_ms_per_token: ms(perToken('greedy')),
    beam_ms_per_token: ms(perToken('beam')),
    ratio: +(perToken('beam') / perToken('greedy')).toFixed(3),
    best_ratio: +(bestPerToken('beam') / bestPerToken('greedy')).toFixed(3),
    target_ratio: 1.4,
    decode_greedy_ms_per_token: ms(decodePerToken('greedy')),
    decode_beam_ms_per_token: ms(decodePerToken('beam')),
    decode_ratio: +(decodePerToken('beam') / decodePerToken('greedy')).toFixed(3),
    greedy_split: split('greedy'),
    beam_split: split('beam'),
    beam_cache_tfjs_ms_per_token: ms(perToken('beam_cache_tfjs')),
    beam_cache_tfjs_ratio: +(perToken('beam_cache_tfjs') / perToken('greedy')).toFixed(3),
    same_beams_as_tfjs: b.length === ref.length && b.every((r, i) => r.ids.join() === ref[i]!.ids.join()),
    max_score_diff_vs_tfjs: +maxScoreDiff.toExponential(2),
    others_cores_rounds: others,
    machine: machine(),
  });
}
