// The reward model: preference JSONL (strings and message lists; errors naming file:line and field), the
// Bradley–Terry gradient w.r.t. the head against float64 finite differences, a run on a trivially separable
// set whose held-out accuracy rises above chance, the saved model loading back as a scorer, and the command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { encodePair, readPreferenceFile, splitPairs, type PreferencePair } from '../src/align/preference';
import { ChatTemplate } from '../src/align/template';
import { makePairBatch, PAIR_RUN_DEFAULTS } from '../src/align/logprobs';
import { loadRewardModel, newRewardHead, REWARD_CONFIG_FILE, rewardLoss, rewardMetrics, trainRewardModel } from '../src/align/reward';
import { listCheckpoints } from '../src/train/checkpoint';
import { readMetrics, tmpDir, trainInProcess, writePairs } from './helpers';

const FIX = path.join(__dirname, 'fixtures', 'align');
let root: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('reward');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const tok = BPETokenizer.train(['good answer here', 'bad reply there', 'question about things', 'user: assistant:'], {
  vocabSize: 300,
  minFrequency: 1,
});
const tinyModel = (seed = 1) => GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 32 }), { seed });

/** Chosen always says "good answer here", rejected "bad reply there": separable from the last tokens alone. */
const separable = (n: number): PreferencePair[] =>
  Array.from({ length: n }, (_, i) => ({
    prompt: `question ${i % 5 ? 'about' : ''} things`,
    chosen: ' good answer here',
    rejected: i % 2 ? ' bad reply there' : ' bad reply',
    line: i + 1,
  }));

describe('preference JSONL', () => {
  test('strings stay as written; message lists are rendered through the chat template', () => {
    const pairs = readPreferenceFile(path.join(FIX, 'pref-mixed.jsonl'));
    expect(pairs).toHaveLength(2);
    expect(pairs[0]).toEqual({ prompt: 'Define dog.', chosen: ' a domesticated canine', rejected: ' a large body of water', line: 1 });
    expect(pairs[1]!.line).toBe(3); // the blank line 2 is skipped, not renumbered
    // The default template: the prompt ends with the generation prompt, an answer is the reply and its eos.
    expect(pairs[1]!.prompt).toBe('system:\nAnswer in one word.<|endoftext|>user:\nIs a cat a kind of animal?<|endoftext|>assistant:\n');
    expect(pairs[1]!.chosen).toBe('Yes<|endoftext|>');
    expect(pairs[1]!.rejected).toBe('No, it is not.<|endoftext|>');
    // Prompt + answer is exactly the template's rendering of the whole conversation (what SFT trained on).
    const t = ChatTemplate.default();
    const conv = [
      { role: 'system' as const, content: 'Answer in one word.' },
      { role: 'user' as const, content: 'Is a cat a kind of animal?' },
      { role: 'assistant' as const, content: 'Yes' },
    ];
    expect(pairs[1]!.prompt + pairs[1]!.chosen).toBe(t.render(conv));
    // Another template (ChatML-like) renders the same records its own way.
    const chatml = new ChatTemplate({
      source:
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    });
    const other = readPreferenceFile(path.join(FIX, 'pref-mixed.jsonl'), chatml);
    expect(other[1]!.prompt).toBe(
      '<|im_start|>system\nAnswer in one word.<|im_end|>\n<|im_start|>user\nIs a cat a kind of animal?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(other[1]!.chosen).toBe('Yes<|im_end|>\n');
    expect(other[0]).toEqual(pairs[0]);
  });

  test('a template that fails to render is an error naming file:line', () => {
    const raising = new ChatTemplate({ source: "{{ raise_exception('no system messages') }}" });
    expect(() => readPreferenceFile(path.join(FIX, 'pref-mixed.jsonl'), raising)).toThrow(/pref-mixed\.jsonl:3: .*no system messages/);
  });

  test('the eos token in rendered text is encoded as its single id', () => {
    const t = BPETokenizer.train(['Yes no answer'], { vocabSize: 270, minFrequency: 1, specialTokens: ['<|endoftext|>'] });
    const e = encodePair(t, { prompt: 'Q', chosen: 'Yes<|endoftext|>', rejected: 'no', line: 1 }, 32);
    expect(e.chosen[e.chosen.length - 1]).toBe(t.eosId);
    expect(e.chosen).toEqual([...t.encode('Yes'), t.eosId]);
  });

  test('errors name the file, the line and the field', () => {
    const bad = (f: string) => () => readPreferenceFile(path.join(FIX, f));
    expect(bad('pref-missing-rejected.jsonl')).toThrow(/pref-missing-rejected\.jsonl:2: missing field "rejected"/);
    expect(bad('pref-bad-role.jsonl')).toThrow(/pref-bad-role\.jsonl:2: field "prompt"\[0\]: unknown role "robot"/);
  });

  test('the held-out split is seeded, disjoint and keeps at least one pair on each side', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const a = splitPairs(items, 0.2, 3);
    expect(a).toEqual(splitPairs(items, 0.2, 3));
    expect(a.held).toHaveLength(2);
    expect([...a.train, ...a.held].sort((x, y) => x - y)).toEqual(items);
    expect(splitPairs([1, 2], 0.01, 0).held).toHaveLength(1);
  });

  test('a pair longer than the context keeps the end of the prompt and the start of the response', () => {
    const long = { prompt: 'question about things '.repeat(20), chosen: ' good answer here'.repeat(20), rejected: ' bad', line: 1 };
    const e = encodePair(tok, long, 16);
    expect(e.prompt.length + e.chosen.length).toBeLessThanOrEqual(16);
    expect(e.chosen).toEqual(tok.encode(long.chosen).slice(0, e.chosen.length));
    const p = tok.encode(long.prompt);
    expect(e.prompt).toEqual(p.slice(p.length - e.prompt.length));
  });
});

describe('the Bradley–Terry loss', () => {
  test('its gradient w.r.t. the head matches float64 finite differences; the bias gets none', () => {
    const model = tinyModel();
    const head = newRewardHead(model, 4);
    head.weight.assign(tf.randomNormal(head.weight.shape, 0, 0.5, 'float32', 9));
    const b = makePairBatch(separable(3).map((p) => encodePair(tok, p, 32)));
    // Last-token hidden states, read once: the loss is a function of the head alone from here.
    const H = tf.tidy(() => {
      const { hidden } = model.forward(tf.tensor2d(b.ids, [2 * b.pairs, b.T], 'int32'), { outputHidden: true });
      return (hidden!.arraySync() as number[][][]).map((row, r) => row[b.last[r]!]!);
    });
    const W = (head.weight.arraySync() as number[][]).map((r) => r[0]!);
    const loss64 = (w: number[]) => {
      const r = H.map((h) => h.reduce((s, x, c) => s + x * w[c]!, 0));
      let sum = 0;
      for (let i = 0; i < b.pairs; i++) sum += Math.log1p(Math.exp(r[b.pairs + i]! - r[i]!));
      return sum / b.pairs;
    };
    const { grads, value } = tf.variableGrads(
      () => rewardLoss(model, head)(b, { seed: 0, step: 0, chunk: 0, training: false }),
      head.variables(),
    );
    expect(value.dataSync()[0]).toBeCloseTo(loss64(W), 4);
    const gW = Array.from(grads[head.weight.name]!.dataSync());
    const eps = 1e-6;
    const fd = W.map((_, c) => {
      const up = W.slice();
      const dn = W.slice();
      up[c]! += eps;
      dn[c]! -= eps;
      return (loss64(up) - loss64(dn)) / (2 * eps);
    });
    const scale = Math.max(...fd.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    fd.forEach((g, c) => expect(Math.abs(gW[c]! - g)).toBeLessThan(1e-3 * scale + 1e-5));
    expect(Math.abs(grads[head.bias.name]!.dataSync()[0]!)).toBeLessThan(1e-6);
    tf.dispose([value, ...Object.values(grads)]);
    head.dispose();
    model.dispose();
  });
});

describe('reward model training', () => {
  test('held-out accuracy on a separable set rises above chance; the checkpoint loads back as a scorer', async () => {
    const model = tinyModel(2);
    const head = newRewardHead(model, 5);
    const data = { train: separable(24), held: separable(8).map((p) => ({ ...p, prompt: p.prompt + ' here' })) };
    const T = 32;
    const heldBatch = [makePairBatch(data.held.map((p) => encodePair(tok, p, T)))];
    const before = await rewardMetrics(model, head, heldBatch);
    const out = path.join(root, 'train');
    const n0 = tf.memory().numTensors;
    const r = await trainRewardModel(model, head, tok, data, {
      ...PAIR_RUN_DEFAULTS,
      out,
      epochs: 4,
      batchSize: 8,
      lr: 3e-3,
      evalEvery: 4,
    });
    expect(tf.memory().numTensors).toBe(n0);
    expect(r.run.step).toBe(12);
    expect(r.eval.accuracy).toBe(1);
    expect(r.eval.loss).toBeLessThan(before.loss);
    expect(r.eval.loss).toBeLessThan(Math.log(2));
    const evals = readMetrics(out).filter((m) => m.type === 'eval') as unknown as { eval_accuracy: number; eval_loss: number }[];
    expect(evals.length).toBe(3);
    expect(evals.at(-1)!.eval_accuracy).toBe(1);

    expect(fs.existsSync(path.join(r.run.checkpoint!, REWARD_CONFIG_FILE))).toBe(true);
    const rm = await loadRewardModel(r.run.checkpoint!);
    const [good, bad] = await rm.score([
      { prompt: 'question about things', response: ' good answer here' },
      { prompt: 'question about things', response: ' bad reply there' },
    ]);
    expect(good!).toBeGreaterThan(bad!);
    // The loaded model scores what the trained one scores.
    const trained = tf.tidy(() => Array.from(rewardLossScores()));
    function rewardLossScores() {
      const b = makePairBatch([
        encodePair(tok, { prompt: 'question about things', chosen: ' good answer here', rejected: ' bad reply there', line: 0 }, T),
      ]);
      const { hidden } = model.forward(tf.tensor2d(b.ids, [2, b.T], 'int32'), { outputHidden: true });
      return head.forward(hidden!, b.last).dataSync();
    }
    expect(good!).toBeCloseTo(trained[0]!, 4);
    expect(bad!).toBeCloseTo(trained[1]!, 4);
    rm.dispose();
    head.dispose();
    model.dispose();
  }, 60000);
});

describe('gptlab-train reward', () => {
  test('--help, a missing flag, a bad file, a run with --json and its exact resume', async () => {
    expect((await trainInProcess(['reward', '--help'])).stdout).toMatch(/--eval-fraction/);
    expect((await trainInProcess(['reward', '--data', 'x.jsonl'])).stderr).toMatch(/--init-from/);
    const init = path.join(root, 'init');
    const model = tinyModel(3);
    await saveGPT(model, init, { tokenizer: tok });
    model.dispose();
    const bad = await trainInProcess(['reward', '--init-from', init, '--data', path.join(FIX, 'pref-bad-role.jsonl')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/pref-bad-role\.jsonl:2/);
    const data = writePairs(path.join(root, 'pairs.jsonl'), separable(20));
    const out = path.join(root, 'cli');
    const knobs = '--eval-fraction 0.2 --batch-size 4 --lr 3e-3 --epochs 3'.split(' ');
    const args = ['reward', '--init-from', init, '--data', data, '--out', out, ...knobs];
    const r = await trainInProcess([...args, '--max-steps', '5', '--checkpoint-every', '3', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { steps: number; eval: number; evalAccuracy: number; evalLoss: number };
    expect(j).toMatchObject({ steps: 5, eval: 4 });
    expect(Number.isFinite(j.evalLoss) && j.evalAccuracy >= 0).toBe(true);
    // Resuming from the step-3 checkpoint into another directory ends where the uninterrupted run ended.
    const other = path.join(root, 'resumed');
    const resumed = await trainInProcess(['reward', '--resume', listCheckpoints(out)[0]!.dir, '--out', other, '--json']);
    expect(resumed.code).toBe(0);
    const j2 = JSON.parse(resumed.stdout.trim()) as { steps: number; evalLoss: number };
    expect(j2.steps).toBe(5);
    expect(j2.evalLoss).toBeCloseTo(j.evalLoss, 5);
    expect(
      readMetrics(other)
        .filter((m) => m.type === 'train')
        .map((m) => m.step),
    ).toEqual([4, 5]);
  }, 60000);
});
