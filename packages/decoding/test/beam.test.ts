import { generate, generateAll, type GenerateResult } from '../src';
import { fakeModel, type FakeModel } from './helpers/fake';

interface Seq {
  ids: number[];
  sum: number;
  score: number;
  eos: boolean;
}

/** Every sequence of up to `maxNew` tokens (ending at EOS or at maxNew), scored sum / length^alpha. */
function exhaustive(m: FakeModel, prompt: number[], maxNew: number, alpha: number, eos: number | null): Seq[] {
  const out: Seq[] = [];
  const rec = (ids: number[], sum: number) => {
    const lp = m.logprobsOf([...prompt, ...ids]);
    for (let t = 0; t < m.vocabSize; t++) {
      const next = [...ids, t];
      const s = sum + lp[t];
      if (t === eos) out.push({ ids: next, sum: s, score: s / Math.pow(next.length, alpha), eos: true });
      else if (next.length === maxNew) out.push({ ids: next, sum: s, score: s / Math.pow(next.length, alpha), eos: false });
      else rec(next, s);
    }
  };
  rec([], 0);
  return out.sort((a, b) => b.score - a.score);
}

/** Recompute each returned token's raw log-prob from scratch along the returned path. */
function pathLogprobs(m: FakeModel, prompt: number[], ids: number[]): number[] {
  return ids.map((t, i) => m.logprobsOf([...prompt, ...ids.slice(0, i)])[t]);
}

describe('beam search', () => {
  const prompt = [1, 2, 3];

  test.each([
    { V: 5, L: 3, seed: 1 },
    { V: 6, L: 3, seed: 2 },
    { V: 5, L: 4, seed: 3 },
    { V: 6, L: 4, seed: 4 },
  ])('width >= all prefixes == exhaustive search (no EOS, lengthPenalty 0): V=$V L=$L', async ({ V, L, seed }) => {
    const m = fakeModel({ vocabSize: V, seed, scale: 1.5 });
    const ex = exhaustive(m, prompt, L, 0, null);
    const K = V ** (L - 1);
    const res = (await generateAll(m, prompt, { type: 'beam', numBeams: K, lengthPenalty: 0, maxNewTokens: L, numReturnSequences: 3 }))!;
    for (let i = 0; i < 3; i++) {
      expect(res[i].ids).toEqual(ex[i].ids);
      expect(res[i].score).toBeCloseTo(ex[i].sum, 10);
      expect(res[i].finishReason).toBe('length');
    }
    expect(m.stats.open).toBe(0);
  });

  test.each([
    { V: 5, L: 3, alpha: 0, seed: 11 },
    { V: 5, L: 3, alpha: 1, seed: 12 },
    { V: 6, L: 3, alpha: 0.6, seed: 13 },
    { V: 5, L: 4, alpha: 2, seed: 14 },
    { V: 5, L: 4, alpha: -0.5, seed: 15 },
  ])('with EOS in reach and lengthPenalty $alpha == exhaustive search (V=$V L=$L)', async ({ V, L, alpha, seed }) => {
    const eos = V - 1;
    const m = fakeModel({ vocabSize: V, seed, scale: 1.5, boost: { token: eos, by: 1.0 } });
    const ex = exhaustive(m, prompt, L, alpha, eos);
    // the exhaustive set contains finished (EOS) sequences of different lengths: the test is meaningful
    expect(ex.slice(0, 5).some((s) => s.eos)).toBe(true);
    const K = (V - 1) ** (L - 1) * V;
    const res = await generateAll(m, prompt, {
      type: 'beam',
      numBeams: K,
      lengthPenalty: alpha,
      earlyStopping: 'never',
      maxNewTokens: L,
      eosTokenId: eos,
      numReturnSequences: 4,
    });
    for (let i = 0; i < 4; i++) {
      expect(res[i].ids).toEqual(ex[i].ids);
      expect(res[i].beamScore!).toBeCloseTo(ex[i].score, 10);
      expect(res[i].score).toBeCloseTo(ex[i].sum, 10);
      expect(res[i].finishReason).toBe(ex[i].eos ? 'eos' : 'length');
    }
  });

  test('lengthPenalty changes the winner between a short EOS sequence and a long one', async () => {
    const V = 5;
    const eos = 4;
    const m = fakeModel({ vocabSize: V, seed: 12, scale: 1.5, boost: { token: eos, by: 1.0 } });
    const winners = new Set<string>();
    for (const alpha of [-2, 0, 2, 5]) {
      const ex = exhaustive(m, prompt, 4, alpha, eos);
      const r = (await generate(m, prompt, {
        type: 'beam',
        numBeams: 320,
        lengthPenalty: alpha,
        earlyStopping: 'never',
        maxNewTokens: 4,
        eosTokenId: eos,
      })) as GenerateResult;
      expect(r.ids).toEqual(ex[0].ids);
      winners.add(r.ids.join(','));
    }
    expect(winners.size).toBeGreaterThan(1);
  });

  test('beam width 1 == greedy', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const m = fakeModel({ vocabSize: 50, seed });
      const g = (await generate(m, prompt, { type: 'greedy', maxNewTokens: 12 })) as GenerateResult;
      const b = (await generate(m, prompt, { type: 'beam', numBeams: 1, lengthPenalty: 0, maxNewTokens: 12 })) as GenerateResult;
      expect(b.ids).toEqual(g.ids);
      expect(b.score).toBeCloseTo(g.score, 12);
      expect(b.logprobs).toEqual(g.logprobs);
    }
  });

  test('beam width 1 == greedy with EOS (lengthPenalty 0)', async () => {
    const m = fakeModel({ vocabSize: 8, seed: 9, boost: { token: 7, by: 1.5 } });
    const g = (await generate(m, prompt, { maxNewTokens: 30, eosTokenId: 7 })) as GenerateResult;
    expect(g.finishReason).toBe('eos');
    const b = (await generate(m, prompt, {
      type: 'beam',
      numBeams: 1,
      lengthPenalty: 0,
      maxNewTokens: 30,
      eosTokenId: 7,
    })) as GenerateResult;
    expect(b.ids).toEqual(g.ids);
    expect(b.finishReason).toBe('eos');
  });

  test('cache reordering: every returned beam log-prob matches a from-scratch recomputation', async () => {
    const m = fakeModel({ vocabSize: 40, seed: 21 });
    const res = await generateAll(m, prompt, { type: 'beam', numBeams: 4, numReturnSequences: 4, lengthPenalty: 0, maxNewTokens: 10 });
    expect(res).toHaveLength(4);
    for (const r of res) {
      const again = pathLogprobs(m, prompt, r.ids);
      r.logprobs.forEach((lp, i) => expect(lp).toBeCloseTo(again[i], 10));
      expect(r.score).toBeCloseTo(
        again.reduce((a, b) => a + b, 0),
        10,
      );
    }
    for (let i = 1; i < res.length; i++) expect(res[i - 1].score).toBeGreaterThanOrEqual(res[i].score);
    // the beams diverged (the test exercised real reordering)
    expect(new Set(res.map((r) => r.ids.join(','))).size).toBe(4);
    // KV cache: after the prompt, one token per live beam per step
    expect(m.stats.tokensFed).toBe(prompt.length + 9 * 4);
  });

  test('earlyStopping true stops once numBeams hypotheses finished; false/never search longer', async () => {
    const m = fakeModel({ vocabSize: 12, seed: 5, boost: { token: 11, by: 2 } });
    const opts = { type: 'beam' as const, numBeams: 3, maxNewTokens: 25, eosTokenId: 11, lengthPenalty: 1, numReturnSequences: 3 };
    const early = await generateAll(m, prompt, { ...opts, earlyStopping: true });
    const calls = m.stats.feedCalls;
    const never = await generateAll(m, prompt, { ...opts, earlyStopping: 'never' });
    const neverCalls = m.stats.feedCalls - calls;
    expect(early.every((r) => r.finishReason === 'eos')).toBe(true);
    expect(neverCalls).toBeGreaterThanOrEqual(calls);
    // 'never' explores at least as much, so its best hypothesis is at least as good
    expect(never[0].beamScore!).toBeGreaterThanOrEqual(early[0].beamScore! - 1e-12);
  });

  test('processors apply to beams (bad words never appear)', async () => {
    const m = fakeModel({ vocabSize: 10, seed: 3 });
    const plain = (await generate(m, prompt, { type: 'beam', numBeams: 3, maxNewTokens: 6 })) as GenerateResult;
    const banned = plain.ids[0];
    const r = (await generate(m, prompt, { type: 'beam', numBeams: 3, maxNewTokens: 6, badWordsIds: [[banned]] })) as GenerateResult;
    expect(r.ids).not.toContain(banned);
  });
});
