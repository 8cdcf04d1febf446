// GPT-1 fine-tuning: what the objective claims, checked against terms computed separately in float64
// (similarity adds both orderings, multiple choice is a softmax over candidates, λ·LM is added), and the
// fine-tuning run on the shared Trainer (the head learns, checkpoints resume exactly).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf, IGNORE_INDEX } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, TaskHead } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { finetune, formatAll, prepareForTasks } from '../src/finetune/finetune';
import { gpt1Loss, makeBatch, taskScores, type TaskBatch } from '../src/finetune/objective';
import type { TaskDataset } from '../src/finetune/wordnet-tasks';
import type { TaskExample } from '../src/finetune/formats';
import type { LossContext } from '../src/train/gradients';
import { listCheckpoints, readTrainerState } from '../src/train/checkpoint';
import { readMetrics, tmpDir } from './helpers';
import { decodeEvents } from './tfevents';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('finetune');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const words = ['apple pear plum', 'stone rock sand', 'river lake sea', 'cat dog cow'];
const baseTok = BPETokenizer.train(words.flatMap((w) => [w, w.toUpperCase()]).concat(['yes no maybe a b c']), {
  vocabSize: 300,
  minFrequency: 1,
});

function clsData(n: number): TaskExample[] {
  // Label = which of two word families the text comes from: learnable in a few steps.
  return Array.from({ length: n }, (_, i) => ({ kind: 'cls' as const, text: i % 2 ? 'apple pear plum' : 'stone rock sand', label: i % 2 }));
}

function model() {
  const t = BPETokenizer.fromJSON(baseTok.toJSON());
  const m = GPT.create(getPreset('nano', { vocabSize: t.vocabSize, nPositions: 32 }), { seed: 1 });
  prepareForTasks(m, t);
  return { m, t };
}

const ctx = (report?: LossContext['report']): LossContext => ({ seed: 0, step: 0, chunk: 0, training: false, report });

/** Float64 helpers over plain arrays. */
const logSoftmax = (row: number[]) => {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
  return row.map((v) => v - lse);
};
const rowsOf = (t: tf.Tensor) => t.arraySync() as number[][];

/** The hidden state at each row's <e> token, from the model run on that row alone. */
function extractHidden(m: GPT, seq: number[]): number[] {
  return tf.tidy(() => {
    const { hidden } = m.forward(tf.tensor2d([seq], [1, seq.length], 'int32'), { outputHidden: true });
    return (hidden!.arraySync() as number[][][])[0]![seq.length - 1]!;
  });
}

/** The head's outputs for one hidden state: W^T h + b, in float64. */
function headOut(head: TaskHead, h: number[]): number[] {
  const W = rowsOf(head.weight);
  const b = Array.from(head.bias.dataSync());
  return b.map((bj, j) => bj + h.reduce((s, hc, c) => s + hc * W[c]![j]!, 0));
}

describe('the GPT-1 objective', () => {
  test("similarity: the scores are the head applied to the sum of both orderings' hidden states", () => {
    const { m, t } = model();
    const head = new TaskHead(m.config.nEmbd, 2, { seed: 5, dropout: 0 });
    const ds: TaskDataset = {
      kind: 'sim',
      labels: ['no', 'yes'],
      train: [
        { kind: 'sim', a: 'river lake', b: 'cat', label: 1 },
        { kind: 'sim', a: 'sea', b: 'stone rock', label: 0 },
      ],
      dev: [],
      test: [],
    };
    const exs = formatAll(ds, 'train', t, 32);
    const { scores } = taskScores('sim', m, head, makeBatch(exs), { training: false, seed: 0 });
    const got = rowsOf(scores);
    scores.dispose();
    exs.forEach((ex, i) => {
      expect(ex.sequences).toHaveLength(2);
      const [ab, ba] = ex.sequences.map((seq) => extractHidden(m, seq));
      const expected = headOut(
        head,
        ab!.map((v, c) => v + ba![c]!),
      );
      expected.forEach((e, j) => expect(got[i]![j]!).toBeCloseTo(e, 4));
      // Not one ordering alone.
      expect(Math.abs(headOut(head, ab!)[0]! - got[i]![0]!)).toBeGreaterThan(1e-3);
    });
    head.dispose();
    m.dispose();
  });

  test('multiple choice: one score per candidate, a softmax over the candidates, loss = −log p(gold)', () => {
    const { m, t } = model();
    const head = new TaskHead(m.config.nEmbd, 1, { seed: 6, dropout: 0 });
    const ds: TaskDataset = {
      kind: 'mc',
      labels: ['1', '2', '3'],
      train: [
        { kind: 'mc', context: 'cat', options: ['dog', 'sea', 'rock'], label: 0 },
        { kind: 'mc', context: 'plum', options: ['sand', 'apple', 'lake'], label: 2 },
      ],
      dev: [],
      test: [],
    };
    const exs = formatAll(ds, 'train', t, 32);
    const batch = makeBatch(exs);
    const { scores } = taskScores('mc', m, head, batch, { training: false, seed: 0 });
    const got = rowsOf(scores);
    const probs = rowsOf(tf.tidy(() => tf.softmax(scores)));
    scores.dispose();
    let nll = 0;
    exs.forEach((ex, i) => {
      expect(got[i]).toHaveLength(3);
      // Each candidate's score is the head on that candidate's own sequence.
      ex.sequences.forEach((seq, k) => expect(got[i]![k]!).toBeCloseTo(headOut(head, extractHidden(m, seq))[0]!, 4));
      expect(probs[i]!.reduce((a, p) => a + p, 0)).toBeCloseTo(1, 6);
      nll -= logSoftmax(got[i]!)[ex.label]!;
    });
    const loss = tf.tidy(() => gpt1Loss('mc', m, head, 0)(batch, ctx()).dataSync()[0]!);
    expect(loss).toBeCloseTo(nll / exs.length, 4);
    head.dispose();
    m.dispose();
  });

  test('λ > 0 adds the LM loss: total = task + λ·LM, against terms computed from the logits in float64', () => {
    const { m, t } = model();
    const head = new TaskHead(m.config.nEmbd, 2, { seed: 7, dropout: 0 });
    const ds: TaskDataset = { kind: 'cls', labels: ['a', 'b'], train: clsData(3), dev: [], test: [] };
    const batch: TaskBatch = makeBatch(formatAll(ds, 'train', t, 32));
    // The two terms, separately: the task cross-entropy from the head's scores, the LM cross-entropy from
    // the model's logits over the positions that have a target (up to <e>).
    const { scores, logits } = taskScores('cls', m, head, batch, { training: false, seed: 0 });
    const s = rowsOf(scores);
    const l = logits.arraySync() as number[][][];
    tf.dispose([scores, logits]);
    const task = s.reduce((a, row, i) => a - logSoftmax(row)[batch.labels[i]!]!, 0) / s.length;
    let lmSum = 0;
    let lmCount = 0;
    for (let r = 0; r < batch.rows; r++) {
      for (let p = 0; p < batch.T; p++) {
        const target = batch.targets[r * batch.T + p]!;
        if (target === IGNORE_INDEX) continue;
        lmSum -= logSoftmax(l[r]![p]!)[target]!;
        lmCount++;
      }
    }
    const lm = lmSum / lmCount;
    expect(lm).toBeGreaterThan(0.1);
    for (const lambda of [0, 0.5, 2]) {
      const parts: Record<string, number> = {};
      const total = tf.tidy(
        () =>
          gpt1Loss(
            'cls',
            m,
            head,
            lambda,
          )(
            batch,
            ctx((name, v) => void (parts[name] = v.dataSync()[0]!)),
          ).dataSync()[0]!,
      );
      expect(total).toBeCloseTo(task + lambda * lm, 4);
      expect(parts.task_loss).toBeCloseTo(task, 4);
      expect(parts.lm_loss).toBeCloseTo(lm, 4);
    }
    head.dispose();
    m.dispose();
  });
});

describe('fine-tuning runs', () => {
  test('classification: the head learns a separable task; tensors do not leak across steps; run files written', async () => {
    const { m, t } = model();
    const ds: TaskDataset = { kind: 'cls', labels: ['a', 'b'], train: clsData(32), dev: clsData(8), test: clsData(8) };
    const counts: number[] = [];
    const parts: Record<string, number>[] = [];
    const out = path.join(root, 'cls');
    const tensorboard = path.join(root, 'cls-tensorboard');
    const r = await finetune(m, ds, t, { out, epochs: 4, batchSize: 8, lr: 3e-3, seed: 1, tensorboard }, undefined, {
      onStep: (rec) => {
        counts.push(tf.memory().numTensors);
        parts.push(rec.parts);
      },
    });
    expect(r.run.step).toBe(16);
    expect(r.dev).toBe(1);
    expect(r.test).toBe(1);
    expect(new Set(counts.slice(2)).size).toBe(1);
    expect(parts.every((p) => p.lm_loss! > 0 && p.task_loss! > 0)).toBe(true);
    // One checkpoint and one dev evaluation per epoch (4 steps), the last two checkpoints kept.
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([12, 16]);
    expect(
      readMetrics(out)
        .filter((x) => x.type === 'eval')
        .map((x) => x.step),
    ).toEqual([4, 8, 12, 16]);
    // --tensorboard: the loss parts per step and the dev metrics per evaluation.
    const events = decodeEvents(path.join(tensorboard, fs.readdirSync(tensorboard)[0]!));
    expect(events.filter((e) => e.scalars['train/task_loss']! > 0 && e.scalars['train/lm_loss']! > 0)).toHaveLength(16);
    expect(events.filter((e) => e.scalars['val/dev_accuracy'] !== undefined).map((e) => e.step)).toEqual([4, 8, 12, 16]);
    r.head.dispose();
    m.dispose();
  });

  test('an interrupted run resumed from its checkpoint gives exactly the losses of the uninterrupted run', async () => {
    const ds: TaskDataset = { kind: 'cls', labels: ['a', 'b'], train: clsData(12), dev: clsData(4), test: [] };
    const opts = { epochs: 2, batchSize: 4, lr: 3e-3, seed: 3, checkpointEvery: 1 };
    const full = path.join(root, 'full');
    const a = model();
    (await finetune(a.m, ds, a.t, { ...opts, out: full })).head.dispose();
    a.m.dispose();

    const cut = path.join(root, 'cut');
    const b = model();
    let seen = 0;
    const r1 = await finetune(b.m, ds, b.t, { ...opts, out: cut }, undefined, {
      onStep: (rec) => (seen = rec.step),
      shouldStop: () => seen >= 4,
    });
    expect(r1.run.reason).toBe('interrupted');
    r1.head.dispose();
    b.m.dispose();

    // What `finetune --resume` does: model, tokenizer and head from the checkpoint.
    const dir = listCheckpoints(cut).pop()!.dir;
    const state = readTrainerState(dir);
    expect(state.step).toBe(4);
    const m2 = await loadGPT(dir);
    const t2 = BPETokenizer.fromDir(dir);
    const head = TaskHead.fromTensors(m2.extraTensors, 'task_head', { dropout: 0.1 });
    const r2 = await finetune(m2, ds, t2, { ...opts, out: cut, resume: { dir, state, head } });
    expect(r2.run.step).toBe(6);
    const losses = (d: string) =>
      readMetrics(d)
        .filter((x) => x.type === 'train')
        .map((x) => x.loss);
    expect(losses(cut)).toHaveLength(6);
    expect(losses(cut)).toEqual(losses(full));
    const dev = (d: string) =>
      readMetrics(d)
        .filter((x) => x.type === 'eval')
        .map((x) => x.val_loss);
    expect(dev(cut)).toEqual(dev(full));
    head.dispose();
    m2.dispose();
  });

  test('entailment and multiple choice train end to end; λ = 0 makes the loss the task term', async () => {
    const { m, t } = model();
    const entail: TaskDataset = {
      kind: 'entail',
      labels: ['no', 'yes'],
      train: Array.from({ length: 8 }, (_, i) => ({
        kind: 'entail' as const,
        premise: 'cat dog',
        hypothesis: i % 2 ? 'cow' : 'sea',
        label: i % 2,
      })),
      dev: [],
      test: [],
    };
    const recs: { loss: number; task: number }[] = [];
    const r1 = await finetune(
      m,
      entail,
      t,
      { out: path.join(root, 'entail'), epochs: 1, batchSize: 4, auxLmWeight: 0, seed: 2 },
      undefined,
      {
        onStep: (rec) => recs.push({ loss: rec.loss, task: rec.parts.task_loss! }),
      },
    );
    expect(recs).toHaveLength(2);
    for (const x of recs) expect(x.loss).toBeCloseTo(x.task, 6);
    const mc: TaskDataset = {
      kind: 'mc',
      labels: ['1', '2', '3'],
      train: [{ kind: 'mc', context: 'cat', options: ['dog', 'sea', 'rock'], label: 0 }],
      dev: [],
      test: [],
    };
    const r3 = await finetune(m, mc, t, { out: path.join(root, 'mc'), epochs: 2, batchSize: 1, seed: 4 });
    expect(r3.head.nClasses).toBe(1);
    expect(r3.run.step).toBe(2);
    for (const r of [r1, r3]) r.head.dispose();
    m.dispose();
  });
});
