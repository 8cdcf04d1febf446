// TensorBoard event files decoded back against the format (tfevents.ts, a decoder written from the spec, not
// from the writer's code), and the values a real pretraining run logged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { pretrain, type PretrainConfig } from '../src/commands/pretrain';
import { crc32c, TensorBoardWriter } from '../src/train/tensorboard';
import { makeShards, readMetrics, tinyPretrain, tmpDir } from './helpers';
import { crc32cBitwise, decodeEvents } from './tfevents';

let root: string;
beforeAll(() => (root = tmpDir('tensorboard')));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('the CRC32C check vector, and a corrupted record is caught by the decoder', () => {
  expect(crc32cBitwise(Buffer.from('123456789'))).toBe(0xe3069283);
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  const dir = path.join(root, 'unit');
  const w = new TensorBoardWriter(dir, 1_700_000_000_123);
  w.scalars(7, { 'train/loss': 2.5, skipped: NaN, big: 300_000 });
  w.close();
  expect(path.basename(w.file)).toMatch(/^events\.out\.tfevents\.1700000000\.[\w.-]+$/);
  const events = decodeEvents(w.file);
  expect(events[0]).toEqual({ wallTime: 1_700_000_000.123, step: 0, fileVersion: 'brain.Event:2', scalars: {} });
  expect(events[1]!.step).toBe(7);
  expect(events[1]!.scalars).toEqual({ 'train/loss': 2.5, big: 300_000 }); // non-finite values are not logged
  const bytes = fs.readFileSync(w.file);
  bytes[bytes.length - 6] ^= 1; // a bit of the last record's data
  fs.writeFileSync(w.file, bytes);
  expect(() => decodeEvents(w.file)).toThrow(/bad data CRC/);
  // A second writer in the same second gets its own file.
  const w2 = new TensorBoardWriter(dir, 1_700_000_000_500);
  w2.close();
  expect(w2.file).not.toBe(w.file);
});

test('pretrain --tensorboard logs loss, lr, grad norm, tokens/s and validation loss per step, as in metrics.jsonl', async () => {
  await initBackend();
  const shards = await makeShards(root);
  const out = path.join(root, 'run');
  const tb = path.join(root, 'tb');
  const cfg: Partial<PretrainConfig> = {
    ...tinyPretrain(out),
    data: shards.data,
    sampleTokens: 0,
    steps: 4,
    warmupSteps: 1,
    evalEvery: 2,
    checkpointEvery: 100,
    tensorboard: tb,
  };
  await pretrain(cfg, { stderr: () => {}, isTTY: false }, { keepModel: false });
  const files = fs.readdirSync(tb);
  expect(files).toHaveLength(1);
  const events = decodeEvents(path.join(tb, files[0]!));
  expect(events[0]!.fileVersion).toBe('brain.Event:2');
  const metrics = readMetrics(out) as unknown as Record<string, number | string>[];
  const train = metrics.filter((m) => m.type === 'train');
  const trainEvents = events.filter((e) => 'train/loss' in e.scalars);
  expect(trainEvents.map((e) => e.step)).toEqual([1, 2, 3, 4]);
  trainEvents.forEach((e, i) => {
    const m = train[i]!;
    expect(e.step).toBe(m.step);
    // float32 in the event file, float64 in metrics.jsonl
    expect(e.scalars['train/loss']).toBeCloseTo(m.loss as number, 5);
    expect(e.scalars['train/lr']).toBeCloseTo(m.lr as number, 8);
    expect(e.scalars['train/grad_norm']).toBeCloseTo(m.grad_norm as number, 4);
    expect(Math.abs(e.scalars['train/tokens_per_sec']! - (m.tokens_per_sec as number))).toBeLessThanOrEqual(1); // jsonl rounds
    expect(Math.abs(e.wallTime - Date.now() / 1000)).toBeLessThan(600);
  });
  const evals = metrics.filter((m) => m.type === 'eval');
  const evalEvents = events.filter((e) => 'val/loss' in e.scalars);
  expect(evalEvents.map((e) => e.step)).toEqual([2, 4]);
  evalEvents.forEach((e, i) => {
    expect(e.scalars['val/loss']).toBeCloseTo(evals[i]!.val_loss as number, 5);
    expect(e.scalars['val/val_ppl']).toBeCloseTo(evals[i]!.val_ppl as number, 3);
  });
}, 120000);
