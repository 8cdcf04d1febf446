// Loading the committed checkpoints (written by tools/make_fixtures.py through the PyTorch reference
// gpt_ref.py) reproduces the reference's log-probabilities, greedy continuations and beam search.
import * as path from 'node:path';
import { GPT, KVCache, loadGPT } from '../src';
import { FIXTURES, RefCheckpoint, ids2d, logSoftmaxRows, reference, setup, tf } from './helpers';

const ref = reference();
const TOL = 1e-4;

beforeAll(async () => {
  await setup();
});

/** Max |ours − reference| over next-token log-probs and the full rows stored for each sequence. */
function compareSequences(model: GPT, r: RefCheckpoint): { maxDiff: number; compared: number } {
  const V = model.config.vocabSize;
  let maxDiff = 0;
  let compared = 0;
  for (const s of r.sequences) {
    const ids = ids2d([s.ids]);
    const { logits } = model.forward(ids);
    const lp = logSoftmaxRows(logits.dataSync(), V);
    tf.dispose([ids, logits]);
    s.next_token_logprobs.forEach((want, t) => {
      maxDiff = Math.max(maxDiff, Math.abs(lp[t * V + s.ids[t + 1]!]! - want));
      compared++;
    });
    for (const [pos, row] of Object.entries(s.rows)) {
      row.forEach((want, j) => {
        maxDiff = Math.max(maxDiff, Math.abs(lp[Number(pos) * V + j]! - want));
        compared++;
      });
    }
  }
  return { maxDiff, compared };
}

function lastLogProbs(logits: tf.Tensor3D): Float64Array[] {
  const [B, T, V] = logits.shape;
  const all = logSoftmaxRows(logits.dataSync(), V);
  return Array.from({ length: B }, (_, b) => all.slice((b * T + T - 1) * V, (b * T + T) * V));
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** KV-cached greedy decoding, as gpt_ref.greedy. */
function greedy(model: GPT, prompt: number[], n: number): { ids: number[]; logprobs: number[] } {
  const cache = model.createCache(1);
  const ids: number[] = [];
  const lps: number[] = [];
  let input = ids2d([prompt]);
  for (let step = 0; step < n; step++) {
    const { logits } = model.forward(input, { cache });
    input.dispose();
    const lp = lastLogProbs(logits)[0]!;
    logits.dispose();
    const tok = argmax(lp);
    ids.push(tok);
    lps.push(lp[tok]!);
    input = ids2d([[tok]]);
  }
  input.dispose();
  cache.dispose();
  return { ids, logprobs: lps };
}

/** Plain beam search with cache.reorder, as gpt_ref.beam (stable ties, float64 scores, no length penalty). */
function beam(model: GPT, prompt: number[], n: number, numBeams: number, cache: KVCache): { ids: number[]; score: number }[] {
  let seqs: number[][] = [[]];
  let scores = [0];
  let input = ids2d([prompt]);
  for (let step = 0; step < n; step++) {
    const { logits } = model.forward(input, { cache });
    input.dispose();
    const lps = lastLogProbs(logits);
    logits.dispose();
    const V = lps[0]!.length;
    const cand: number[] = [];
    lps.forEach((lp, b) => lp.forEach((v) => cand.push(scores[b]! + v)));
    const order = cand
      .map((_, i) => i)
      .sort((a, b) => cand[b]! - cand[a]!)
      .slice(0, numBeams);
    const src = order.map((i) => Math.floor(i / V));
    const tok = order.map((i) => i % V);
    seqs = src.map((s, i) => [...seqs[s]!, tok[i]!]);
    scores = order.map((i) => cand[i]!);
    cache.reorder(src);
    input = ids2d(tok.map((t) => [t]));
  }
  input.dispose();
  return seqs.map((ids, i) => ({ ids, score: scores[i]! }));
}

describe.each(['tiny', 'tiny-f16', 'tiny-bf16', 'tiny-postln'])('checkpoint %s', (name) => {
  let model: GPT;
  beforeAll(async () => {
    model = await loadGPT(path.join(FIXTURES, name));
  });
  afterAll(() => model.dispose());

  it('reproduces the reference log-probabilities within 1e-4', () => {
    const { maxDiff, compared } = compareSequences(model, ref[name]!);
    expect(compared).toBeGreaterThan(500);
    expect(maxDiff).toBeLessThan(TOL);
  });

  if (ref[name]!.greedy) {
    it('reproduces the reference greedy continuation (KV-cached) and its log-probs', () => {
      const g = ref[name]!.greedy!;
      const got = greedy(model, g.prompt, g.ids.length);
      expect(got.ids).toEqual(g.ids);
      got.logprobs.forEach((lp, i) => expect(Math.abs(lp - g.logprobs[i]!)).toBeLessThan(TOL));
    });

    it('reproduces the reference beam search (cache.reorder)', () => {
      const b = ref[name]!.beam!;
      const cache = model.createCache(1);
      const got = beam(model, b.prompt, b.n, b.num_beams, cache);
      expect(cache.batchSize).toBe(b.num_beams);
      cache.dispose();
      expect(got.map((x) => x.ids)).toEqual(b.beams.map((x) => x.ids));
      got.forEach((x, i) => expect(Math.abs(x.score - b.beams[i]!.score)).toBeLessThan(TOL));
    });
  }
});

it('the reference logits are far from trivial (so a 1e-4 match means something)', () => {
  // A uniform model would give log(1/512) ≈ −6.24 everywhere; the fixture's log-probs spread widely.
  const lps = ref.tiny!.sequences.flatMap((s) => s.next_token_logprobs);
  expect(Math.max(...lps) - Math.min(...lps)).toBeGreaterThan(3);
});

it('the F16 and BF16 checkpoints are the same weights rounded differently', async () => {
  const a = await loadGPT(path.join(FIXTURES, 'tiny-f16'));
  const b = await loadGPT(path.join(FIXTURES, 'tiny-bf16'));
  const wa = a.namedWeights().get('transformer.h.0.mlp.c_fc.weight')!.dataSync();
  const wb = b.namedWeights().get('transformer.h.0.mlp.c_fc.weight')!.dataSync();
  let maxRel = 0;
  let differ = 0;
  for (let i = 0; i < wa.length; i++) {
    maxRel = Math.max(maxRel, Math.abs(wa[i]! - wb[i]!) / Math.max(Math.abs(wa[i]!), 1e-3));
    if (wa[i] !== wb[i]) differ++;
  }
  expect(maxRel).toBeLessThan(1 / 128); // bf16 keeps 8 bits of mantissa
  expect(differ).toBeGreaterThan(wa.length / 2);
  a.dispose();
  b.dispose();
});
