import { generate, resultToJSON, strategyFromJSON, StrategyError, DEFAULT_STRATEGY, type GenerateResult } from '../src';
import { fakeModel } from './helpers/fake';

const bad = (obj: unknown, field: string, re: RegExp, vocabSize?: number) => {
  let err: unknown;
  try {
    strategyFromJSON(obj, { vocabSize });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StrategyError);
  expect((err as StrategyError).field).toBe(field);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).toContain(field);
};

describe('strategyFromJSON', () => {
  test('defaults and inference of the search type', () => {
    expect(strategyFromJSON({})).toEqual(DEFAULT_STRATEGY);
    expect(strategyFromJSON({ numBeams: 4 }).type).toBe('beam');
    expect(strategyFromJSON({ do_sample: true, top_k: 50 }).type).toBe('sample');
  });

  test('accepts camelCase, Hugging Face snake_case and OpenAI names', () => {
    const s = strategyFromJSON({
      type: 'beam',
      num_beams: 4,
      length_penalty: 0.6,
      early_stopping: 'never',
      num_return_sequences: 2,
      max_new_tokens: 9,
      no_repeat_ngram_size: 3,
      bad_words_ids: [[1], [2, 3]],
      eos_token_id: 50256,
      stop: '\n',
      logit_bias: { '50256': -100 },
      repetition_penalty: 1.1,
    });
    expect(s).toMatchObject({
      type: 'beam',
      numBeams: 4,
      lengthPenalty: 0.6,
      earlyStopping: 'never',
      numReturnSequences: 2,
      maxNewTokens: 9,
      noRepeatNgramSize: 3,
      badWordsIds: [[1], [2, 3]],
      eosTokenId: [50256],
      stopStrings: ['\n'],
      logitBias: [[50256, -100]],
      repetitionPenalty: 1.1,
    });
    expect(strategyFromJSON({ logitBias: [[3, 1.5]] }).logitBias).toEqual([[3, 1.5]]);
    // a validated strategy is a fixed point
    expect(strategyFromJSON(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  test('clear errors naming the bad field', () => {
    bad(null, '(root)', /JSON object/);
    bad({ type: 'nucleus' }, 'type', /'greedy', 'beam' or 'sample'/);
    bad({ topk: 5, type: 'sample' }, 'topk', /did you mean 'topK'/);
    bad({ temprature: 1 }, 'temprature', /did you mean 'temperature'/);
    bad({ type: 'sample', topP: 1.5 }, 'topP', /\(0, 1\]/);
    bad({ type: 'sample', topK: 2.5 }, 'topK', /integer/);
    bad({ type: 'sample', temperature: -1 }, 'temperature', />= 0/);
    bad({ type: 'sample', top_p: 'high' }, 'top_p', /got "high"/);
    bad({ maxNewTokens: -1 }, 'maxNewTokens', />= 0/);
    bad({ type: 'beam', numBeams: 0 }, 'numBeams', />= 1/);
    bad({ type: 'beam', numBeams: 2, numReturnSequences: 3 }, 'numReturnSequences', /<= numBeams/);
    bad({ type: 'greedy', numReturnSequences: 2 }, 'numReturnSequences', /greedy/);
    bad({ type: 'greedy', topK: 5 }, 'topK', /only to type 'sample'/);
    bad({ type: 'beam', numBeams: 2, temperature: 0.7 }, 'temperature', /only to type 'sample'/);
    bad({ type: 'sample', lengthPenalty: 0.6 }, 'lengthPenalty', /only to type 'beam'/);
    bad({ type: 'greedy', numBeams: 3 }, 'numBeams', /applies only to type 'beam' \(this strategy is 'greedy'\)/);
    bad({ earlyStopping: 'yes', type: 'beam', numBeams: 2 }, 'earlyStopping', /true, false or 'never'/);
    bad({ badWordsIds: [1, 2] }, 'badWordsIds[0]', /non-empty array/);
    bad({ badWordsIds: [[1, 99]] }, 'badWordsIds[0][1]', /outside the vocabulary \[0, 50\)/, 50);
    bad({ logitBias: { x: 1 } }, 'logitBias["x"]', /token id/);
    bad({ logitBias: { '3': 'big' } }, 'logitBias[3]', /number/);
    bad({ eos_token_id: 70000 }, 'eos_token_id', /outside the vocabulary/, 50257);
    bad({ stopStrings: [''] }, 'stopStrings[0]', /non-empty string/);
    bad({ top_k: 3, topK: 4, type: 'sample' }, 'topK', /given twice/);
    bad({ type: 'beam', doSample: true }, 'doSample', /contradicts/);
  });

  test('neutral values of other searches are accepted (a CLI may always send its defaults)', () => {
    expect(strategyFromJSON({ type: 'beam', numBeams: 2, seed: 5 }).seed).toBe(5);
    expect(() => strategyFromJSON({ type: 'greedy', temperature: 1, topP: 1, topK: 0, lengthPenalty: 1 })).not.toThrow();
  });
});

describe('generate: option and prompt checks', () => {
  const m = fakeModel({ vocabSize: 20, seed: 1 });
  test('prompt ids are validated against the model vocabulary', async () => {
    await expect(generate(m, [], {})).rejects.toThrow(/promptIds must be a non-empty/);
    await expect(generate(m, [1, 25], {})).rejects.toThrow(/promptIds\[1\] = 25 is not a token id in \[0, 20\)/);
    await expect(generate(m, [1], { badWordsIds: [[30]] })).rejects.toThrow(/badWordsIds\[0\]\[0\]/);
  });
  test('stop strings require a tokenizer', async () => {
    await expect(generate(m, [1], { stopStrings: ['x'] })).rejects.toThrow(/stopStrings.*tokenizer/);
  });
  test('every token banned is a clear error', async () => {
    const all = Array.from({ length: 20 }, (_, i) => [i]);
    await expect(generate(m, [1], { badWordsIds: all })).rejects.toThrow(/removed every token/);
    expect(m.stats.open).toBe(0); // the session was released on error
  });
  test('result JSON has exactly the playground fields', async () => {
    const r = (await generate(m, [1, 2], { maxNewTokens: 5 })) as GenerateResult;
    expect(Object.keys(resultToJSON(r))).toEqual(['ids', 'text', 'logprobs', 'score', 'finishReason']);
    expect(r.ids).toHaveLength(5);
    expect(r.finishReason).toBe('length');
    expect(r.score).toBeCloseTo(
      r.logprobs.reduce((a, b) => a + b, 0),
      12,
    );
    const none = (await generate(m, [1, 2], { maxNewTokens: 0 })) as GenerateResult;
    expect(none).toEqual({ ids: [], text: '', logprobs: [], score: 0, finishReason: 'length' });
  });
  test('greedy logprobs are the raw log-softmax even when processors change the choice', async () => {
    const r = (await generate(m, [1, 2], { maxNewTokens: 6, repetitionPenalty: 3, noRepeatNgramSize: 1 })) as GenerateResult;
    expect(new Set(r.ids).size).toBe(6);
    r.ids.forEach((t, i) => expect(r.logprobs[i]).toBeCloseTo(m.logprobsOf([1, 2, ...r.ids.slice(0, i)])[t], 10));
  });
});
