import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { pretrain } from '../src/commands/pretrain';
import { listCheckpoints, readTrainerState } from '../src/train/checkpoint';
import { makeShards, readMetrics, tinyPretrain, tmpDir } from './helpers';

const quiet = { stderr: () => {}, isTTY: false };
let shards: { data: string; tokenizer: string };
let root: string;

const base = tinyPretrain;

beforeAll(async () => {
  await initBackend();
  root = tmpDir('pretrain');
  shards = await makeShards(root);
}, 60000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const trainLosses = (dir: string) =>
  readMetrics(dir)
    .filter((m) => m.type === 'train')
    .map((m) => m.loss!);

describe('pretrain', () => {
  test('same seed and data give the same losses; the loss falls; checkpoints and run files are written', async () => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    await pretrain({ ...base(a), data: shards.data }, quiet, { keepModel: false });
    // (the first run fills caches such as causal masks; a second run must not add tensors)
    const before = tf.memory().numTensors;
    await pretrain({ ...base(b), data: shards.data }, quiet, { keepModel: false });
    expect(tf.memory().numTensors).toBe(before);
    const la = trainLosses(a);
    expect(la).toHaveLength(8);
    expect(trainLosses(b)).toEqual(la);
    expect(la[7]!).toBeLessThan(la[0]!);
    const evals = readMetrics(a).filter((m) => m.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([4, 8]);
    expect(fs.readFileSync(path.join(a, 'loss.svg'), 'utf8')).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>$/);
    const cks = listCheckpoints(a);
    expect(cks.map((c) => c.step)).toEqual([4, 8]);
    const last = cks[1]!.dir;
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'tokenizer.json']) {
      expect(fs.existsSync(path.join(last, f))).toBe(true);
    }
    const st = readTrainerState(last);
    expect(st.step).toBe(8);
    expect(st.optimizer.step).toBe(8);
    const m = await loadGPT(last);
    expect(m.config.nEmbd).toBe(32);
    m.dispose();
  }, 120000);

  test('2 gradient worker threads give the losses of 1 (same global batch, float tolerance)', async () => {
    const one = path.join(root, 'w1');
    const two = path.join(root, 'w2');
    await pretrain({ ...base(one), data: shards.data, steps: 4, workers: 1 }, quiet, { keepModel: false });
    const r = await pretrain({ ...base(two), data: shards.data, steps: 4, workers: 2 }, quiet, { keepModel: false });
    expect(r.workers).toBe(2);
    const a = trainLosses(one);
    const b = trainLosses(two);
    expect(b).toHaveLength(4);
    a.forEach((l, i) => expect(b[i]!).toBeCloseTo(l, 4));
    expect(b).not.toEqual(a.map(() => a[0])); // the run moves
  }, 120000);

  test('an interrupted run resumed from its checkpoint gives exactly the losses of the uninterrupted run', async () => {
    const full = path.join(root, 'full');
    const cut = path.join(root, 'cut');
    await pretrain({ ...base(full), data: shards.data, checkpointEvery: 100 }, quiet, { keepModel: false });
    // Stop after step 3 (like Ctrl-C: a checkpoint at the step reached), then resume.
    const r1 = await pretrain({ ...base(cut), data: shards.data, checkpointEvery: 100 }, quiet, {
      keepModel: false,
      onStep: (r) => (stepSeen = r.step),
      shouldStop: () => stepSeen >= 3,
    });
    expect(r1.reason).toBe('interrupted');
    expect(r1.step).toBe(3);
    const r2 = await pretrain({ resume: cut }, quiet, { keepModel: false });
    expect(r2.step).toBe(8);
    expect(trainLosses(cut)).toEqual(trainLosses(full));
    const vf = readMetrics(full)
      .filter((m) => m.type === 'eval')
      .map((m) => m.val_loss);
    const vc = readMetrics(cut)
      .filter((m) => m.type === 'eval')
      .map((m) => m.val_loss);
    expect(vc).toEqual(vf);
  }, 120000);
});

let stepSeen = 0;
