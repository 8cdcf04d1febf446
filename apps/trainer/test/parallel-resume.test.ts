// The optimizer step on the gradient workers keeps AdamW's moments in shared memory: checkpoints must save
// what the workers wrote, and a resumed run must hand the loaded moments back to the workers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { readSafetensors } from '@gptlab/model';
import { pretrain } from '../src/commands/pretrain';
import { listCheckpoints } from '../src/train/checkpoint';
import { makeShards, tinyPretrain, tmpDir } from './helpers';

const dir = tmpDir('parallel-resume');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The AdamW moments of a run's last checkpoint, by name. */
async function moments(run: string): Promise<Map<string, number[]>> {
  const file = path.join(listCheckpoints(run).pop()!.dir, 'optimizer.safetensors');
  const { tensors } = await readSafetensors(file);
  return new Map([...tensors].map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
}

test('2 workers: an interrupted run resumed from its checkpoint gives exactly the losses and moments of the whole run', async () => {
  await initBackend();
  const { data } = await makeShards(dir);
  const quiet = { stderr: () => {}, isTTY: false };
  const settings = (out: string) => ({ ...tinyPretrain(path.join(dir, out)), data, workers: 2, checkpointEvery: 100 });
  const whole: number[] = [];
  await pretrain(settings('whole'), quiet, { keepModel: false, onStep: (r) => whole.push(r.loss) });
  const parts: number[] = [];
  const first = await pretrain(settings('cut'), quiet, {
    keepModel: false,
    onStep: (r) => parts.push(r.loss),
    shouldStop: () => parts.length >= 3,
  });
  expect(first.reason).toBe('interrupted');
  const resumed = await pretrain({ resume: path.join(dir, 'cut') }, quiet, { keepModel: false, onStep: (r) => parts.push(r.loss) });
  expect(resumed.step).toBe(8);
  expect(resumed.workers).toBe(2);
  expect(whole).toHaveLength(8);
  expect(parts).toEqual(whole);
  // The saved moments are those the workers wrote (not zeros left in the optimizer's own arrays), equal in both runs.
  const [a, b] = [await moments(path.join(dir, 'whole')), await moments(path.join(dir, 'cut'))];
  const second = [...a.keys()].filter((k) => k.startsWith('v.'));
  expect(second.length).toBeGreaterThan(4);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [k, values] of a) expect(b.get(k)).toEqual(values);
  for (const k of second) expect(a.get(k)!.some((x) => x > 0)).toBe(true);
}, 180000);
