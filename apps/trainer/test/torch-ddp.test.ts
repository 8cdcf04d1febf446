// examples/torch-ddp: torchrun with 2 gloo processes trains on gptlab token shards and writes a Hugging Face
// GPT-2 directory; gptlab loads it and its log-probs equal PyTorch's for the same ids.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend, tf } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { makeShards, tmpDir } from './helpers';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'examples', 'torch-ddp', 'train.py');
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn('skipping the torch-ddp test: /usr/bin/python3 cannot import torch (apt-get install python3-torch)');
const describeTorch = hasTorch ? describe : describe.skip;

describeTorch('PyTorch DDP on gptlab shards → a checkpoint gptlab loads', () => {
  test('torchrun --nproc_per_node 2 (gloo) trains; gptlab log-probs equal PyTorch log-probs', async () => {
    const dir = tmpDir('torch-ddp');
    const { data } = await makeShards(dir);
    const out = path.join(dir, 'ckpt');
    const scoreFile = path.join(dir, 'score.json');
    // --redirects 1 --tee 1: Debian's torch 1.13 on Python 3.11 cannot parse torchrun's default "0" (IntFlag change)
    const r = spawnSync(
      PYTHON,
      [
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node',
        '2',
        '--redirects',
        '1',
        '--tee',
        '1',
        '--log_dir',
        path.join(dir, 'logs'),
        SCRIPT,
        '--data',
        data,
        '--out',
        out,
        '--steps',
        '12',
        '--n-layer',
        '2',
        '--n-embd',
        '32',
        '--block-size',
        '16',
        '--batch-size',
        '4',
        '--score-out',
        scoreFile,
      ],
      { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 50000 },
    );
    expect([r.status, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    const lines = r.stdout
      .split('\n')
      .map((l) => /\{.*\}$/.exec(l)?.[0])
      .filter((l): l is string => !!l)
      .map((l) => JSON.parse(l));
    const losses = lines.filter((l) => 'loss' in l).map((l) => l.loss as number);
    expect(losses).toHaveLength(12);
    expect(losses[11]!).toBeLessThan(losses[0]!);
    expect(lines).toContainEqual({ ranks: 2, in_sync: true });
    expect(fs.existsSync(path.join(out, 'tokenizer.json'))).toBe(true);

    await initBackend();
    const score = JSON.parse(fs.readFileSync(scoreFile, 'utf8')) as { ids: number[]; logprobs: number[] };
    expect(score.ids).toHaveLength(17);
    const model = await loadGPT(out);
    const logprobs = () =>
      tf.tidy(() => {
        const logits = model.forward([score.ids.slice(0, -1)]).logits as tf.Tensor3D;
        const lp = tf.logSoftmax(tf.squeeze(logits, [0]) as tf.Tensor2D);
        const idx = tf.tensor2d(
          score.ids.slice(1).map((t, i) => [i, t]),
          undefined,
          'int32',
        );
        return tf.gatherND(lp, idx);
      });
    logprobs().dispose(); // the first forward builds the model's cached constants (causal mask)
    const before = tf.memory().numTensors;
    const ours = logprobs();
    const got = Array.from(await ours.data());
    ours.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    const worst = Math.max(...got.map((g, i) => Math.abs(g - score.logprobs[i]!)));
    expect(worst).toBeLessThan(1e-4);
    // the log-probs are those of a trained model, not of a uniform one
    expect(score.logprobs.some((l) => Math.abs(l + Math.log(300)) > 0.05)).toBe(true);
  }, 60000);
});
