import { Rng } from '@gptlab/common';
import { generate, generateAll, minP, temperature, topK, topP, typicalP, type GenerateResult, type LogitsProcessor } from '../src';
import { sampleFromScores } from '../src/search';
import { fakeModel } from './helpers/fake';

/** Chi-square critical value at upper tail 0.001 (Wilson–Hilferty approximation, z = 3.0902). */
function chi2Critical(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
}

/** Samples n draws, asserts zero mass outside `expected`'s support and a chi-square fit inside it. */
function checkFrequencies(counts: number[], expected: number[], n: number) {
  let chi2 = 0;
  let df = -1;
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] === 0) {
      expect({ token: i, count: counts[i] }).toEqual({ token: i, count: 0 });
      continue;
    }
    const e = expected[i] * n;
    chi2 += (counts[i] - e) ** 2 / e;
    df++;
  }
  if (df > 0) expect(chi2).toBeLessThan(chi2Critical(df));
  return chi2;
}

/** The truncated, renormalised distribution: keep[i] ? p[i]^(1/T) : 0. Written independently of src. */
function truncated(p: number[], keep: boolean[], T = 1): number[] {
  const w = p.map((x, i) => (keep[i] ? Math.pow(x, 1 / T) : 0));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

const P = [0.3, 0.2, 0.15, 0.12, 0.1, 0.07, 0.04, 0.02];
const LOGITS = P.map(Math.log);

function draw(processors: LogitsProcessor[], n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array(P.length).fill(0);
  for (let k = 0; k < n; k++) {
    const s = Float64Array.from(LOGITS);
    for (const p of processors) p(s, { tokens: [], promptLength: 0 });
    counts[sampleFromScores(s, rng)]++;
  }
  return counts;
}

/** Typical set computed directly from its definition (Meister et al. 2022). */
function typicalKeep(p: number[], mass: number): boolean[] {
  const H = -p.reduce((a, x) => a + x * Math.log(x), 0);
  const order = p.map((x, i) => ({ i, d: Math.abs(-Math.log(x) - H), x })).sort((a, b) => a.d - b.d);
  const keep = new Array(p.length).fill(false);
  let cum = 0;
  for (const o of order) {
    keep[o.i] = true;
    cum += o.x;
    if (cum >= mass) break;
  }
  return keep;
}

describe('sampling frequencies match the truncated distributions (chi-square, fixed seed)', () => {
  const N = 20000;
  const cases: { name: string; procs: LogitsProcessor[]; keep: boolean[]; T?: number }[] = [
    { name: 'plain', procs: [], keep: P.map(() => true) },
    { name: 'temperature 0.5', procs: [temperature(0.5)], keep: P.map(() => true), T: 0.5 },
    { name: 'top-k 3', procs: [topK(3)], keep: P.map((_, i) => i < 3) },
    { name: 'top-p 0.7', procs: [topP(0.7)], keep: P.map((_, i) => i < 4) },
    { name: 'min-p 0.3', procs: [minP(0.3)], keep: P.map((x) => x >= 0.3 * 0.3) },
    { name: 'typical-p 0.5', procs: [typicalP(0.5)], keep: typicalKeep(P, 0.5) },
    { name: 'temperature 2 + top-k 5', procs: [temperature(2), topK(5)], keep: P.map((_, i) => i < 5), T: 2 },
  ];
  test.each(cases)('$name', ({ procs, keep, T }) => {
    const counts = draw(procs, N, 1234);
    checkFrequencies(counts, truncated(P, keep, T), N);
  });

  test('the check can fail: untruncated samples do not fit a top-k distribution', () => {
    const counts = draw([], N, 1234);
    const expected = truncated(
      P,
      P.map((_, i) => i < 3),
    );
    expect(counts.slice(3).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const wrong = truncated(
      P,
      P.map(() => true),
      0.8,
    );
    let chi2 = 0;
    wrong.forEach((q, i) => (chi2 += (counts[i] - q * N) ** 2 / (q * N)));
    expect(chi2).toBeGreaterThan(chi2Critical(P.length - 1));
    expect(expected[0]).toBeGreaterThan(0);
  });

  test('end to end through generate: numReturnSequences rows sampled with top-p + temperature', async () => {
    const m = fakeModel({ vocabSize: P.length, fn: () => LOGITS });
    const n = 4000;
    const res = await generateAll(m, [0], {
      type: 'sample',
      temperature: 0.8,
      topP: 0.8,
      seed: 99,
      maxNewTokens: 1,
      numReturnSequences: n,
    });
    const counts = new Array(P.length).fill(0);
    for (const r of res) counts[r.ids[0]]++;
    // top-p is applied after temperature: compute the kept set on the tempered distribution
    const tempered = truncated(
      P,
      P.map(() => true),
      0.8,
    );
    let cum = 0;
    const keep = tempered.map((q) => {
      const k = cum < 0.8;
      cum += q;
      return k;
    });
    checkFrequencies(counts, truncated(P, keep, 0.8), n);
    // raw log-probs are reported under the unprocessed distribution
    for (const r of res.slice(0, 20)) expect(r.logprobs[0]).toBeCloseTo(Math.log(P[r.ids[0]]), 6);
    // the prompt is encoded once and fanned out; one new token needs no further forward pass
    expect(m.stats.tokensFed).toBe(1);
  });
});

describe('seeded sampling', () => {
  const m = fakeModel({ vocabSize: 30, seed: 4, scale: 1 });
  const opts = { type: 'sample' as const, maxNewTokens: 25, topK: 10 };
  test('same seed → same output; different seeds → different outputs', async () => {
    const a = (await generate(m, [1, 2], { ...opts, seed: 7 })) as GenerateResult;
    const b = (await generate(m, [1, 2], { ...opts, seed: 7 })) as GenerateResult;
    const c = (await generate(m, [1, 2], { ...opts, seed: 8 })) as GenerateResult;
    expect(a.ids).toEqual(b.ids);
    expect(a.logprobs).toEqual(b.logprobs);
    expect(a.ids).not.toEqual(c.ids);
  });
  test('numReturnSequences rows are independent draws and reproducible', async () => {
    const r1 = await generateAll(m, [1, 2], { ...opts, seed: 5, numReturnSequences: 4 });
    const r2 = await generateAll(m, [1, 2], { ...opts, seed: 5, numReturnSequences: 4 });
    expect(r1.map((r) => r.ids)).toEqual(r2.map((r) => r.ids));
    expect(new Set(r1.map((r) => r.ids.join(','))).size).toBe(4);
  });
  test('temperature 0 samples greedily', async () => {
    const g = (await generate(m, [1, 2], { maxNewTokens: 10 })) as GenerateResult;
    const t0 = (await generate(m, [1, 2], { type: 'sample', temperature: 0, maxNewTokens: 10, seed: 3 })) as GenerateResult;
    expect(t0.ids).toEqual(g.ids);
  });
  test('sampled rows finish independently at EOS and are dropped from the batch', async () => {
    const em = fakeModel({ vocabSize: 6, seed: 2, scale: 0.5, boost: { token: 5, by: 1 } });
    const res = await generateAll(em, [0], { type: 'sample', seed: 1, maxNewTokens: 40, eosTokenId: 5, numReturnSequences: 6 });
    expect(res.every((r) => r.finishReason === 'eos' && r.ids[r.ids.length - 1] === 5)).toBe(true);
    const lens = res.map((r) => r.ids.length);
    expect(new Set(lens).size).toBeGreaterThan(1);
    // tokens fed: prompt once, then one token per still-active row per step
    const fedAfterPrompt = em.stats.tokensFed - 1;
    expect(fedAfterPrompt).toBe(lens.reduce((a, l) => a + l - 1, 0));
    expect(em.stats.open).toBe(0);
  });
});
