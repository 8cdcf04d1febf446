import * as fs from 'node:fs';
import * as path from 'node:path';
import { JobQueue } from '../src/queue';
import { strategyFromJSON } from '@gptlab/decoding';
import { HttpError, type GenerateRequest } from '../src/types';
import { STRATEGY_FIELDS } from '@gptlab/decoding';
import { parseSSE } from './helpers/io';
import { useFakeModelsDir, makeFakeServer } from './helpers/fake-server';

const dirs = useFakeModelsDir();
const make = (delayMs = 0, queue?: JobQueue) => makeFakeServer(dirs.modelsDir, delayMs, queue);

describe('UI and model listing', () => {
  test('serves the single-page UI: index.html, the stylesheet and every ES module it imports', async () => {
    const { app } = await make();
    const html = await app.inject({ method: 'GET', url: '/' });
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('<script type="module" src="/main.js"></script>');
    const seen = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const res = await app.inject({ method: 'GET', url: `/${file}` });
      expect({ file, status: res.statusCode, type: res.headers['content-type'] }).toEqual({
        file,
        status: 200,
        type: 'text/javascript; charset=utf-8',
      });
      for (const m of res.body.matchAll(/from '\.\/([a-z-]+\.js)'/g)) await visit(m[1]!);
    };
    await visit('main.js');
    expect(seen.size).toBeGreaterThanOrEqual(6);
    expect([...seen].sort()).toEqual(
      fs
        .readdirSync(path.join(__dirname, '..', 'src', 'ui'))
        .filter((f) => f.endsWith('.js'))
        .sort(),
    );
    expect((await app.inject({ method: 'GET', url: '/style.css' })).statusCode).toBe(200);
    for (const url of ['/nope', '/nope.js', '/..%2Fpackage.json', '/%2E%2E%2Fserver.ts', '/ui/main.js']) {
      expect({ url, status: (await app.inject({ method: 'GET', url })).statusCode }).toEqual({ url, status: 404 });
    }
  });

  test('GET /api/schema is the decoding field table and the limits', async () => {
    const { app } = await make();
    const schema = (await app.inject({ method: 'GET', url: '/api/schema' })).json();
    expect(schema.fields).toEqual(JSON.parse(JSON.stringify(STRATEGY_FIELDS)));
    expect(schema.limits.maxNewTokens).toBe(50);
  });

  test('GET /api/models lists names; GET /api/models/:name returns the card', async () => {
    const { app } = await make();
    const res = await app.inject({ method: 'GET', url: '/api/models' });
    expect(res.json()).toEqual({ models: ['other', 'tiny'] });
    const card = (await app.inject({ method: 'GET', url: '/api/models/tiny' })).json();
    expect(card).toMatchObject({ name: 'tiny', parameters: 1234, nLayer: 2, nHead: 2, backend: 'fake' });
    expect(card.limits.maxNewTokens).toBe(50);
    expect((await app.inject({ method: 'GET', url: '/api/models/missing' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/models/not-a-model' })).statusCode).toBe(404);
  });
});

describe('POST /api/generate', () => {
  test('JSON reply is exactly the generate --json object', async () => {
    const { app, reg } = await make();
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: 'tiny', prompt: 'abc', strategy: { type: 'greedy' }, maxNewTokens: 4 },
    });
    expect(res.statusCode).toBe(200);
    const j = res.json();
    expect(Object.keys(j).sort()).toEqual(['finishReason', 'ids', 'logprobs', 'score', 'text']);
    // 'c' = 3, the fake continues 4, 5, 6, 7 = "defg"
    expect(j).toEqual({
      ids: [4, 5, 6, 7],
      text: 'defg',
      logprobs: Array(4).fill(Math.log(0.5)),
      score: 4 * Math.log(0.5),
      finishReason: 'length',
    });
    expect(reg.models.get('tiny')!.stats.requests[0]).toEqual({ promptIds: [1, 2, 3], strategy: strategyFromJSON({ maxNewTokens: 4 }) });
  });

  test('strategy fields in `strategy` or at the top level, under any alias; promptIds accepted', async () => {
    const { app, reg } = await make();
    const strategy = { type: 'sample', temperature: 0.7, top_p: 0.9, topK: 5, minP: 0.1, typicalP: 0.95, repetitionPenalty: 1.2 };
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: 'tiny', promptIds: [1, 2], strategy, max_tokens: 10, stop: ['f'], seed: 7, n: 2, logit_bias: { '3': 1 } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ids: [3, 4, 5, 6], text: 'cde', finishReason: 'stop' });
    const expected = strategyFromJSON({
      ...strategy,
      maxNewTokens: 10,
      stopStrings: ['f'],
      seed: 7,
      numReturnSequences: 2,
      logitBias: [[3, 1]],
    });
    expect(reg.models.get('tiny')!.stats.requests[0]).toEqual({ promptIds: [1, 2], strategy: expected });
    const beam = { model: 'tiny', prompt: 'a', strategy: { type: 'beam', numBeams: 2, earlyStopping: 'never' } };
    expect((await app.inject({ method: 'POST', url: '/api/generate', payload: beam })).statusCode).toBe(200);
    expect(reg.models.get('tiny')!.stats.requests[1]!.strategy).toMatchObject({ type: 'beam', earlyStopping: 'never', maxNewTokens: 20 });
  });

  test('streams server-sent events when asked', async () => {
    const { app } = await make();
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      headers: { accept: 'text/event-stream' },
      payload: {
        model: 'tiny',
        prompt: 'ab',
        strategy: { type: 'beam', numBeams: 2, lengthPenalty: 0.6 },
        maxNewTokens: 3,
        topAlternatives: 3,
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events = parseSSE(res.body);
    expect(events.map((e) => e.event)).toEqual(['start', 'token', 'token', 'token', 'done']);
    expect(events[0]!.data).toEqual({ promptIds: [1, 2], promptTokens: ['a', 'b'] });
    expect(
      events
        .slice(1, 4)
        .map((e) => e.data.text)
        .join(''),
    ).toBe('cde');
    const done = events[4]!.data;
    expect(done).toMatchObject({ ids: [3, 4, 5], text: 'cde', finishReason: 'length', tokens: ['c', 'd', 'e'] });
    expect(done.alternatives).toHaveLength(3);
    expect(done.alternatives[0]).toHaveLength(3);
    expect(done.alternatives[0][0]).toEqual({ token: 3, text: 'c', logprob: Math.log(0.5) });
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', [1, 2], /JSON object/],
    ['unknown field', { model: 'tiny', prompt: 'a', temprature: 1 }, /temprature is not a known field \(did you mean temperature/],
    ['no model', { prompt: 'a' }, /model must be a non-empty string/],
    ['both prompts', { model: 'tiny', prompt: 'a', promptIds: [1] }, /exactly one of prompt/],
    ['no prompt', { model: 'tiny' }, /exactly one of prompt/],
    ['empty prompt', { model: 'tiny', prompt: '' }, /prompt must not be empty/],
    ['prompt not string', { model: 'tiny', prompt: 5 }, /prompt must be a string/],
    ['ids not ints', { model: 'tiny', promptIds: [1, 2.5] }, /promptIds\[1\] must be a non-negative integer/],
    ['id outside vocab', { model: 'tiny', promptIds: [1, 999] }, /promptIds\[1\] = 999 is outside the vocabulary/],
    ['maxNewTokens -1', { model: 'tiny', prompt: 'a', maxNewTokens: -1 }, /maxNewTokens: expected an integer >= 0, got -1/],
    [
      'maxNewTokens over the server limit',
      { model: 'tiny', prompt: 'a', maxNewTokens: 51 },
      /maxNewTokens may be at most 50 on this server/,
    ],
    ['maxNewTokens string', { model: 'tiny', prompt: 'a', max_new_tokens: '5' }, /max_new_tokens: expected an integer >= 0, got "5"/],
    ['context overflow', { model: 'tiny', prompt: 'a'.repeat(60), maxNewTokens: 10 }, /exceeds the model's context of 64/],
    [
      'bad type',
      { model: 'tiny', prompt: 'a', strategy: { type: 'nucleus' } },
      /type: expected 'greedy', 'beam' or 'sample', got "nucleus"/,
    ],
    ['strategy not object', { model: 'tiny', prompt: 'a', strategy: 'greedy' }, /strategy must be an object/],
    [
      'temperature -1',
      { model: 'tiny', prompt: 'a', strategy: { type: 'sample', temperature: -1 } },
      /temperature: expected a number >= 0 \(0 = greedy choice\)/,
    ],
    ['temperature null', { model: 'tiny', prompt: 'a', strategy: { type: 'sample', temperature: null } }, /temperature: .*got null/],
    ['topP 1.5', { model: 'tiny', prompt: 'a', strategy: { type: 'sample', topP: 1.5 } }, /topP: expected a number in \(0, 1\]/],
    ['topK fractional', { model: 'tiny', prompt: 'a', strategy: { type: 'sample', topK: 2.5 } }, /topK: expected an integer/],
    ['numBeams 0', { model: 'tiny', prompt: 'a', strategy: { type: 'beam', numBeams: 0 } }, /numBeams: expected an integer >= 1/],
    ['numBeams over the server limit', { model: 'tiny', prompt: 'a', num_beams: 17 }, /numBeams may be at most 16 on this server/],
    [
      'topP on greedy',
      { model: 'tiny', prompt: 'a', strategy: { type: 'greedy', topP: 0.9 } },
      /topP: applies only to type 'sample' \(this strategy is 'greedy'\)/,
    ],
    [
      'numBeams on sample',
      { model: 'tiny', prompt: 'a', strategy: { type: 'sample', numBeams: 2 } },
      /numBeams: applies only to type 'beam'/,
    ],
    [
      'a field twice',
      { model: 'tiny', prompt: 'a', top_k: 3, strategy: { type: 'sample', topK: 3 } },
      /top_k is given both at the top level and in strategy \(as topK\)/,
    ],
    ['unknown strategy key', { model: 'tiny', prompt: 'a', strategy: { type: 'greedy', topQ: 1 } }, /topQ: unknown field \(did you mean/],
    ['stop not a string', { model: 'tiny', prompt: 'a', stop: 5 }, /stop: expected a string or an array of strings/],
    ['stop empty string', { model: 'tiny', prompt: 'a', stop: [''] }, /stop\[0\]: expected a non-empty string/],
    ['too many stop strings', { model: 'tiny', prompt: 'a', stop: 'abcdefghi'.split('') }, /number of stop strings may be at most 8/],
    ['seed negative', { model: 'tiny', prompt: 'a', seed: -1 }, /seed: expected an integer in \[0, /],
    [
      'eos outside vocab',
      { model: 'tiny', prompt: 'a', eos_token_id: 29 },
      /eos_token_id: token id 29 is outside the vocabulary \[0, 29\)/,
    ],
    ['topAlternatives 21', { model: 'tiny', prompt: 'a', topAlternatives: 21 }, /topAlternatives must be in \[0, 20\]/],
  ];
  test.each(bad)('400 for %s', async (_name, payload, message) => {
    const { app, reg } = await make();
    const res = await app.inject({ method: 'POST', url: '/api/generate', payload: payload as object });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
    for (const m of reg.models.values()) expect(m.stats.started).toBe(0);
  });

  test("the model's own request check answers 400 before a stream starts", async () => {
    const { app, reg } = await make();
    const m = await reg.load('tiny');
    (m as unknown as { checkRequest: (r: GenerateRequest) => void }).checkRequest = (r) => {
      if (r.strategy.type === 'beam') throw new HttpError(400, 'invalid decoding strategy: numBeams: too many for this model');
    };
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      headers: { accept: 'text/event-stream' },
      payload: { model: 'tiny', prompt: 'a', maxNewTokens: 2, strategy: { type: 'beam', numBeams: 2 } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/too many for this model/);
    expect(m.stats.started).toBe(0);
  });

  test('400 for malformed JSON, also when streaming is requested', async () => {
    const { app } = await make();
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      headers: { 'content-type': 'application/json' },
      payload: '{"model": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBeTruthy();
    const res2 = await app.inject({
      method: 'POST',
      url: '/api/generate',
      headers: { accept: 'text/event-stream' },
      payload: { model: 'tiny', prompt: 'a', maxNewTokens: -1 },
    });
    expect(res2.statusCode).toBe(400);
    expect(res2.json().error).toMatch(/maxNewTokens/);
  });
});

describe('POST /api/attention', () => {
  test('returns the query × key probabilities and the sparse pattern of sparse layers', async () => {
    const { app } = await make();
    const dense = (
      await app.inject({
        method: 'POST',
        url: '/api/attention',
        payload: { model: 'tiny', prompt: 'abcdef', generatedIds: [7, 8], layer: 0, head: 1 },
      })
    ).json();
    expect(dense.ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(dense.tokens.join('')).toBe('abcdefgh');
    expect(dense.promptLength).toBe(6);
    expect(dense.probs).toHaveLength(8);
    for (const row of dense.probs) expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
    expect(dense.sparse).toBeNull();
    const sparse = (
      await app.inject({
        method: 'POST',
        url: '/api/attention',
        payload: { model: 'tiny', promptIds: [1, 2, 3, 4, 5, 6], layer: 1, head: 0 },
      })
    ).json();
    expect(sparse.sparse.description).toEqual({ type: 'local', window: 4 });
    expect(sparse.sparse.mask[5]).toEqual([0, 0, 1, 1, 1, 1]);
  });

  test.each([
    [{ model: 'tiny', prompt: 'ab', layer: 2, head: 0 }, /layer must be in \[0, 1\]/],
    [{ model: 'tiny', prompt: 'ab', layer: 0, head: 5 }, /head must be in \[0, 1\]/],
    [{ model: 'tiny', prompt: 'ab', head: 0 }, /layer is required/],
    [{ model: 'tiny', prompt: 'ab', layer: 0, head: 0, generatedIds: [99] }, /ids\[2\] = 99 is outside the vocabulary/],
    [{ model: 'tiny', prompt: 'a'.repeat(70), layer: 0, head: 0 }, /exceeds the model's context/],
    [{ model: '../secret', prompt: 'a', layer: 0, head: 0 }, /model/],
  ])('400 for %j', async (payload, msg) => {
    const { app } = await make();
    const res = await app.inject({ method: 'POST', url: '/api/attention', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(msg);
  });
});
