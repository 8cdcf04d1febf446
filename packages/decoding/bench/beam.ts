// Beam search vs greedy, per generated token, in one run: `pnpm --filter @gptlab/decoding bench -- --json --only
// beam` (also part of the full bench). GPT-2 small shape (random weights), 32-token prompt, 64 new tokens,
// batch 1; beam-4 with lengthPenalty 0 (no EOS: every beam runs all steps). Three paths over the same model:
// greedy; beam-4 over the beam cache (the beams are rows of one step, reordering copies nothing: GPT.beamStep);
// beam-4 over a plain KVCache whose rows are gathered on every reorder (the default path).
// The machine is shared, so the three run interleaved (rotating which goes first) for --rounds rounds (3) and
// each figure is the median; ratio = beam ms per token / greedy ms per token (≤ 1.4 is issue #19's target),
// best_ratio the same of each path's fastest round (the least disturbed). Per token = the whole generate() call
// (prompt prefill included, as for greedy) over the new tokens; decode_* exclude the prompt's forward (a
// one-token run of the same path, subtracted). The two beam paths must return the same beams.
import { emit, machine } from '@gptlab/bench-utils';
import type { GPT } from '@gptlab/model';
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

export async function beamBench(model: GPT, o: BeamBenchOptions): Promise<void> {
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
  const paths: [string, LanguageModel, GenerateOptions][] = [
    ['greedy', gptLanguageModel(model), greedy],
    ['beam', gptLanguageModel(model, { beamCache: true }), beam],
    ['gather', gptLanguageModel(model), beam],
  ];
  const total: Record<string, number[]> = { greedy: [], beam: [], gather: [] };
  const first: Record<string, number[]> = { greedy: [], beam: [], gather: [] };
  const results: Record<string, Awaited<ReturnType<typeof generateAll>>> = {};
  for (const [, lm, opts] of paths) await generateAll(lm, prompt, { ...opts, maxNewTokens: 3 }); // warm-up
  for (let round = 0; round < o.rounds; round++) {
    // each round starts with another path, so no path always runs right after the same one
    const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
    for (const [name, lm, opts] of order) {
      let t0 = performance.now();
      await generateAll(lm, prompt, { ...opts, maxNewTokens: 1 });
      first[name]!.push(performance.now() - t0);
      t0 = performance.now();
      results[name] = await generateAll(lm, prompt, opts);
      total[name]!.push(performance.now() - t0);
    }
  }
  const N = o.newTokens;
  const perToken = (name: string) => median(total[name]!) / N;
  const bestPerToken = (name: string) => Math.min(...total[name]!) / N;
  const decodePerToken = (name: string) => median(total[name]!.map((t, i) => (t - first[name]![i]!) / (N - 1)));
  const b = results.beam!;
  const g = results.gather!;
  let maxScoreDiff = 0;
  b.forEach((r, i) => (maxScoreDiff = Math.max(maxScoreDiff, Math.abs(r.score - g[i]!.score))));
  emit({
    bench: 'beam',
    num_beams: o.beams,
    ...o.shape,
    new_tokens: N,
    rounds: o.rounds,
    greedy_ms_per_token: ms(perToken('greedy')),
    beam_ms_per_token: ms(perToken('beam')),
    ratio: +(perToken('beam') / perToken('greedy')).toFixed(3),
    best_ratio: +(bestPerToken('beam') / bestPerToken('greedy')).toFixed(3),
    decode_greedy_ms_per_token: ms(decodePerToken('greedy')),
    decode_beam_ms_per_token: ms(decodePerToken('beam')),
    decode_ratio: +(decodePerToken('beam') / decodePerToken('greedy')).toFixed(3),
    gather_beam_ms_per_token: ms(perToken('gather')),
    gather_ratio: +(perToken('gather') / perToken('greedy')).toFixed(3),
    same_beams_as_gather: b.length === g.length && b.every((r, i) => r.ids.join() === g[i]!.ids.join()),
    max_score_diff_vs_gather: +maxScoreDiff.toExponential(2),
    machine: machine(),
  });
}
