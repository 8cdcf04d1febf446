// "Run in this browser" in headless Chromium: the page imports the browser bundle (built here with
// scripts/browser-bundle.mjs), fetches the checkpoint from /browser/models and generates with tfjs in the
// page; its greedy ids must equal the server's for the same model and prompt. Skips where /usr/bin/chromium
// is absent, like e2e.test.ts.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer } from '../src/server';
import { realRegistry } from '../src/real';

const CHROMIUM = process.env.PLAYGROUND_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const FIXTURES = path.join(__dirname, 'fixtures');
const maybe = HAVE_CHROMIUM ? describe : describe.skip;

/** The server over copies of the fixture checkpoints, with a freshly built bundle, and a Chromium page. */
async function start(tmp: string): Promise<{ app: FastifyInstance; url: string; context: BrowserContext }> {
  const models = path.join(tmp, 'models');
  for (const name of ['demo', 'tiny']) fs.cpSync(path.join(FIXTURES, name), path.join(models, name), { recursive: true });
  const bundleDir = path.join(tmp, 'bundle');
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'browser-bundle.mjs'), bundleDir], { stdio: 'pipe' });
  const app = await createServer({ registry: realRegistry(models), browserBundleDir: bundleDir });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
  const flags = '--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --no-first-run';
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: flags.split(' '),
  });
  return { app, url, context };
}

maybe('run in this browser (headless Chromium)', () => {
  let tmp: string;
  const pageErrors: string[] = [];
  let started: Awaited<ReturnType<typeof start>>;
  let app: FastifyInstance;
  let page: Page;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-browser-'));
    started = await start(tmp);
    app = started.app;
    page = started.context.pages()[0] ?? (await started.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120000);

  afterAll(async () => {
    await started?.context.close();
    await started?.app.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function serverIds(model: string, prompt: string, maxNewTokens: number): Promise<number[]> {
    const res = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model, prompt, strategy: { type: 'greedy' }, maxNewTokens },
    });
    expect(res.statusCode).toBe(200);
    return (res.json() as { ids: number[] }).ids;
  }

  async function pageIds(model: string, prompt: string, maxNewTokens: number): Promise<number[]> {
    await page.selectOption('#model', model);
    await page.waitForFunction((m) => document.querySelector('#card')!.textContent!.includes(m), model);
    await page.fill('#prompt', prompt);
    await page.fill('#max-tokens', String(maxNewTokens));
    await page.evaluate(() => document.querySelector('#output-a')!.removeAttribute('data-ids'));
    const serverCalls: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (r.url().endsWith('/api/generate')) serverCalls.push(r.url());
    };
    page.on('request', onRequest);
    await page.click('#generate');
    await page.waitForSelector('#output-a[data-ids]', { state: 'attached', timeout: 90000 });
    page.off('request', onRequest);
    expect(serverCalls).toEqual([]); // generated in the page, not by the server
    return JSON.parse((await page.getAttribute('#output-a', 'data-ids'))!) as number[];
  }

  test('the page generates with tfjs and its greedy ids equal the server’s', async () => {
    await page.goto(started.url);
    await page.waitForSelector('#model option[value="demo"]', { state: 'attached' });
    await page.check('#in-browser');
    for (const [model, prompt] of [
      ['demo', 'Attention is all'],
      ['tiny', 'hello world'],
    ] as const) {
      const inPage = await pageIds(model, prompt, 12);
      expect(inPage).toEqual(await serverIds(model, prompt, 12));
      expect(inPage.length).toBeGreaterThan(0);
    }
    // The backend the page chose: wasm in headless Chromium without a GPU (webgpu/webgl where one exists).
    expect(await page.textContent('#browser-backend')).toMatch(/in this browser: backend: (webgpu|webgl|wasm|cpu)/);
    expect(await page.textContent('#output-a .meta')).toContain('finish:');
    expect(pageErrors).toEqual([]);
  }, 180000);

  test('model files are served by name only', async () => {
    const ok = await app.inject({ method: 'GET', url: '/browser/models/demo/config.json' });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toHaveProperty('vocab_size');
    for (const bad of [
      '/browser/models/demo/..%2Fdemo%2Fconfig.json',
      '/browser/models/demo/secret.txt',
      '/browser/models/..%2F/config.json',
    ]) {
      expect((await app.inject({ method: 'GET', url: bad })).statusCode).toBeGreaterThanOrEqual(400);
    }
    expect((await app.inject({ method: 'GET', url: '/browser/models/nope/config.json' })).statusCode).toBe(404);
    const wasm = await app.inject({ method: 'GET', url: '/browser/wasm/tfjs-backend-wasm-simd.wasm' });
    expect(wasm.statusCode).toBe(200);
    expect(wasm.headers['content-type']).toBe('application/wasm');
  });
});
