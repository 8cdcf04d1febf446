// Holding load, on the scripted fake model: the bounded queue (429 + Retry-After), request timeouts and client
// disconnects that free their slot on /v1, the optional API key, and models evicted from the registry cache
// never disposed while a request still holds them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DirRegistry } from '../src/models-dir';
import { main } from '../src/program';
import { JobQueue } from '../src/queue';
import { createServer, type ServerOptions } from '../src/server';
import type { LoadedModel } from '../src/types';
import { FakeModel, FakeRegistry } from './helpers/fake-model';
import { useFakeModelsDir } from './helpers/fake-server';
import { captureIO } from './helpers/io';

const dirs = useFakeModelsDir();
const apps: FastifyInstance[] = [];
afterEach(async () => {
  // Sockets a test aborted may still be open: close them so close() does not wait for keep-alive timeouts.
  await Promise.all(
    apps.splice(0).map((a) => {
      a.server.closeAllConnections();
      return a.close();
    }),
  );
});

async function serve(delayMs: number, opts: Partial<ServerOptions> = {}) {
  const reg = new FakeRegistry(dirs.modelsDir, ['other', 'tiny'], delayMs);
  const app = await createServer({ registry: reg, limits: { maxNewTokens: 50 }, ...opts });
  apps.push(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, reg, address };
}

const post = (address: string, url: string, body: object, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${address}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
  });

const completion = { model: 'tiny', prompt: 'a', max_tokens: 5, temperature: 0 };

test('past --max-queue a /v1 request gets 429 rate_limit_error with Retry-After; the rest are answered', async () => {
  const { address } = await serve(5, { queue: new JobQueue(1, 2) });
  const replies = await Promise.all(Array.from({ length: 6 }, () => post(address, '/v1/completions', completion)));
  const codes = replies.map((r) => r.status).sort();
  expect(codes).toEqual([200, 200, 200, 429, 429, 429]);
  const refused = replies.find((r) => r.status === 429)!;
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await refused.json()) as { error: { type: string; code: string } }).error).toMatchObject({
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
  });
});

test('the default queue holds 256 waiting requests', () => {
  expect(new JobQueue().maxPending).toBe(256);
});

test('a request past --request-timeout stops its generation: 504 as JSON, finish_reason "length" in a stream', async () => {
  const { reg, address } = await serve(40, { requestTimeoutS: 0.15 });
  const slow = { ...completion, max_tokens: 40 };
  const res = await post(address, '/v1/completions', slow);
  expect(res.status).toBe(504);
  expect(((await res.json()) as { error: { type: string } }).error.type).toBe('timeout_error');

  const streamed = await post(address, '/v1/completions', { ...slow, stream: true });
  const text = await streamed.text();
  const events = text.trim().split('\n\n');
  expect(events[events.length - 1]).toBe('data: [DONE]');
  const last = JSON.parse(events[events.length - 2]!.slice(6)) as { choices: { finish_reason: string }[] };
  expect(last.choices[0]!.finish_reason).toBe('length');
  const model = reg.models.get('tiny')!;
  expect(model.stats.aborted).toBe(2);
  // The slot is free again: a short request runs at once.
  expect((await post(address, '/v1/completions', { ...completion, max_tokens: 1 })).status).toBe(200);
});

test('a client that disconnects from a /v1 stream stops its generation and frees the slot', async () => {
  const { reg, address } = await serve(30);
  const ac = new AbortController();
  const res = await post(
    address,
    '/v1/chat/completions',
    { model: 'tiny', messages: [{ role: 'user', content: 'x' }], stream: true },
    {},
    ac.signal,
  );
  // A fake model has no chat template: that is a 400 before any stream starts.
  expect(res.status).toBe(400);
  const streamed = await post(address, '/v1/completions', { ...completion, max_tokens: 40, stream: true }, {}, ac.signal);
  const reader = streamed.body!.getReader();
  await reader.read(); // the first chunk arrived: the generation is running
  ac.abort();
  const model = reg.models.get('tiny')!;
  for (let i = 0; i < 100 && model.stats.aborted === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(model.stats.aborted).toBe(1);
  expect(model.stats.finished).toBe(0);
  const next = await post(address, '/v1/completions', completion);
  expect(next.status).toBe(200);
  expect(model.stats.finished).toBe(1);
});

test('--api-key: /v1 and /api refuse requests without the Bearer key (401), the UI stays open', async () => {
  const { address } = await serve(0, { apiKey: 's3cret', uiDir: path.join(__dirname, '..', 'src', 'ui') });
  const denied = await fetch(`${address}/v1/models`);
  expect(denied.status).toBe(401);
  expect(((await denied.json()) as { error: { type: string; code: string } }).error).toMatchObject({
    type: 'authentication_error',
    code: 'invalid_api_key',
  });
  expect((await fetch(`${address}/v1/models`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  expect((await fetch(`${address}/api/models`)).status).toBe(401);
  const ok = await fetch(`${address}/v1/models`, { headers: { authorization: 'Bearer s3cret' } });
  expect(ok.status).toBe(200);
  expect((await fetch(`${address}/api/models`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  expect((await fetch(`${address}/`)).status).toBe(200);
});

describe('DirRegistry reference counting', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
    for (const n of ['a', 'b', 'c']) {
      fs.mkdirSync(path.join(root, n));
      fs.writeFileSync(path.join(root, n, 'config.json'), '{}');
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  function registry() {
    const disposed: string[] = [];
    const reg = new DirRegistry(
      root,
      async (_dir, name) => Object.assign(new FakeModel(name), { dispose: () => void disposed.push(name) }) as LoadedModel,
      1,
    );
    return { reg, disposed };
  }

  test('an evicted model is disposed only when its last user releases it', async () => {
    const { reg, disposed } = registry();
    const first = await reg.acquire('a');
    const second = await reg.acquire('a');
    await reg.acquire('b').then((l) => l.release()); // evicts a from the cache of 1
    await new Promise((r) => setImmediate(r));
    expect(reg.loaded.map((e) => e.name)).toEqual(['b']);
    expect(disposed).toEqual([]);
    first.release();
    first.release(); // idempotent: does not count twice
    expect(disposed).toEqual([]);
    second.release();
    expect(disposed).toEqual(['a']);
  });

  test('a model nobody holds is disposed when evicted, and a fresh acquire reloads it', async () => {
    const { reg, disposed } = registry();
    (await reg.acquire('a')).release();
    (await reg.acquire('b')).release();
    await new Promise((r) => setImmediate(r));
    expect(disposed).toEqual(['a']);
    const again = await reg.acquire('a');
    expect(again.model.card.name).toBe('a');
    again.release();
    await new Promise((r) => setImmediate(r));
    expect(disposed).toEqual(['a', 'b']);
  });

  test('a server request holds its model while it generates', async () => {
    const disposed: string[] = [];
    const reg = new DirRegistry(
      root,
      async (_dir, name) => Object.assign(new FakeModel(name, 20), { dispose: () => void disposed.push(name) }) as LoadedModel,
      1,
    );
    const app = await createServer({ registry: reg, queue: new JobQueue(2, 8) });
    apps.push(app);
    const running = app.inject({ method: 'POST', url: '/v1/completions', payload: { ...completion, model: 'a', max_tokens: 10 } });
    await new Promise((r) => setTimeout(r, 50));
    // Another model is loaded meanwhile and evicts 'a' from the cache.
    const other = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...completion, model: 'b', max_tokens: 1 } });
    expect(other.statusCode).toBe(200);
    expect(disposed).toEqual([]);
    const res = await running;
    expect(res.statusCode).toBe(200);
    expect(res.json().choices[0].text).toHaveLength(10);
    expect(disposed).toEqual(['a']);
  });
});

describe('serve flags', () => {
  async function serveUsage(args: string[]) {
    const c = captureIO();
    const code = await main(['serve', '--models', dirs.modelsDir, ...args], c.io);
    return { code, err: c.err() };
  }
  test.each([
    [['--max-queue=-1'], /--max-queue must be >= 0/],
    [['--request-timeout', 'soon'], /--request-timeout/],
    [['--log-level', 'loud'], /--log-level/],
    [['--api-key', ''], /--api-key: the key must not be empty/],
  ])('%j is a one-line usage error (exit 2)', async (args, message) => {
    const r = await serveUsage(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
