// DPO: the loss against an independent float64 computation from per-token log-probs (summed over the
// response only), log 2 at step 0 when π = π_ref, a tiny run that raises the chosen-vs-rejected margin with
// TRL's metrics in metrics.jsonl, and the command (--help, --json, resume with the reference reloaded).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { encodePair, type EncodedPair, type PreferencePair } from '../src/align/preference';
import { makePairBatch, PAIR_RUN_DEFAULTS } from '../src/align/logprobs';
import { dpoLoss, trainDpo, withReferenceLogProbs } from '../src/align/dpo';
import { listCheckpoints } from '../src/train/checkpoint';
import { readMetrics, tmpDir, trainInProcess, writePairs } from './helpers';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('dpo');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const tok = BPETokenizer.train(['the red fox jumps', 'a blue bird sings', 'prompt: say something'], { vocabSize: 290, minFrequency: 1 });
const gpt = (seed: number) => GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 32 }), { seed });
const pairsOf = (n: number): PreferencePair[] =>
  Array.from({ length: n }, (_, i) => ({
    prompt: i % 2 ? 'prompt: say something' : 'prompt: say',
    chosen: ' the red fox jumps',
    rejected: i % 3 ? ' a blue bird sings' : ' a blue fox',
    line: i + 1,
  }));
const ctx = { seed: 0, step: 0, chunk: 0, training: false };

/** log π(response | prompt) in float64: the model run on prompt + response alone, log-softmax by hand. */
function seqLogProb64(m: GPT, prompt: number[], response: number[]): number {
  const seq = [...prompt, ...response];
  const logits = tf.tidy(() => m.forward(tf.tensor2d([seq], [1, seq.length], 'int32')).logits.arraySync() as number[][][])[0]!;
  let sum = 0;
  for (let k = 0; k < response.length; k++) {
    const row = logits[prompt.length + k - 1]!;
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
    sum += row[response[k]!]! - lse;
  }
  return sum;
}

describe('the DPO loss', () => {
  test('equals an independent float64 computation from per-token log-probs; reports TRL statistics', async () => {
    const policy = gpt(1);
    const reference = gpt(2);
    const beta = 0.5;
    const enc: EncodedPair[] = pairsOf(3).map((p) => encodePair(tok, p, 32));
    const scored = await withReferenceLogProbs(reference, enc, 2);
    let expected = 0;
    const rewardsChosen: number[] = [];
    enc.forEach((p, i) => {
      const refC = seqLogProb64(reference, p.prompt, p.chosen);
      const refR = seqLogProb64(reference, p.prompt, p.rejected);
      expect(scored[i]!.refChosen).toBeCloseTo(refC, 3);
      expect(scored[i]!.refRejected).toBeCloseTo(refR, 3);
      const rc = beta * (seqLogProb64(policy, p.prompt, p.chosen) - refC);
      const rr = beta * (seqLogProb64(policy, p.prompt, p.rejected) - refR);
      rewardsChosen.push(rc);
      expected += -Math.log(1 / (1 + Math.exp(-(rc - rr)))) / enc.length;
    });
    const parts: Record<string, number> = {};
    const loss = dpoLoss(policy, beta)(makePairBatch(scored), { ...ctx, report: (k, v) => void (parts[k] = v.dataSync()[0]!) });
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 4);
    expect(parts['rewards/chosen']).toBeCloseTo(rewardsChosen.reduce((a, b) => a + b) / enc.length, 4);
    expect(Object.keys(parts).sort()).toEqual(['rewards/accuracies', 'rewards/chosen', 'rewards/margins', 'rewards/rejected']);
    loss.dispose();
    policy.dispose();
    reference.dispose();
  });

  test('is log 2 with zero rewards at step 0, when the policy is the reference', async () => {
    const m = gpt(3);
    const scored = await withReferenceLogProbs(
      m,
      pairsOf(4).map((p) => encodePair(tok, p, 32)),
      4,
    );
    const parts: Record<string, number> = {};
    const loss = dpoLoss(m, 0.1)(makePairBatch(scored), { ...ctx, report: (k, v) => void (parts[k] = v.dataSync()[0]!) });
    expect(loss.dataSync()[0]).toBeCloseTo(Math.log(2), 5);
    expect(parts['rewards/margins']).toBeCloseTo(0, 5);
    expect(parts['rewards/accuracies']).toBe(0);
    loss.dispose();
    m.dispose();
  });
});

describe('DPO training', () => {
  const opts = (out: string) => ({ ...PAIR_RUN_DEFAULTS, out, beta: 0.1, epochs: 3, batchSize: 4, lr: 3e-3 });

  test('a tiny run raises the held-out chosen-vs-rejected margin without leaking tensors', async () => {
    const m = gpt(4);
    const out = path.join(root, 'train');
    const n0 = tf.memory().numTensors;
    const r = await trainDpo(m, m, tok, { train: pairsOf(12), held: pairsOf(4) }, opts(out));
    expect(tf.memory().numTensors).toBe(n0);
    expect(r.run.step).toBe(9);
    expect(r.eval!.margin).toBeGreaterThan(0.1);
    expect(r.eval!.accuracy).toBe(1);
    expect(r.eval!.loss).toBeLessThan(Math.log(2));
    const train = readMetrics(out).filter((x) => x.type === 'train') as unknown as Record<string, number>[];
    expect(train[0]!['rewards/margins']).toBeCloseTo(0, 4); // the first step is taken at π = π_ref
    expect(train.at(-1)!['rewards/margins']).toBeGreaterThan(train[0]!['rewards/margins']!);
    m.dispose();
  }, 60000);
});

describe('gptlab-train dpo', () => {
  test('--help, --json, and a resume equal to the uninterrupted run (the reference reloaded from --init-from)', async () => {
    expect((await trainInProcess(['dpo', '--help'])).stdout).toMatch(/--beta .*0\.1/s);
    const init = path.join(root, 'init');
    const m = gpt(5);
    await saveGPT(m, init, { tokenizer: tok });
    m.dispose();
    const data = writePairs(path.join(root, 'pairs.jsonl'), pairsOf(10));
    const out = path.join(root, 'cli');
    const knobs = '--eval-fraction 0.2 --batch-size 4 --epochs 4 --lr 3e-3'.split(' ');
    const common = ['--init-from', init, '--data', data, '--out', out, ...knobs];
    const first = await trainInProcess(['dpo', ...common, '--max-steps', '4', '--checkpoint-every', '2', '--json']);
    expect(first.code).toBe(0);
    const j = JSON.parse(first.stdout.trim()) as { steps: number; evalMargin: number };
    expect(j).toMatchObject({ steps: 4, eval: 2, beta: 0.1 });
    // Resumed from step 2 = uninterrupted: the reference is the --init-from model again, not the checkpoint.
    const again = await trainInProcess(['dpo', '--resume', listCheckpoints(out)[0]!.dir, '--out', path.join(root, 'resumed'), '--json']);
    expect(again.code).toBe(0);
    const j2 = JSON.parse(again.stdout.trim()) as { steps: number; evalMargin: number };
    expect(j2.steps).toBe(4);
    expect(Math.abs(j.evalMargin)).toBeGreaterThan(1e-4);
    expect(j2.evalMargin).toBeCloseTo(j.evalMargin, 5);
    expect((await trainInProcess(['dpo', '--resume', out, '--beta', '0.2'])).stderr).toMatch(/--beta cannot change when resuming/);
  }, 60000);
});
