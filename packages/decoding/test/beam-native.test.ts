// Beam search over a GPT with native decoding on (@gptlab/model's enableNativeDecoding): the plain session's cache
// fans the prompt out to the beams and steps them as ONE native call of all rows (NativeKVCache.rowsStep), reorders
// natively — and returns what the tfjs path returns: the same beams and finish reasons, scores up to float rounding,
// with EOS, length penalties, processors and the window sliding past the context; no tensor leaks.
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, NativeKVCache, disableNativeDecoding, enableNativeDecoding, getPreset } from '@gptlab/model';
import { generateAll, gptLanguageModel, type GenerateOptions, type GenerateResult } from '../src';

let model: GPT;
let available = false;
beforeAll(async () => {
  await initBackend();
  model = GPT.create(getPreset('gpt2-small', { vocabSize: 97, nPositions: 24, nEmbd: 32, nLayer: 2, nHead: 4 }), { seed: 5 });
  const status = enableNativeDecoding(model);
  available = status.active;
  // eslint-disable-next-line no-console
  if (!available) console.warn(`SKIPPED native beam search checks: ${status.detail}`);
  disableNativeDecoding(model);
});
afterAll(() => model?.dispose());

const CASES: [string, number[], GenerateOptions][] = [
  ['4 beams, all returned', [5, 9, 14, 2, 77], { numBeams: 4, numReturnSequences: 4, lengthPenalty: 0, maxNewTokens: 12 }],
  [
    '3 beams, EOS in reach, length penalty 0.6',
    [3, 1, 4, 1, 5],
    { numBeams: 3, numReturnSequences: 3, eosTokenId: [7, 11, 20], lengthPenalty: 0.6, maxNewTokens: 12 },
  ],
  ['processors', [2, 7, 1, 8], { numBeams: 4, numReturnSequences: 2, repetitionPenalty: 1.5, noRepeatNgramSize: 2, maxNewTokens: 10 }],
  [
    'past the context (24): the window slides',
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    { numBeams: 4, numReturnSequences: 4, lengthPenalty: 0, maxNewTokens: 20 },
  ],
];

function expectSameBeams(a: GenerateResult[], b: GenerateResult[]): void {
  expect(a.map((r) => r.ids)).toEqual(b.map((r) => r.ids));
  expect(a.map((r) => r.finishReason)).toEqual(b.map((r) => r.finishReason));
  a.forEach((r, i) => {
    expect(Math.abs(r.score - b[i]!.score)).toBeLessThan(1e-5);
    r.logprobs.forEach((lp, j) => expect(Math.abs(lp - b[i]!.logprobs[j]!)).toBeLessThan(1e-5));
  });
}

describe('beam search with native decoding', () => {
  test.each(CASES)('%s: the tfjs beams, its steps one native call for all beams', async (_, prompt, opts) => {
    if (!available) return;
    const want = await generateAll(gptLanguageModel(model), prompt, { type: 'beam', ...opts });
    enableNativeDecoding(model);
    const rowsStep = jest.spyOn(NativeKVCache.prototype, 'rowsStep');
    try {
      const lm = gptLanguageModel(model);
      await generateAll(lm, prompt, { type: 'beam', ...opts, maxNewTokens: 2 }); // the snapshot
      const before = tf.memory().numTensors;
      rowsStep.mockClear();
      const got = await generateAll(lm, prompt, { type: 'beam', ...opts });
      expect(tf.memory().numTensors).toBe(before);
      expectSameBeams(got, want);
      // every step after the prompt was one native call of all beams, until an EOS or the full window ends them
      const steps = opts.maxNewTokens! - 1;
      if (!opts.eosTokenId && prompt.length + steps < 24) expect(rowsStep.mock.calls.length).toBe(steps);
      else expect(rowsStep.mock.calls.length).toBeGreaterThan(0);
    } finally {
      rowsStep.mockRestore();
      disableNativeDecoding(model);
    }
  });

  test('greedy ids are unchanged by native decoding', async () => {
    if (!available) return;
    const prompt = [4, 8, 15, 16, 23];
    const want = await generateAll(gptLanguageModel(model), prompt, { maxNewTokens: 12 });
    enableNativeDecoding(model);
    try {
      const got = await generateAll(gptLanguageModel(model), prompt, { maxNewTokens: 12 });
      expect(got.map((r) => r.ids)).toEqual(want.map((r) => r.ids));
    } finally {
      disableNativeDecoding(model);
    }
  });
});
