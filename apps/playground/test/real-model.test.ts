// RealModel (the @gptlab packages behind the LoadedModel interface) on the committed fixture checkpoint.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '@gptlab/tensor';
import { strategyFromJSON } from '@gptlab/decoding';
import { RealModel, realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { isAbortError } from '../src/queue';
import { parseSSE } from './helpers/io';

const DIR = path.join(__dirname, 'fixtures', 'tiny');
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tiny-reference.json'), 'utf8')) as {
  eos: number;
  cases: { prompt: string; ids: number[]; greedy: { ids: number[]; logprobs: number[] } }[];
};

let model: RealModel;
let tmp: string;

beforeAll(async () => {
  model = await RealModel.load(DIR, 'tiny', { stopAtEos: false });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-real-'));
  // A models directory: the fixture, and the same weights with layer 1 made locally banded (window 3).
  for (const name of ['tiny', 'tiny-sparse']) {
    fs.mkdirSync(path.join(tmp, name));
    for (const f of fs.readdirSync(DIR)) fs.copyFileSync(path.join(DIR, f), path.join(tmp, name, f));
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8'));
  cfg.attention_layers = ['dense', 'local:3'];
  fs.writeFileSync(path.join(tmp, 'tiny-sparse', 'config.json'), JSON.stringify(cfg));
});
afterAll(() => {
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('model card', () => {
  const c = model.card;
  // GPT-2 parameter count with a tied head: V·C + P·C + L·(12C² + 13C) + 2C.
  const V = 320,
    C = 32,
    P = 128,
    L = 2;
  expect(c.parameters).toBe(V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C);
  expect(c).toMatchObject({ name: 'tiny', contextLength: 128, nLayer: 2, nHead: 4, attention: [null, null] });
  expect(c.tokenizer).toEqual({ type: 'byte-level BPE (GPT-2)', vocabSize: 320, files: ['vocab.json', 'merges.txt'] });
  expect(c.backend).toMatch(/wasm|tensorflow|cpu/);
});

test('top alternatives: the first is the greedy choice with the reference log-prob', async () => {
  const c = REF.cases[0]!;
  const ids = [...c.ids, ...c.greedy.ids];
  const positions = c.greedy.ids.map((_, i) => c.ids.length + i);
  const alts = await model.topAlternatives(ids, positions, 5);
  expect(alts).toHaveLength(c.greedy.ids.length);
  alts.forEach((a, i) => {
    expect(a).toHaveLength(5);
    expect(a[0]!.token).toBe(c.greedy.ids[i]);
    expect(Math.abs(a[0]!.logprob - c.greedy.logprobs[i]!)).toBeLessThan(1e-4);
    for (let j = 1; j < 5; j++) expect(a[j]!.logprob).toBeLessThanOrEqual(a[j - 1]!.logprob);
    expect(a[0]!.text).toBe(model.decode([a[0]!.token]));
  });
});

test('top-k sampling only draws among the k most likely tokens', async () => {
  const prompt = REF.cases[1]!.ids;
  const r = await model.generate({
    promptIds: prompt,
    strategy: strategyFromJSON({ type: 'sample', topK: 3, temperature: 2, maxNewTokens: 12, seed: 5 }),
  });
  const alts = await model.topAlternatives(
    [...prompt, ...r.ids],
    r.ids.map((_, i) => prompt.length + i),
    3,
  );
  r.ids.forEach((t, i) => expect(alts[i]!.map((a) => a.token)).toContain(t));
});

test('attention probabilities are causal rows summing to 1, without leaking tensors', async () => {
  const ids = REF.cases[0]!.ids.concat(REF.cases[0]!.greedy.ids.slice(0, 4));
  const first = await model.attention(ids, 1, 2);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const a = await model.attention(ids, 1, 2);
    expect(a).toEqual(first);
    await model.topAlternatives(ids, [1, 2], 3);
    await model.generate({ promptIds: ids, strategy: strategyFromJSON({ type: 'beam', numBeams: 2, maxNewTokens: 3 }) });
  }
  expect(tf.memory().numTensors).toBe(before);
  const T = ids.length;
  expect(first).toHaveLength(T);
  first.forEach((row, q) => {
    expect(row).toHaveLength(T);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (let k = q + 1; k < T; k++) expect(row[k]).toBe(0);
  });
  expect(first[0]![0]).toBeCloseTo(1, 6);
  // Heads differ.
  expect(await model.attention(ids, 1, 3)).not.toEqual(first);
});

test('an aborted generation stops and releases its KV cache', async () => {
  // Warm-up: the tensor package caches causal masks per length.
  await model.generate({ promptIds: [1, 2, 3], strategy: strategyFromJSON({ type: 'beam', numBeams: 3, maxNewTokens: 4 }) });
  const before = tf.memory().numTensors;
  const ac = new AbortController();
  let n = 0;
  const p = model.generate(
    { promptIds: [1, 2, 3], strategy: strategyFromJSON({ type: 'greedy', maxNewTokens: 100 }) },
    { signal: ac.signal, onToken: () => (++n === 3 ? ac.abort() : undefined) },
  );
  await expect(p.catch((e) => isAbortError(e))).resolves.toBe(true);
  expect(n).toBe(3);
  expect(tf.memory().numTensors).toBe(before);
  const ac2 = new AbortController();
  const p2 = model.generate(
    { promptIds: [1, 2, 3], strategy: strategyFromJSON({ type: 'beam', numBeams: 3, maxNewTokens: 100 }) },
    { signal: ac2.signal },
  );
  setImmediate(() => ac2.abort());
  await expect(p2.catch((e) => isAbortError(e))).resolves.toBe(true);
  expect(tf.memory().numTensors).toBe(before);
});

test('a sparse layer: pattern mask, its picture, and attention confined to it', async () => {
  const sparse = await RealModel.load(path.join(tmp, 'tiny-sparse'), 'tiny-sparse');
  try {
    expect(sparse.card.attention[0]).toBeNull();
    expect(sparse.card.attention[1]).toMatchObject({ type: 'local', window: 3 });
    expect(sparse.sparsePattern(0, 8)).toBeNull();
    const p = sparse.sparsePattern(1, 8)!;
    expect(p.svg).toMatch(/^<svg/);
    for (let q = 0; q < 8; q++) for (let k = 0; k < 8; k++) expect(p.mask[q]![k]).toBe(k <= q && q - k < 3 ? 1 : 0);
    const a = await sparse.attention([5, 6, 7, 8, 9, 10, 11, 12], 1, 0);
    for (let q = 0; q < 8; q++) {
      for (let k = 0; k < 8; k++) if (!p.mask[q]![k]) expect(a[q]![k]).toBe(0);
      expect(a[q]!.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    }
  } finally {
    sparse.dispose();
  }
});

describe('server over real checkpoints', () => {
  test('SSE tokens add up to the JSON result; attention of a sparse layer carries its pattern', async () => {
    const app = await createServer({ registry: realRegistry(tmp) });
    const c = REF.cases[0]!;
    expect((await app.inject({ method: 'GET', url: '/api/models' })).json()).toEqual({ models: ['tiny', 'tiny-sparse'] });
    const body = { model: 'tiny', prompt: c.prompt, strategy: { type: 'greedy' }, maxNewTokens: 6 };
    const json = (await app.inject({ method: 'POST', url: '/api/generate', payload: body })).json();
    expect(json.ids).toEqual(c.greedy.ids.slice(0, 6));
    const sse = await app.inject({
      method: 'POST',
      url: '/api/generate',
      headers: { accept: 'text/event-stream' },
      payload: { ...body, topAlternatives: 2 },
    });
    const events = parseSSE(sse.body);
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data);
    const done = events.find((e) => e.event === 'done')!.data;
    expect(tokens.map((t) => t.token)).toEqual(json.ids);
    expect(tokens.map((t) => t.text).join('')).toBe(json.text);
    expect(done).toMatchObject(json);
    expect(done.alternatives.map((a: { token: number }[]) => a[0]!.token)).toEqual(json.ids);
    const att = (
      await app.inject({
        method: 'POST',
        url: '/api/attention',
        payload: { model: 'tiny-sparse', prompt: c.prompt, generatedIds: json.ids, layer: 1, head: 0 },
      })
    ).json();
    expect(att.probs).toHaveLength(c.ids.length + 6);
    expect(att.sparse.description).toMatchObject({ type: 'local', window: 3, spec: 'local:3' });
    const bad = await app.inject({ method: 'POST', url: '/api/generate', payload: { ...body, strategy: { type: 'sample', topP: 0 } } });
    expect(bad.statusCode).toBe(400);
    await app.close();
  });
});
