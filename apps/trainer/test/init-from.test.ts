// `pretrain --init-from DIR`: a new run that starts from a model directory's weights and tokenizer (here the
// committed tiny Hugging Face GPT-2 fixture of the playground), with a fresh optimizer; conflicting flags are
// usage errors naming the flag.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { pretrain, PRETRAIN_DEFAULTS, type PretrainConfig } from '../src/commands/pretrain';
import { trainingData } from '../src/corpus';
import { inputsAndTargets, WindowSampler } from '../src/train/batches';
import { listCheckpoints, readTrainerState } from '../src/train/checkpoint';
import { readMetrics, runCliSync, tmpDir } from './helpers';

/** A Hugging Face GPT-2 directory (config.json, model.safetensors, vocab.json, merges.txt), 2 layers × 32. */
const FIXTURE = path.resolve(__dirname, '..', '..', 'playground', 'test', 'fixtures', 'tiny');
const quiet = { stderr: () => {}, isTTY: false };
const CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}";
let root: string;
let text: string;
/** The fixture plus a tokenizer_config.json with a chat template (which checkpoints of the new run keep). */
let model: string;

const settings = (out: string): Partial<PretrainConfig> => ({
  corpus: [text],
  initFrom: model,
  blockSize: 16,
  batchSize: 4,
  evalBatches: 1,
  sampleTokens: 0,
  workers: 1,
  steps: 3,
  warmupSteps: 1,
  lr: 1e-3,
  evalEvery: 100,
  checkpointEvery: 100,
  out,
});

beforeAll(async () => {
  await initBackend();
  root = tmpDir('init-from');
  text = path.join(root, 'input.txt');
  const lines = Array.from({ length: 200 }, (_, i) => `the river ${i % 7} runs under the old stone bridge near house ${i}.`);
  fs.writeFileSync(text, lines.join('\n'));
  model = path.join(root, 'tiny-chat');
  fs.cpSync(FIXTURE, model, { recursive: true });
  fs.writeFileSync(path.join(model, 'tokenizer_config.json'), JSON.stringify({ chat_template: CHAT_TEMPLATE }));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('the first step trains the fixture model itself: its loss equals the fixture loss on that batch', async () => {
  const out = path.join(root, 'run');
  const losses: number[] = [];
  const r = await pretrain(settings(out), quiet, { keepModel: false, onStep: (s) => losses.push(s.loss) });
  expect(r.step).toBe(3);
  expect(losses).toHaveLength(3);
  // The batch of step 1, drawn the way the run draws it (same shards, seed and window sampler).
  const cfg = { ...PRETRAIN_DEFAULTS, ...settings(out), tokenizer: path.join(out, 'tokenizer.json') };
  const data = await trainingData(cfg, out, () => {});
  const batch = new WindowSampler(data.train, cfg.blockSize, cfg.seed).sample(cfg.batchSize);
  const { inputs, targets } = inputsAndTargets(batch);
  const fixture = await loadGPT(FIXTURE);
  const l = tf.tidy(() =>
    fixture.loss(tf.tensor2d(inputs, [batch.rows, batch.T], 'int32'), tf.tensor2d(targets, [batch.rows, batch.T], 'int32')),
  );
  const expected = (await l.data())[0]!;
  tf.dispose([l]);
  fixture.dispose();
  expect(losses[0]).toBeCloseTo(expected, 4);
  // Not a fresh model: a random 320-token model starts near ln(320) ≈ 5.77.
  expect(Math.abs(expected - Math.log(320))).toBeGreaterThan(0.5);
  // The tokenizer came from the fixture (no tokenizer was trained), and the checkpoint keeps its configuration.
  expect(fs.readdirSync(path.join(out, 'cache')).some((f) => f.startsWith('tokenizer-'))).toBe(false);
  const ck = listCheckpoints(out).at(-1)!;
  expect(readTrainerState(ck.dir).optimizer.step).toBe(3);
  const m = await loadGPT(ck.dir);
  expect({ nLayer: m.config.nLayer, nEmbd: m.config.nEmbd, vocabSize: m.config.vocabSize }).toEqual({
    nLayer: 2,
    nEmbd: 32,
    vocabSize: 320,
  });
  m.dispose();
  expect(JSON.parse(fs.readFileSync(path.join(ck.dir, 'tokenizer_config.json'), 'utf8')).chat_template).toBe(CHAT_TEMPLATE);
  expect(readMetrics(out).filter((x) => x.type === 'train')).toHaveLength(3);
  // A run directory works as --init-from too (its newest checkpoint), and --resume of an init-from run continues it.
  const again = await pretrain({ ...settings(path.join(root, 'from-run')), initFrom: out, steps: 1 }, quiet, { keepModel: false });
  expect(again.step).toBe(1);
  const resumed = await pretrain({ resume: out, steps: 4 }, quiet, { keepModel: false });
  expect(resumed.step).toBe(4);
}, 240000);

test('flags that contradict the checkpoint are usage errors naming the flag (exit 2)', () => {
  const base = ['pretrain', '--corpus', text, '--init-from', model, '--out', path.join(root, 'bad')];
  const cases: [string[], RegExp][] = [
    [['--n-layer', '4'], /--n-layer 4 conflicts with --init-from .*tiny-chat \(n_layer=2\)/],
    [['--preset', 'nano'], /--preset conflicts with --init-from/],
    [['--block-size', '256'], /--block-size 256 is longer than the context of --init-from .* \(n_positions=128\)/],
    [['--resume', path.join(root, 'run')], /give either --resume .* or --init-from/],
  ];
  for (const [flags, msg] of cases) {
    const r = runCliSync([...base, ...flags]);
    expect(r.stderr).toMatch(msg);
    expect(r.code).toBe(2);
  }
  const missing = runCliSync(['pretrain', '--corpus', text, '--init-from', path.join(root, 'nowhere')]);
  expect(missing.stderr).toMatch(/--init-from .*nowhere: no such directory/);
  expect(missing.code).toBe(2);
}, 120000);
