// PPO's arithmetic against hand computations: GAE with and without a terminal state, the clipped policy objective
// (ratio inside and outside the clip range, both advantage signs, and its gradient), the clipped value loss, the
// KL estimators against the exact KL of a small categorical, the adaptive KL controller, and the masking of
// prompt and padding positions in a minibatch.
import { initBackend, tf, IGNORE_INDEX } from '@gptlab/tensor';
import {
  clippedPolicyLoss,
  clippedValueLoss,
  gae,
  klEstimate,
  KlController,
  tokenLogProbs,
  tokenRewards,
  whiten,
} from '../src/align/ppo-math';
import { makePpoBatch } from '../src/align/ppo-rollout';

beforeAll(async () => {
  await initBackend();
});

const close = (a: number[], b: number[], digits = 6) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, digits));
const scalar = (t: tf.Tensor) => t.dataSync()[0]!;

describe('GAE', () => {
  // rewards [1, 0, 2], values [0.5, 1, 1.5], γ 0.9, λ 0.8; γλ = 0.72
  test('terminal: V after the last token is 0', () => {
    // δ2 = 2 − 1.5 = 0.5; δ1 = 0.9·1.5 − 1 = 0.35; δ0 = 1 + 0.9·1 − 0.5 = 1.4
    // A2 = 0.5; A1 = 0.35 + 0.72·0.5 = 0.71; A0 = 1.4 + 0.72·0.71 = 1.9112
    const { advantages, returns } = gae([1, 0, 2], [0.5, 1, 1.5], 0.9, 0.8);
    close(advantages, [1.9112, 0.71, 0.5]);
    close(returns, [2.4112, 1.71, 2.0]);
  });

  test('not terminal: bootstraps from the next state value', () => {
    // δ2 = 2 + 0.9·2 − 1.5 = 2.3; A1 = 0.35 + 0.72·2.3 = 2.006; A0 = 1.4 + 0.72·2.006 = 2.84432
    const { advantages, returns } = gae([1, 0, 2], [0.5, 1, 1.5], 0.9, 0.8, 2);
    close(advantages, [2.84432, 2.006, 2.3]);
    close(returns, [3.34432, 3.006, 3.8]);
  });

  test('γ = λ = 1: the advantage is the reward to go minus the value (Monte Carlo)', () => {
    close(gae([1, 0, 2], [0.5, 1, 1.5], 1, 1).advantages, [2.5, 1, 0.5]);
    // λ = 0: one-step TD errors
    close(gae([1, 0, 2], [0.5, 1, 1.5], 1, 0).advantages, [1.5, 0.5, 0.5]);
  });

  test('whitening spans the whole batch (mean 0, variance 1 over every token of every row)', () => {
    const w = whiten([
      [1, 2],
      [3, 4, 5],
    ]).flat();
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    expect(w.reduce((a, b) => a + b * b, 0) / w.length).toBeCloseTo(1, 5);
    close(w, [-1.414213, -0.707106, 0, 0.707106, 1.414213], 5);
  });
});

describe('the clipped policy objective (ε = 0.2)', () => {
  // ratio 1.5 / A +1: clipped (−1.2) wins; ratio 1.5 / A −1: unclipped (1.5); ratio 0.5 / A +1: unclipped (−0.5);
  // ratio 0.5 / A −1: clipped (0.8); ratio 1.1 / A 2: inside the range (−2.2); a masked token with wild values.
  const ratios = [1.5, 1.5, 0.5, 0.5, 1.1, 9];
  const adv = [1, -1, 1, -1, 2, 50];
  const mask = [1, 1, 1, 1, 1, 0];
  const old = [-1, -2, -0.5, -3, -1.2, -1];
  const logp = old.map((o, i) => o + Math.log(ratios[i]!));

  test('loss, clip fraction and approx KL equal the hand computation; the masked token counts for nothing', () => {
    const r = clippedPolicyLoss(tf.tensor1d(logp), tf.tensor1d(old), tf.tensor1d(adv), tf.tensor1d(mask), 0.2);
    expect(scalar(r.loss)).toBeCloseTo((-1.2 + 1.5 - 0.5 + 0.8 - 2.2) / 5, 5);
    expect(scalar(r.clipFraction)).toBeCloseTo(2 / 5, 6);
    const logs = ratios.slice(0, 5).map(Math.log);
    expect(scalar(r.approxKl)).toBeCloseTo((0.5 * logs.reduce((a, b) => a + b * b, 0)) / 5, 5);
    tf.dispose(Object.values(r));
  });

  test('the gradient is zero where the clipped term wins and −A·ratio/N elsewhere', () => {
    const lp = tf.variable(tf.tensor1d(logp));
    const g = tf.grads((x: tf.Tensor) => clippedPolicyLoss(x, tf.tensor1d(old), tf.tensor1d(adv), tf.tensor1d(mask), 0.2).loss)([lp])[0]!;
    close(Array.from(g.dataSync()), [0, 1.5 / 5, -0.5 / 5, 0, (-2 * 1.1) / 5, 0], 5);
    tf.dispose([lp, g]);
  });
});

test('the clipped value loss: ½·max((V − R)², (clip(V, V_old ± ε) − R)²) over the mask', () => {
  // t0: V 1, old 0.5 → clipped 0.7: max((1−2)², (0.7−2)²) = 1.69 (clipped); t1: V 0, old 0.5 → 0.3: max(1, 0.49) = 1;
  // t2: V = old = 2, R 0: 4; t3 masked.
  const r = clippedValueLoss(
    tf.tensor1d([1, 0, 2, 7]),
    tf.tensor1d([0.5, 0.5, 2, 0]),
    tf.tensor1d([2, 1, 0, -9]),
    tf.tensor1d([1, 1, 1, 0]),
    0.2,
  );
  expect(scalar(r.loss)).toBeCloseTo((0.5 * (1.69 + 1 + 4)) / 3, 5);
  expect(scalar(r.clipFraction)).toBeCloseTo(1 / 3, 6);
  tf.dispose(Object.values(r));
});

describe('KL', () => {
  const p = [0.5, 0.3, 0.2];
  const q = [0.2, 0.5, 0.3];
  const exact = p.reduce((a, pi, i) => a + pi * Math.log(pi / q[i]!), 0);

  test('k1 and k3 are unbiased: their expectation under the policy is the exact KL(π ‖ π_ref)', () => {
    for (const est of ['k1', 'k3'] as const) {
      const expectation = p.reduce((a, pi, i) => a + pi * klEstimate(Math.log(pi), Math.log(q[i]!), est), 0);
      expect(expectation).toBeCloseTo(exact, 10);
    }
    // k3 is never negative; k1 is for the tokens π likes less than π_ref does
    expect(p.every((pi, i) => klEstimate(Math.log(pi), Math.log(q[i]!), 'k3') >= 0)).toBe(true);
    expect(klEstimate(Math.log(0.3), Math.log(0.5), 'k1')).toBeLessThan(0);
  });

  test('per-token rewards: −β·KL at every token, the score added to the last one', () => {
    const { rewards, kl } = tokenRewards([-1, -2, -0.5], [-1.5, -2, -0.25], 3, 0.1, 'k1');
    close(kl, [0.5, 0, -0.25]);
    close(rewards, [-0.05, 0, 0.025 + 3]);
  });

  test('the adaptive controller: β·(1 + clip(KL/target − 1, ±0.2)·n/horizon); fixed without a target', () => {
    const c = new KlController(0.2, 6, 10000);
    c.update(6.6, 16); // error 0.1
    expect(c.value).toBeCloseTo(0.2 * (1 + (0.1 * 16) / 10000), 12);
    const before = c.value;
    c.update(30, 16); // error clipped to +0.2
    expect(c.value).toBeCloseTo(before * (1 + (0.2 * 16) / 10000), 12);
    const low = new KlController(0.2, 6, 10000);
    low.update(0, 100); // error clipped to −0.2
    expect(low.value).toBeCloseTo(0.2 * (1 - (0.2 * 100) / 10000), 12);
    const fixed = new KlController(0.2, null, 10000);
    fixed.update(100, 100);
    expect(fixed.value).toBe(0.2);
    expect(() => new KlController(0.2, -1, 10)).toThrow(/target/);
  });
});

describe('masking', () => {
  const rows = [
    { prompt: [5, 6], response: [7, 8], logp: [-1, -2], values: [0.1, 0.2], advantages: [1, -1], returns: [2, 3] },
    { prompt: [9], response: [10, 11, 12], logp: [-3, -4, -5], values: [1, 2, 3], advantages: [0.5, 0.5, 0.5], returns: [4, 5, 6] },
  ];

  test('a minibatch puts each action at the position that predicts it; prompt and padding are masked out', () => {
    const b = makePpoBatch(rows, 0);
    expect(b.T).toBe(4);
    expect(Array.from(b.ids)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(b.targets)).toEqual([IGNORE_INDEX, 7, 8, IGNORE_INDEX, 10, 11, 12, IGNORE_INDEX]);
    expect(Array.from(b.mask)).toEqual([0, 1, 1, 0, 1, 1, 1, 0]);
    expect(Array.from(b.oldLogp)).toEqual([0, -1, -2, 0, -3, -4, -5, 0]);
    expect(Array.from(b.returns)).toEqual([0, 2, 3, 0, 4, 5, 6, 0]);
  });

  test('padding and prompt positions change neither the log-probs of the actions nor the losses', () => {
    const short = { ...rows[0]!, response: [7], logp: [-1], values: [0.1], advantages: [1], returns: [2] };
    const a = makePpoBatch([short, rows[1]!], 0);
    const b = makePpoBatch([short, rows[1]!], 3); // another padding id
    const logits = tf.randomNormal([2, 4, 16], 0, 1, 'float32', 5) as tf.Tensor3D;
    const la = tokenLogProbs(logits, a.targets);
    const lb = tokenLogProbs(logits, b.targets);
    expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
    // garbage where the mask is 0 leaves the policy and value losses unchanged
    const dirty = (x: Float32Array) => x.map((v, i) => (a.mask[i] ? v : 1e3));
    const loss = (adv: Float32Array, old: Float32Array) =>
      scalar(clippedPolicyLoss(la, tf.tensor2d(old, [2, 4]), tf.tensor2d(adv, [2, 4]), tf.tensor2d(a.mask, [2, 4]), 0.2).loss);
    expect(loss(dirty(a.advantages), dirty(a.oldLogp))).toBeCloseTo(loss(a.advantages, a.oldLogp), 6);
    tf.dispose([logits, la, lb]);
  });
});
