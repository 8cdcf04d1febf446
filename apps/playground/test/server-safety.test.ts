// The server under hostile or heavy use: model names that try to leave the models directory, a full queue,
// clients that go away mid-generation.
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { JobQueue } from '../src/queue';
import { DirRegistry } from '../src/models-dir';
import { FakeModel } from './helpers/fake-model';
import { useFakeModelsDir, makeFakeServer } from './helpers/fake-server';

const dirs = useFakeModelsDir();
const make = (delayMs = 0, queue?: JobQueue) => makeFakeServer(dirs.modelsDir, delayMs, queue);

describe('model names cannot escape the models directory', () => {
  const escapes = [
    '../secret',
    '..',
    '.',
    'tiny/../../secret',
    '/etc',
    '..\\secret',
    'tiny/',
    `${'x'.repeat(10)}/..`,
    '.hidden',
    '',
    ' tiny',
    'tiny\u0000',
  ];
  test.each(escapes)('generate rejects %j', async (name) => {
    const { app, reg } = await make();
    const res = await app.inject({ method: 'POST', url: '/api/generate', payload: { model: name, prompt: 'a', maxNewTokens: 1 } });
    expect(res.statusCode).toBe(400);
    expect(reg.models.size).toBe(0);
  });

  test.each(['..%2Fsecret', '%2E%2E', '..%5Csecret', '%2Fetc%2Fpasswd', '..'])('GET /api/models/%s is refused', async (enc) => {
    const { app, reg } = await make();
    const res = await app.inject({ method: 'GET', url: `/api/models/${enc}` });
    expect([400, 404]).toContain(res.statusCode);
    expect(reg.models.size).toBe(0);
  });

  test('a sibling directory sharing the prefix is not reachable', async () => {
    const { app } = await make();
    // models-evil starts with "models" but is outside models/.
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: '../models-evil', prompt: 'a', maxNewTokens: 1 },
    });
    expect(res.statusCode).toBe(400);
  });

  test('DirRegistry only ever hands the loader directories directly inside the root', async () => {
    const seen: string[] = [];
    const reg = new DirRegistry(dirs.modelsDir, async (dir, name) => {
      seen.push(dir);
      return new FakeModel(name);
    });
    expect(await reg.list()).toEqual(['other', 'tiny']);
    for (const name of ['../secret', '..', 'tiny/../other', '/tmp', 'missing']) await expect(reg.load(name)).rejects.toThrow();
    await reg.load('tiny');
    expect(seen).toEqual([path.join(path.resolve(dirs.modelsDir), 'tiny')]);
  });

  test('DirRegistry shares one load between concurrent requests and evicts the least recently used', async () => {
    let loads = 0;
    const disposed: string[] = [];
    const reg = new DirRegistry(
      dirs.modelsDir,
      async (_dir, name) => {
        loads++;
        const m = new FakeModel(name);
        (m as unknown as { dispose: () => void }).dispose = () => disposed.push(name);
        return m;
      },
      1,
    );
    const [a, b] = await Promise.all([reg.load('tiny'), reg.load('tiny')]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    await reg.load('other');
    await new Promise((r) => setImmediate(r));
    expect(disposed).toEqual(['tiny']);
  });
});

describe('concurrency', () => {
  test('concurrent requests are queued and all answered', async () => {
    const { app, reg } = await make(5);
    const payload = { model: 'tiny', prompt: 'a', maxNewTokens: 5 };
    const results = await Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'POST', url: '/api/generate', payload })));
    for (const r of results) expect(r.json()).toMatchObject({ text: 'bcdef', finishReason: 'length' });
    const stats = reg.models.get('tiny')!.stats;
    expect(stats.finished).toBe(4);
    expect(stats.maxConcurrent).toBe(1);
  });

  test('a full queue answers 429 with Retry-After instead of crashing', async () => {
    const { app } = await make(5, new JobQueue(1, 1));
    const payload = { model: 'tiny', prompt: 'a', maxNewTokens: 5 };
    const results = await Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'POST', url: '/api/generate', payload })));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 429, 429]);
    const refused = results.find((r) => r.statusCode === 429)!;
    expect(refused.json().error).toMatch(/busy/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // still serving afterwards
    expect((await app.inject({ method: 'POST', url: '/api/generate', payload })).statusCode).toBe(200);
  });
});

describe('client disconnect', () => {
  async function listen(delayMs: number) {
    const made = await make(delayMs);
    await made.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (made.app.server.address() as AddressInfo).port;
    return { ...made, port };
  }

  function post(port: number, body: object, accept: string) {
    const data = JSON.stringify(body);
    return http
      .request({
        host: '127.0.0.1',
        port,
        path: '/api/generate',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, 'content-length': Buffer.byteLength(data) },
      })
      .end(data) as http.ClientRequest;
  }

  async function until(cond: () => boolean, ms = 5000) {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('closing an SSE stream stops its generation', async () => {
    const { app, reg, port } = await listen(20);
    try {
      const req = post(port, { model: 'tiny', prompt: 'a', maxNewTokens: 50 }, 'text/event-stream');
      let received = '';
      req.on('response', (res) => {
        res.on('data', (c) => {
          received += c;
          if (received.includes('event: token')) req.destroy();
        });
      });
      req.on('error', () => undefined);
      await until(() => (reg.models.get('tiny')?.stats.aborted ?? 0) === 1);
      const stats = reg.models.get('tiny')!.stats;
      expect(stats.finished).toBe(0);
      // A later request runs at once: the aborted one released the queue.
      const r = await app.inject({ method: 'POST', url: '/api/generate', payload: { model: 'tiny', prompt: 'a', maxNewTokens: 2 } });
      expect(r.json().text).toBe('bc');
    } finally {
      await app.close();
    }
  });

  test('a JSON client that goes away stops its generation, and a queued one never starts', async () => {
    const { app, reg, port } = await listen(20);
    try {
      const first = post(port, { model: 'tiny', prompt: 'a', maxNewTokens: 30 }, 'application/json');
      first.on('error', () => undefined);
      await until(() => (reg.models.get('tiny')?.stats.started ?? 0) === 1);
      const second = post(port, { model: 'tiny', prompt: 'b', maxNewTokens: 30 }, 'application/json');
      second.on('error', () => undefined);
      await new Promise((r) => setTimeout(r, 60));
      second.destroy();
      first.destroy();
      await until(() => reg.models.get('tiny')!.stats.aborted === 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(reg.models.get('tiny')!.stats.started).toBe(1);
      expect(reg.models.get('tiny')!.stats.finished).toBe(0);
    } finally {
      await app.close();
    }
  });
});
