// Beam search over the model's beam cache (the beams as rows of one GPT.beamStep, reordering copies nothing)
// (`beamCache: true`) against the default path (a KVCache whose rows are gathered on every reorder): the same
// beams, finish reasons and, up to float rounding, the same scores — with EOS, length penalties, processors, the
// window sliding past the context, a sparse model's fallback; the prompt prefilled once; no tensor leaks.
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { generateAll, gptLanguageModel, type GenerateOptions, type GenerateResult } from '../src';

let tiny: GPT;
let sparse: GPT;
beforeAll(async () => {
  await initBackend();
  tiny = GPT.create(getPreset('gpt2-small', { vocabSize: 97, nPositions: 24, nEmbd: 32, nLayer: 2, nHead: 4 }), { seed: 3 });
  const attention = [{ type: 'dense' as const }, { type: 'local' as const, window: 4 }];
  sparse = GPT.create(getPreset('gpt2-small', { vocabSize: 97, nPositions: 24, nEmbd: 32, nLayer: 2, nHead: 4, attention }), { seed: 4 });
});
afterAll(() => {
  tiny?.dispose();
  sparse?.dispose();
});

/** A GPT seen through the adapter's interface, counting what reaches the model. */
function counted(m: GPT) {
  const calls = { forward: [] as number[][], beamStep: [] as number[] };
  const model = {
    config: m.config,
    createCache: (b: number) => m.createCache(b),
    createBeamCache: () => m.createBeamCache(),
    forward: (ids: tf.Tensor2D, o?: Parameters<GPT['forward']>[1]) => {
      calls.forward.push(ids.shape.slice());
      return m.forward(ids, o);
    },
    beamStep: (t: ArrayLike<number>, c: NonNullable<ReturnType<GPT['createBeamCache']>>) => {
      calls.beamStep.push(t.length);
      return m.beamStep(t, c);
    },
  };
  return { model, calls };
}

function expectSameBeams(a: GenerateResult[], b: GenerateResult[]): void {
  expect(a.map((r) => r.ids)).toEqual(b.map((r) => r.ids));
  expect(a.map((r) => r.finishReason)).toEqual(b.map((r) => r.finishReason));
  a.forEach((r, i) => {
    // the attention sums the same terms plus exact zeros in another grouping: float rounding, not more
    expect(Math.abs(r.score - b[i]!.score)).toBeLessThan(1e-5);
    expect(Math.abs(r.beamScore! - b[i]!.beamScore!)).toBeLessThan(1e-5);
    r.logprobs.forEach((lp, j) => expect(Math.abs(lp - b[i]!.logprobs[j]!)).toBeLessThan(1e-5));
  });
}

const CASES: [string, number[], GenerateOptions][] = [
  ['4 beams, all returned', [5, 9, 14, 2, 77], { numBeams: 4, numReturnSequences: 4, lengthPenalty: 0, maxNewTokens: 12 }],
  [
    '3 beams, EOS in reach, length penalty 0.6',
    [3, 1, 4, 1, 5],
    { numBeams: 3, numReturnSequences: 3, eosTokenId: [7, 11, 20], lengthPenalty: 0.6, maxNewTokens: 12 },
  ],
  ['early stopping', [8, 8, 8], { numBeams: 3, eosTokenId: [7, 11, 20], earlyStopping: true, maxNewTokens: 10 }],
  ['processors', [2, 7, 1, 8], { numBeams: 4, numReturnSequences: 2, repetitionPenalty: 1.5, noRepeatNgramSize: 2, maxNewTokens: 10 }],
  [
    'past the context: the window slides',
    [5, 9, 14, 2, 77, 3, 3],
    { numBeams: 4, numReturnSequences: 4, lengthPenalty: 0, maxNewTokens: 24 },
  ],
  ['one beam', [1, 2, 3], { numBeams: 1, lengthPenalty: 0, maxNewTokens: 8 }],
];

describe('beam cache == gathered KVCache (the default path)', () => {
  test.each(CASES)('%s', async (_, prompt, opts) => {
    const { model, calls } = counted(tiny);
    const fast = await generateAll(gptLanguageModel(model, { beamCache: true }), prompt, { type: 'beam', ...opts });
    const before = await generateAll(gptLanguageModel(tiny), prompt, { type: 'beam', ...opts });
    expectSameBeams(fast, before);
    expect(calls.beamStep.length).toBeGreaterThan(0); // the beam cache ran
  });

  test('a model without a beam cache (sparse layers) runs the plain session', async () => {
    const opts: GenerateOptions = { type: 'beam', numBeams: 3, numReturnSequences: 3, lengthPenalty: 0, maxNewTokens: 8 };
    expect(sparse.createBeamCache()).toBeNull();
    expectSameBeams(
      await generateAll(gptLanguageModel(sparse, { beamCache: true }), [4, 5, 6], opts),
      await generateAll(gptLanguageModel(sparse), [4, 5, 6], opts),
    );
  });
});

test('the prompt runs once for one row; then one beamStep per step over every live beam (opt-in)', async () => {
  const { model, calls } = counted(tiny);
  const opts: GenerateOptions = { type: 'beam', numBeams: 3, lengthPenalty: 0, maxNewTokens: 5 };
  await generateAll(gptLanguageModel(model, { beamCache: true }), [5, 9, 14, 2, 77], opts);
  expect(calls.forward).toEqual([[1, 5]]);
  expect(calls.beamStep).toEqual([3, 3, 3, 3]);
  // by default the numerics stay those of the gathered KVCache: no beamStep
  calls.forward.length = 0;
  calls.beamStep.length = 0;
  await generateAll(gptLanguageModel(model), [5, 9, 14, 2, 77], opts);
  expect(calls.beamStep).toEqual([]);
  expect(calls.forward).toEqual([
    [1, 5],
    [3, 1],
    [3, 1],
    [3, 1],
    [3, 1],
  ]);
});

test('no tensor leaks: the count is flat across steps and back where it started', async () => {
  const lm = gptLanguageModel(tiny, { beamCache: true });
  const opts: GenerateOptions = { type: 'beam', numBeams: 4, lengthPenalty: 0, maxNewTokens: 14 };
  await generateAll(lm, [1, 2, 3, 4], opts); // warm-up: masks cached once per prompt length
  const before = tf.memory().numTensors;
  const perStep: number[] = [];
  const probe = (scores: Float64Array) => {
    perStep.push(tf.memory().numTensors);
    return scores;
  };
  await generateAll(lm, [1, 2, 3, 4], { ...opts, logitsProcessors: [probe] });
  expect(perStep.length).toBeGreaterThan(4 * 10);
  expect(new Set(perStep).size).toBe(1); // the cache holds the same number of tensors at every step
  expect(tf.memory().numTensors).toBe(before);
});
