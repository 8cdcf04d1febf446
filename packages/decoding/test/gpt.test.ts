// The real GPT from @gptlab/model behind the LanguageModel adapter: PyTorch-reference fixtures, KV cache vs
// no cache, sliding window, tensor leaks.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT } from '@gptlab/model';
import { generate, generateAll, gptLanguageModel, stream, type GenerateResult } from '../src';

const FIX = path.join(__dirname, 'fixtures');
const ref = (name: string) => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));

let ckpt: GPT;
let tiny: GPT;
beforeAll(async () => {
  await initBackend();
  ckpt = await loadGPT(path.join(FIX, 'tiny-gpt2'));
  tiny = GPT.create(getPreset('gpt2-small', { vocabSize: 97, nPositions: 16, nEmbd: 32, nLayer: 2, nHead: 4 }), { seed: 3 });
});
afterAll(() => {
  ckpt?.dispose();
  tiny?.dispose();
});

describe.each([true, false])('PyTorch reference checkpoint (useCache=%s)', (useCache) => {
  test('greedy ids and raw log-probs match gpt_ref.py greedy', async () => {
    const r = ref('ref-greedy.json');
    const lm = gptLanguageModel(ckpt, { useCache });
    const g = (await generate(lm, [1, 2, 3, 4, 5], { maxNewTokens: r.ids.length })) as GenerateResult;
    expect(g.ids).toEqual(r.ids);
    g.logprobs.forEach((lp, i) => expect(Math.abs(lp - r.logprobs[i])).toBeLessThan(1e-4));
  });

  test.each([
    ['ref-beam4.json', [1, 2, 3, 4, 5], 4, 12],
    ['ref-beam3.json', [200, 17, 99], 3, 16],
  ] as const)('beam search matches gpt_ref.py beam (%s)', async (file, prompt, beams, n) => {
    const r = ref(file);
    const lm = gptLanguageModel(ckpt, { useCache });
    const res = await generateAll(lm, [...prompt], {
      type: 'beam',
      numBeams: beams,
      numReturnSequences: beams,
      lengthPenalty: 0,
      maxNewTokens: n,
    });
    expect(res[0].ids).toEqual(r.ids);
    expect(Math.abs(res[0].score - r.score)).toBeLessThan(1e-3);
    expect(res.map((x) => x.ids)).toEqual(r.beams.map((b: { ids: number[] }) => b.ids));
    res.forEach((x, i) => expect(Math.abs(x.score - r.beams[i].score)).toBeLessThan(1e-3));
  });
});

describe('KV cache vs no cache (tiny random GPT, context 16)', () => {
  const prompt = [5, 9, 14, 2, 77];
  const both = async (opts: Parameters<typeof generateAll>[2]) => {
    const a = await generateAll(gptLanguageModel(tiny, { useCache: true }), prompt, opts);
    const b = await generateAll(gptLanguageModel(tiny, { useCache: false }), prompt, opts);
    return [a, b] as const;
  };
  test('greedy: identical tokens, within and past the context window', async () => {
    const [a, b] = await both({ maxNewTokens: 30 }); // 5 + 30 > 16: the window slides
    expect(a[0].ids).toEqual(b[0].ids);
    a[0].logprobs.forEach((lp, i) => expect(Math.abs(lp - b[0].logprobs[i])).toBeLessThan(1e-4));
  });
  test('beam 3: identical beams', async () => {
    const [a, b] = await both({ type: 'beam', numBeams: 3, numReturnSequences: 3, maxNewTokens: 14, lengthPenalty: 0 });
    expect(a.map((x) => x.ids)).toEqual(b.map((x) => x.ids));
  });
  test('sampling with a seed, 3 rows, penalties: identical', async () => {
    const [a, b] = await both({
      type: 'sample',
      seed: 11,
      numReturnSequences: 3,
      topK: 20,
      temperature: 0.9,
      repetitionPenalty: 1.3,
      maxNewTokens: 20,
    });
    expect(a.map((x) => x.ids)).toEqual(b.map((x) => x.ids));
  });
  test('the sliding window conditions on the last nPositions tokens', async () => {
    const lm = gptLanguageModel(tiny);
    const g = (await generate(lm, prompt, { maxNewTokens: 20 })) as GenerateResult;
    const all = [...prompt, ...g.ids];
    for (const i of [3, 11, 19]) {
      // token i was chosen after prompt + ids[0..i): recompute on the last 16 of them directly
      const ctx = all.slice(0, prompt.length + i).slice(-16);
      const logits = tf.tidy(() => {
        const out = tiny.forward(tf.tensor2d([ctx], [1, ctx.length], 'int32')).logits;
        return tf.logSoftmax(tf.reshape(tf.slice(out, [0, ctx.length - 1, 0], [1, 1, 97]), [97]));
      });
      const lp = (await logits.data())[g.ids[i]];
      logits.dispose();
      expect(Math.abs(lp - g.logprobs[i])).toBeLessThan(1e-4);
    }
  });
  test('with the cache each step feeds one new token per row (until the window is full)', async () => {
    const shapes: number[][] = [];
    const spy = {
      config: tiny.config,
      createCache: (b: number) => tiny.createCache(b),
      forward: (ids: tf.Tensor2D, o?: Parameters<GPT['forward']>[1]) => {
        shapes.push(ids.shape.slice());
        return tiny.forward(ids, o);
      },
    };
    await generate(gptLanguageModel(spy), prompt, { maxNewTokens: 14 });
    // prompt 5, then 11 single tokens fill the 16 positions, then the window slides: re-encode 16
    expect(shapes).toEqual([[1, 5], ...new Array(11).fill([1, 1]), [1, 16], [1, 16]]);
    shapes.length = 0;
    await generate(gptLanguageModel(spy), prompt, { type: 'beam', numBeams: 3, maxNewTokens: 4 });
    expect(shapes).toEqual([
      [1, 5],
      [3, 1],
      [3, 1],
      [3, 1],
    ]);
    shapes.length = 0;
    await generate(gptLanguageModel(spy, { useCache: false }), prompt, { maxNewTokens: 3 });
    expect(shapes).toEqual([
      [1, 5],
      [1, 6],
      [1, 7],
    ]);
  });

  test('no tensors leak across repeated runs (generate, beam, stream)', async () => {
    const lm = gptLanguageModel(tiny);
    await generate(lm, prompt, { maxNewTokens: 3 });
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      await generate(lm, prompt, { maxNewTokens: 20 });
      await generate(lm, prompt, { type: 'beam', numBeams: 2, maxNewTokens: 6 });
      for await (const e of stream(lm, prompt, { maxNewTokens: 8 })) expect(e.token).toBeGreaterThanOrEqual(0);
      let n = 0;
      for await (const _ of stream(lm, prompt, { maxNewTokens: 8 })) if (++n === 2) break; // early exit
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
