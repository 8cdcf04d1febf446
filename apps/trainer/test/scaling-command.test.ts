import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { runScaling } from '../src/commands/scaling';
import { tmpDir, writeCorpus } from './helpers';

let root: string;
let corpus: string;
const log: string[] = [];
const io = { stderr: (t: string) => void log.push(t), isTTY: false };
// A few lines in the corpus's own words: the held-out text and last-word passages of the measurement.
const evalSet = {
  text: 'the dog runs over the river. a small cat sleeps near the house. the red bird eats slowly.',
  passages: ['the dog runs over the river and the dog', 'a cat sleeps near the tree and the cat', 'the bird eats with the large bird'],
};

beforeAll(async () => {
  await initBackend();
  root = tmpDir('scaling');
  corpus = writeCorpus(root);
}, 60000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const flags = (out: string, extra: Record<string, unknown> = {}) => ({
  corpus: [`jsonl:${corpus}`],
  widths: ['2', '3', '4'],
  'predict-width': 8,
  tokens: 4000,
  'block-size': 16,
  'vocab-size': 300,
  'batch-scale': 0.3,
  seeds: ['1', '2'],
  out,
  ...extra,
});

describe('gptlab-train scaling', () => {
  test('predicts before training the largest size, then trains it per seed; a second call reuses every run', async () => {
    const out = path.join(root, 'sweep');
    const first = await runScaling(flags(out, { 'stop-after-prediction': true }), io, evalSet);
    expect(first.runs).toHaveLength(6); // 3 small sizes × 2 seeds, the largest not trained
    expect(first.actual).toBeUndefined();
    expect(fs.existsSync(path.join(out, 'w8-seed1'))).toBe(false);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'prediction.json'), 'utf8'));
    expect(saved.loss.value).toBe(first.prediction.loss.value);
    expect(first.prediction.extrapolation).toBeGreaterThan(1);
    for (const r of first.runs) {
      expect(r.compute).toBe(6 * r.params * r.tokens);
      expect(Number.isFinite(r.loss) && Number.isFinite(r.lastWordNll)).toBe(true);
    }

    log.length = 0;
    const before = tf.memory().numTensors;
    const full = await runScaling(flags(out), io, evalSet);
    expect(tf.memory().numTensors).toBe(before);
    expect(log.filter((l) => l.includes('reusing'))).toHaveLength(6);
    expect(full.prediction.writtenAt).toBe(first.prediction.writtenAt); // the same fit, made before the largest
    expect(full.actual!.startedAt >= full.prediction.writtenAt).toBe(true);
    expect(full.runs.filter((r) => r.predicted).map((r) => [r.width, r.seed])).toEqual([
      [8, 1],
      [8, 2],
    ]);
    expect(full.actual!.loss).toEqual(full.runs.filter((r) => r.predicted).map((r) => r.loss));
    const svg = fs.readFileSync(full.svg!, 'utf8');
    expect(svg).toContain('Held-out loss');
    expect(svg).toContain('Capability: last-word prediction');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'scaling.json'), 'utf8'));
    expect(report.runs).toHaveLength(8);
  }, 240000);

  test('rejects a predicted width that is not the largest, and seeds given twice', async () => {
    await expect(runScaling(flags(path.join(root, 'bad'), { 'predict-width': 4 }), io, evalSet)).rejects.toThrow(/must exceed/);
    await expect(runScaling(flags(path.join(root, 'bad'), { seeds: ['1', '1'] }), io, evalSet)).rejects.toThrow(/--seeds/);
  });
});
