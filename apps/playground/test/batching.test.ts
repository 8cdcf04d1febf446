// Continuous batching in the server, on the real tiny checkpoint: concurrent /api and /v1 requests (JSON and SSE)
// decoded together answer exactly what each answers alone (on a --max-batch 1 server); a client that goes away
// or a request that times out mid-batch frees its row while the others finish unchanged; past --max-batch +
// --max-queue a request gets 429; a model evicted from the cache is disposed only once its batch is idle.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateAll, gptLanguageModel, resultToJSON, strategyFromJSON } from '@gptlab/decoding';
import type { GPT } from '@gptlab/model';
import { tf } from '@gptlab/tensor';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { BatchingGenerator } from '../src/generator';
import { main } from '../src/program';
import { JobQueue, isAbortError } from '../src/queue';
import { RealModel, realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { captureIO, parseSSE } from './helpers/io';
import { TINY_DIR, loadTinyDirect } from './helpers/tiny-direct';

const EOS = 319; // config.json's eos_token_id
const NO_EOS = { [EOS]: -100 }; // banned: a request runs to its max_tokens
let tmp: string;
let gpt: GPT;
let tok: BPETokenizer;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  ({ gpt, tok } = await loadTinyDirect());
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-batching-'));
  for (const name of ['tiny', 'tiny2']) fs.cpSync(TINY_DIR, path.join(tmp, name), { recursive: true });
});
afterEach(async () => {
  await Promise.all(
    apps.splice(0).map((a) => {
      a.server.closeAllConnections();
      return a.close();
    }),
  );
});
afterAll(() => {
  gpt.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function serve(opts: { maxBatch?: number; queue?: JobQueue; requestTimeoutS?: number } = {}) {
  const registry = realRegistry(tmp, { maxBatch: opts.maxBatch });
  const app = await createServer({ registry, limits: { maxNewTokens: 5000 }, queue: opts.queue, requestTimeoutS: opts.requestTimeoutS });
  apps.push(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const model = (await registry.load('tiny')) as RealModel;
  return { address, model };
}

interface Case {
  url: '/api/generate' | '/v1/completions' | '/v1/chat/completions';
  sse: boolean;
  body: Record<string, unknown>;
}

const LONG_PROMPT = 'the cat sat on the mat and then the dog sat on the cat '.repeat(2); // 63 of the 128 positions

// Greedy and seeded sampling, several sequences, stop strings, a window that slides past the context.
const CASES: Case[] = [
  { url: '/api/generate', sse: false, body: { prompt: 'the cat sat', strategy: { maxNewTokens: 12 } } },
  {
    url: '/api/generate',
    sse: true,
    body: { prompt: 'a dog', strategy: { type: 'sample', topK: 5, temperature: 0.9, seed: 3, maxNewTokens: 16 } },
  },
  {
    url: '/api/generate',
    sse: false,
    body: { prompt: 'the mat', strategy: { do_sample: true, top_p: 0.8, n: 2, seed: 11, max_tokens: 10 } },
  },
  { url: '/v1/completions', sse: false, body: { prompt: 'the cat', max_tokens: 14, temperature: 0, logprobs: 0 } },
  { url: '/v1/completions', sse: true, body: { prompt: 'on the', max_tokens: 20, temperature: 0.8, top_p: 0.9, seed: 7 } },
  { url: '/v1/completions', sse: false, body: { prompt: 'sat on', max_tokens: 20, temperature: 0, stop: ['e'] } },
  { url: '/v1/completions', sse: false, body: { prompt: 'the dog', max_tokens: 8, temperature: 1, n: 3, seed: 5 } },
  { url: '/v1/completions', sse: true, body: { prompt: LONG_PROMPT, max_tokens: 40, temperature: 0, logit_bias: NO_EOS } },
];

/**
 * `actual` equals `expected` with every fractional number (log-probs, scores) within 1e-4: the batched forward
 * sums in another order than the single-sequence one (ids and texts must be identical).
 */
function expectSameAnswer(actual: unknown, expected: unknown, at = '$'): void {
  if (typeof expected === 'number' && !Number.isInteger(expected) && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-4) throw new Error(`${at}: ${actual} differs from ${expected} by more than 1e-4`);
    return;
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    expect({ at, keys: Object.keys(actual).sort() }).toEqual({ at, keys: Object.keys(expected).sort() });
    for (const k of Object.keys(expected)) {
      expectSameAnswer((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${at}.${k}`);
    }
    return;
  }
  expect({ at, value: actual }).toEqual({ at, value: expected });
}

/** Waits (up to 2 s) for the engine's loop to stop: it runs one more iteration after the last request settles. */
async function idle(engine: { readonly busy: boolean }): Promise<void> {
  for (let i = 0; i < 200 && engine.busy; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Makes every batched step of `gpt` take ≥ `ms` more, as on a bigger model (the event loop is blocked meanwhile). */
function slowSteps(target: GPT, ms: number): void {
  const decodeStep = target.decodeStep.bind(target);
  jest.spyOn(target, 'decodeStep').mockImplementation((tokens, cache) => {
    const t = performance.now();
    while (performance.now() - t < ms);
    return decodeStep(tokens, cache);
  });
}

/** A request's answer without what differs between runs (ids and timestamps of /v1 responses). */
async function answer(address: string, c: Case): Promise<unknown> {
  const res = await fetch(`${address}${c.url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(c.sse && c.url === '/api/generate' ? { accept: 'text/event-stream' } : {}) },
    body: JSON.stringify({ model: 'tiny', ...c.body, ...(c.sse && c.url !== '/api/generate' ? { stream: true } : {}) }),
  });
  const text = await res.text();
  expect({ status: res.status, text: res.status === 200 ? '' : text }).toEqual({ status: 200, text: '' });
  const stable = (o: Record<string, unknown>) => ({ ...o, id: undefined, created: undefined });
  if (!c.sse) return stable(JSON.parse(text) as Record<string, unknown>);
  // A request that waits for a row first gets a `queued` event (the same request alone does not).
  if (c.url === '/api/generate') return parseSSE(text).filter((e) => e.event !== 'queued');
  const events = text.trim().split('\n\n');
  expect(events[events.length - 1]).toBe('data: [DONE]');
  return events.slice(0, -1).map((e) => stable(JSON.parse(e.slice(6)) as Record<string, unknown>));
}

test('concurrent requests in one batch answer exactly what each answers alone (--max-batch 1), without leaking tensors', async () => {
  const one = await serve({ maxBatch: 1 });
  expect(one.model.batch).toBeNull();
  const alone: unknown[] = [];
  for (const c of CASES) alone.push(await answer(one.address, c));

  const batched = await serve({ maxBatch: 8 });
  const engine = batched.model.batch!;
  expect(engine.maxBatch).toBe(8);
  const tensorsBefore = tf.memory().numTensors;
  const together = await Promise.all(CASES.map((c) => answer(batched.address, c)));
  expectSameAnswer(together, alone);
  // They were decoded together: fewer batched steps than tokens generated.
  const { steps, tokens } = engine.stats!;
  expect(tokens).toBeGreaterThan(100);
  expect(steps).toBeLessThan(tokens / 2);
  await idle(engine);
  expect(engine.busy).toBe(false);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

test('the /api greedy ids in a batch are those of a direct run on the checkpoint', async () => {
  const { address } = await serve();
  const prompts = ['the cat sat', 'a dog', 'on the mat', 'the'];
  const replies = await Promise.all(
    prompts.map((prompt, i) =>
      fetch(`${address}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt, strategy: { maxNewTokens: 6 + 3 * i } }),
      }).then((r) => r.json() as Promise<{ ids: number[] }>),
    ),
  );
  for (const [i, prompt] of prompts.entries()) {
    const [want] = await generateAll(gptLanguageModel(gpt), tok.encode(prompt), {
      strategy: { eosTokenId: EOS, maxNewTokens: 6 + 3 * i },
      tokenizer: tok,
    });
    expect(replies[i]!.ids).toEqual(resultToJSON(want!).ids);
  }
});

test('a client that disconnects and a request that times out mid-batch free their rows; the others finish unchanged', async () => {
  const short: Case[] = [
    { url: '/v1/completions', sse: false, body: { prompt: 'the cat', max_tokens: 10, temperature: 0 } },
    {
      url: '/api/generate',
      sse: true,
      body: { prompt: 'a dog', strategy: { type: 'sample', temperature: 0.9, seed: 3, maxNewTokens: 10 } },
    },
  ];
  const one = await serve({ maxBatch: 1 });
  const alone = [await answer(one.address, short[0]!), await answer(one.address, short[1]!)];

  // Two rows, both taken by long requests (100 steps of ≥ 15 ms): the short ones can only run once those rows are freed.
  const { address, model } = await serve({ maxBatch: 2, requestTimeoutS: 1 });
  slowSteps(model.gpt, 15);
  const engine = model.batch!;
  const endless = { model: 'tiny', prompt: 'the', max_tokens: 100, temperature: 0, logit_bias: NO_EOS };
  const t0 = performance.now();
  const timedOut = fetch(`${address}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(endless),
  }).then(async (r) => ({ status: r.status, body: await r.text(), at: performance.now() - t0 }));
  const client = new AbortController();
  const gone = await fetch(`${address}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...endless, stream: true }),
    signal: client.signal,
  });
  expect(gone.status).toBe(200);
  const reader = gone.body!.getReader();
  await reader.read(); // its first chunk: it is in the batch
  for (let i = 0; i < 100 && engine.rows < 2; i++) await new Promise((r) => setTimeout(r, 10)); // and so is the other
  expect(engine.rows).toBe(2);
  client.abort();

  const [a, b] = await Promise.all(short.map(async (c) => ({ answer: await answer(address, c), at: performance.now() - t0 })));
  expectSameAnswer([a!.answer, b!.answer], alone);
  const t = await timedOut;
  expect(t.status).toBe(504);
  expect(JSON.parse(t.body).error.type).toBe('timeout_error');
  // The disconnected client's row went at once: the first short request (~10 steps) did not wait for the timeout.
  expect(a!.at).toBeLessThan(t.at);
  await idle(engine);
  expect({ busy: engine.busy, rows: engine.rows, waiting: engine.waiting }).toEqual({ busy: false, rows: 0, waiting: 0 });
});

test('past --max-batch running and --max-queue waiting, a request gets 429 with Retry-After', async () => {
  const { address, model } = await serve({ maxBatch: 2, queue: new JobQueue(1, 2) });
  slowSteps(model.gpt, 5); // the first requests are still running when the last arrive
  const body = { model: 'tiny', prompt: 'the', max_tokens: 60, temperature: 0, logit_bias: NO_EOS };
  const replies = await Promise.all(
    Array.from({ length: 7 }, () =>
      fetch(`${address}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    ),
  );
  expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 429, 429, 429]);
  const refused = replies.find((r) => r.status === 429)!;
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
  const texts = await Promise.all(replies.filter((r) => r.status === 200).map(async (r) => (await r.json()).choices[0].text));
  expect(new Set(texts).size).toBe(1);
});

test('a model evicted from the cache is disposed only once its batch is idle', async () => {
  const registry = realRegistry(tmp, { maxLoaded: 1 });
  const lease = await registry.acquire('tiny');
  const model = lease.model as RealModel;
  const dispose = jest.spyOn(model.gpt, 'dispose');
  const generator = new BatchingGenerator();
  const client = new AbortController();
  const request = { promptIds: tok.encode('the cat'), strategy: strategyFromJSON({ maxNewTokens: 50, eosTokenId: null }) };
  const outcome = await generator.generate(model, request, { signal: client.signal, onToken: () => client.abort() }).then(
    () => 'finished',
    (e: unknown) => (isAbortError(e) ? 'aborted' : e),
  );
  expect(outcome).toBe('aborted');
  lease.release();
  // The aborted row is still in the batched cache until the engine's next step.
  expect(model.batch!.busy).toBe(true);
  const other = registry.load('tiny2'); // evicts 'tiny', which nobody holds any more
  for (let i = 0; i < 5; i++) await Promise.resolve(); // the eviction's dispose() runs; the engine's step does not
  expect(registry.loaded.map((e) => e.name)).toEqual(['tiny2']);
  expect(dispose).not.toHaveBeenCalled();
  expect(model.batch!.accepts(request)).toBe(false);
  await idle(model.batch!);
  await new Promise((r) => setImmediate(r));
  expect(dispose).toHaveBeenCalledTimes(1);
  (await other).dispose?.();
});

test('serve --max-batch must be a positive integer', async () => {
  const c = captureIO();
  expect(await main(['serve', '--models', tmp, '--max-batch', '0'], c.io)).toBe(2);
  expect(c.err()).toMatch(/--max-batch must be/);
  expect(c.err().split('\n')).toHaveLength(2);
});
