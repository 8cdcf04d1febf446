import {
  applyProcessors,
  badWords,
  bannedNgramTokens,
  createProcessor,
  logitBias,
  minP,
  noRepeatNgram,
  presenceFrequencyPenalty,
  processorSpecs,
  repetitionPenalty,
  strategyFromJSON,
  temperature,
  topK,
  topP,
  typicalP,
  type LogitsProcessor,
} from '../src';

const base = [1, -1, 2, 0.5, -3, 0];
const run = (p: LogitsProcessor, scores: number[], tokens: number[], promptLength = 0) => {
  const s = Float64Array.from(scores);
  p(s, { tokens, promptLength });
  return Array.from(s);
};
/** Indices whose value changed. */
const changed = (a: number[], b: number[]) => a.map((v, i) => (Object.is(v, b[i]) ? -1 : i)).filter((i) => i >= 0);
const NEG = -Infinity;

describe('penalties change exactly the logits they should', () => {
  test('repetition penalty (CTRL): context tokens only, prompt included, sign-aware', () => {
    const out = run(repetitionPenalty(2), base, [0, 1, 1, 4], 1);
    expect(out).toEqual([0.5, -2, 2, 0.5, -6, 0]);
    expect(changed(base, out)).toEqual([0, 1, 4]);
    // penalty < 1 rewards repetition
    expect(run(repetitionPenalty(0.5), base, [0, 1])).toEqual([2, -0.5, 2, 0.5, -3, 0]);
  });

  test('presence / frequency penalty (OpenAI): counts over generated tokens only', () => {
    // prompt [2, 0]; generated [0, 1, 1, 3]
    const out = run(presenceFrequencyPenalty(0.5, 0.25), base, [2, 0, 0, 1, 1, 3], 2);
    expect(out).toEqual([1 - 0.75, -1 - 1, 2, 0.5 - 0.75, -3, 0]);
    expect(changed(base, out)).toEqual([0, 1, 3]);
    // presence only
    expect(run(presenceFrequencyPenalty(1, 0), base, [2, 0, 1, 1], 2)).toEqual([1, -2, 2, 0.5, -3, 0]);
  });

  test('no-repeat n-gram bans exactly the completions of repeated (n-1)-grams', () => {
    expect([...bannedNgramTokens([5, 1, 2, 5, 1], 2)]).toEqual([2]);
    expect([...bannedNgramTokens([5, 1, 2, 5], 2)].sort()).toEqual([1]);
    expect([...bannedNgramTokens([1, 2, 3, 1, 2], 3)]).toEqual([3]);
    expect([...bannedNgramTokens([1, 2, 3, 1, 2, 4, 1, 2], 3)].sort()).toEqual([3, 4]);
    expect([...bannedNgramTokens([1, 2, 3], 3)]).toEqual([]);
    expect([...bannedNgramTokens([1, 2], 4)]).toEqual([]);
    expect([...bannedNgramTokens([3, 1, 3], 1)].sort()).toEqual([1, 3]);
    const out = run(noRepeatNgram(2), base, [0, 4, 2, 0]);
    expect(out).toEqual([1, -1, 2, 0.5, NEG, 0]);
    expect(changed(base, out)).toEqual([4]);
  });

  test('bad words: single tokens always, multi-token sequences only after their prefix', () => {
    const p = badWords([[5], [1, 2, 3]]);
    expect(changed(base, run(p, base, [0, 1, 2]))).toEqual([3, 5]);
    expect(changed(base, run(p, base, [0, 2, 1]))).toEqual([5]);
    expect(changed(base, run(p, base, [2]))).toEqual([5]);
    expect(run(p, base, [1, 2])[3]).toBe(NEG);
  });

  test('logit bias adds to the listed tokens only', () => {
    const out = run(
      logitBias([
        [2, 5],
        [0, -100],
      ]),
      base,
      [],
    );
    expect(out).toEqual([-99, -1, 7, 0.5, -3, 0]);
  });

  test('temperature divides every logit', () => {
    expect(run(temperature(0.5), base, [])).toEqual(base.map((x) => x * 2));
  });
});

describe('truncation warpers', () => {
  const probs = [0.5, 0.25, 0.15, 0.1];
  const logits = probs.map(Math.log);
  const kept = (p: LogitsProcessor) =>
    run(p, logits, [])
      .map((v, i) => (v > NEG ? i : -1))
      .filter((i) => i >= 0);

  test('top-k keeps the k best (ties with the k-th kept) without changing their values', () => {
    expect(kept(topK(2))).toEqual([0, 1]);
    expect(kept(topK(10))).toEqual([0, 1, 2, 3]);
    expect(run(topK(2), [1, 3, 3, 0], [])).toEqual([NEG, 3, 3, NEG]);
    expect(run(topK(2), [3, 1, 2, 3], [])).toEqual([3, NEG, NEG, 3]);
    expect(run(topK(3), [3, 1, 2, 3], [])).toEqual([3, NEG, 2, 3]);
    const out = run(topK(2), logits, []);
    expect(out.slice(0, 2)).toEqual(logits.slice(0, 2));
  });

  test('top-p keeps the smallest head whose mass reaches p', () => {
    expect(kept(topP(0.4))).toEqual([0]);
    expect(kept(topP(0.7))).toEqual([0, 1]);
    expect(kept(topP(0.8))).toEqual([0, 1, 2]);
    expect(kept(topP(0.95))).toEqual([0, 1, 2, 3]);
    expect(kept(topP(1e-9))).toEqual([0]); // always at least one token
  });

  test('min-p keeps tokens with prob >= minP * max prob', () => {
    expect(kept(minP(0.35))).toEqual([0, 1]);
    expect(kept(minP(0.25))).toEqual([0, 1, 2]);
    expect(kept(minP(0.1))).toEqual([0, 1, 2, 3]);
    expect(kept(minP(1))).toEqual([0]);
  });

  test('typical-p keeps the tokens whose surprisal is closest to the entropy', () => {
    // H = 1.208 nats; |-log p - H| = [0.515, 0.178, 0.689, 1.095] → order 1, 0, 2, 3
    expect(kept(typicalP(0.2))).toEqual([1]);
    expect(kept(typicalP(0.7))).toEqual([0, 1]);
    expect(kept(typicalP(0.8))).toEqual([0, 1, 2]);
    expect(kept(typicalP(0.95))).toEqual([0, 1, 2, 3]);
  });
});

describe('processor specs', () => {
  test('strategy → ordered plain-data processors (penalties first, warpers in HF order)', () => {
    const s = strategyFromJSON({
      type: 'sample',
      temperature: 0.7,
      topK: 40,
      topP: 0.9,
      minP: 0.05,
      typicalP: 0.95,
      repetitionPenalty: 1.2,
      presencePenalty: 0.1,
      noRepeatNgramSize: 3,
      badWordsIds: [[7]],
      logitBias: { '3': -1 },
    });
    expect(processorSpecs(s).map((p) => p.type)).toEqual([
      'repetitionPenalty',
      'presenceFrequencyPenalty',
      'noRepeatNgram',
      'badWords',
      'logitBias',
      'temperature',
      'topK',
      'topP',
      'minP',
      'typicalP',
    ]);
    expect(processorSpecs(strategyFromJSON({}))).toEqual([]);
    // specs are JSON round-trippable and build working processors
    const specs = JSON.parse(JSON.stringify(processorSpecs(s)));
    const scores = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    applyProcessors(specs.map(createProcessor), scores, { tokens: [9, 9, 9], promptLength: 1 });
    expect(scores[7]).toBe(NEG);
  });

  test('greedy and beam strategies carry no sampling warpers', () => {
    const g = strategyFromJSON({ type: 'greedy', repetitionPenalty: 1.3 });
    expect(processorSpecs(g).map((p) => p.type)).toEqual(['repetitionPenalty']);
  });
});
