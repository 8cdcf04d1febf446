// End-to-end: the real server over the fixture checkpoints, driven in headless Debian Chromium through
// playwright-core. Skips (with a message) where /usr/bin/chromium is absent; CI installs it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer } from '../src/server';
import { realRegistry } from '../src/real';

// PLAYGROUND_CHROMIUM points elsewhere (e.g. another distribution's chromium).
const CHROMIUM = process.env.PLAYGROUND_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const FIXTURES = path.join(__dirname, 'fixtures');
const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');
const README_SHOT = path.join(__dirname, '..', 'docs', 'screenshot.png');

if (!HAVE_CHROMIUM) {
  // eslint-disable-next-line no-console
  console.warn(`e2e skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);
}
const maybe = HAVE_CHROMIUM ? describe : describe.skip;

maybe('playground in headless Chromium', () => {
  let tmp: string;
  let app: FastifyInstance;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-e2e-'));
    const models = path.join(tmp, 'models');
    // demo: trained, layer 1 locally banded (window 8); tiny: random weights.
    for (const name of ['demo', 'tiny']) {
      fs.mkdirSync(path.join(models, name), { recursive: true });
      for (const f of fs.readdirSync(path.join(FIXTURES, name))) fs.copyFileSync(path.join(FIXTURES, name, f), path.join(models, name, f));
    }
    app = await createServer({ registry: realRegistry(models) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: '--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run'.split(
        ' ',
      ),
      viewport: { width: 1440, height: 1100 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 60000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('choose a model, prompt, switch greedy → top-p, stream, hover, attention heat map', async () => {
    await page.goto(url);
    await page.waitForSelector('#model option[value="demo"]', { state: 'attached' });
    await page.selectOption('#model', 'demo');
    await page.waitForFunction(() => document.querySelector('#card')!.textContent!.includes('Parameters'));
    // GPT-2 count with a tied head, V = 320, C = 64, context 64, 2 layers: V·C + P·C + L·(12C² + 13C) + 2C.
    expect(await page.textContent('#card')).toContain((320 * 64 + 64 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64).toLocaleString('en-US'));
    expect(await page.textContent('#card')).toContain('0:dense 1:local');
    expect(await page.textContent('#backend')).toMatch(/wasm|tensorflow|cpu/);

    await page.fill('#prompt', 'Attention is all');
    expect(await page.inputValue('#strategy-a')).toBe('greedy');
    expect(await page.isVisible('#a-topP')).toBe(false);
    await page.selectOption('#strategy-a', 'top-p');
    expect(await page.isVisible('#a-topP')).toBe(true);
    await page.fill('#a-topP', '0.8');
    await page.fill('#max-tokens', '40');

    // Record when tokens arrive and when the run finishes, to see that they stream in one by one.
    await page.evaluate(() => {
      const w = window as unknown as { tokTimes: number[]; doneTime: number };
      w.tokTimes = [];
      w.doneTime = 0;
      const text = document.querySelector('#output-a .text')!;
      new MutationObserver(() => {
        const n = text.querySelectorAll('.tok').length;
        while (w.tokTimes.length < n) w.tokTimes.push(performance.now());
      }).observe(text, { childList: true });
      new MutationObserver(() => {
        if (!w.doneTime && document.querySelector('#output-a .meta')!.textContent!.includes('finish:')) w.doneTime = performance.now();
      }).observe(document.querySelector('#output-a .meta')!, { childList: true, characterData: true, subtree: true });
    });
    const request = page.waitForRequest((r) => r.url().endsWith('/api/generate'));
    await page.click('#generate');
    const body = JSON.parse((await request).postData()!);
    expect(body.strategy).toEqual({ type: 'sample', topP: 0.8 }); // fields at their schema default are not sent
    expect(body.model).toBe('demo');
    await page.waitForFunction(() => document.querySelector('#output-a .meta')!.textContent!.includes('finish:'), undefined, {
      timeout: 30000,
    });
    const { tokTimes, doneTime } = await page.evaluate(() => {
      const w = window as unknown as { tokTimes: number[]; doneTime: number };
      return { tokTimes: w.tokTimes, doneTime: w.doneTime };
    });
    const meta = await page.textContent('#output-a .meta');
    const n = Number(/(\d+) tokens/.exec(meta!)![1]);
    expect(n).toBeGreaterThan(0);
    expect(await page.locator('#output-a .tok').count()).toBe(n);
    expect(tokTimes.length).toBe(n);
    // Streamed: the first token was on the page before the run finished, and tokens did not all arrive at once.
    expect(tokTimes[0]!).toBeLessThan(doneTime);
    if (n >= 4) expect(new Set(tokTimes.map((t) => Math.round(t))).size).toBeGreaterThan(1);

    // Hover a token: its probability and the top alternatives.
    await page.hover('#output-a .tok >> nth=0');
    await page.waitForSelector('#tip:not([hidden])');
    const tip = await page.textContent('#tip');
    expect(tip).toMatch(/p = \d+\.\d+%/);
    expect(tip).toContain('top alternatives');

    // Attention view on the sparse layer.
    await page.click('#attention-toggle');
    await page.selectOption('#attn-layer', '1');
    await page.waitForFunction(
      () =>
        !!document.querySelector('#attn-canvas')!.getAttribute('data-rendered') &&
        !document.querySelector('#attn-sparse')!.hasAttribute('hidden'),
    );
    const rendered = await page.getAttribute('#attn-canvas', 'data-rendered');
    const T = Number(rendered!.split('x')[0]);
    const promptLen = (await page.textContent('#attn-info'))!.match(/prompt (\d+)/)![1];
    expect(T).toBe(Number(promptLen) + n);
    const colored = await page.evaluate(() => {
      const c = document.querySelector('#attn-canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 2]! > d[i]! + 40) blue++;
      return { blue, w: c.width, h: c.height };
    });
    expect(colored.w).toBeGreaterThan(100);
    expect(colored.blue).toBeGreaterThan(100);
    expect(await page.locator('#attn-sparse-body svg').count()).toBe(1);
    expect(await page.textContent('#attn-sparse-body')).toContain('local');
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-top-p-attention.png'), fullPage: true });
  }, 90000);

  test('few-shot template builder, side by side strategies, Stop', async () => {
    await page.click('.tab[data-tab="template-tab"]');
    await page.fill('#tpl-examples', 'sea otter => loutre de mer\npeppermint => menthe poivrée');
    await page.fill('#tpl-query', 'cheese');
    await page.selectOption('#tpl-shots', '1');
    await page.click('#tpl-apply');
    expect(await page.inputValue('#prompt')).toBe('Translate English to French:\n\nsea otter => loutre de mer\ncheese =>');
    await page.click('.tab[data-tab="template-tab"]');
    await page.selectOption('#tpl-shots', '0');
    await page.click('#tpl-apply');
    expect(await page.inputValue('#prompt')).toBe('Translate English to French:\n\ncheese =>');
    expect(await page.isVisible('#prompt')).toBe(true);

    await page.fill('#prompt', 'The quick brown');
    await page.check('#compare');
    await page.selectOption('#strategy-b', 'beam');
    await page.fill('#b-numBeams', '3');
    await page.fill('#max-tokens', '30');
    await page.click('#generate');
    for (const run of ['a', 'b']) {
      await page.waitForFunction((r) => document.querySelector(`#output-${r} .meta`)!.textContent!.includes('finish:'), run, {
        timeout: 30000,
      });
      expect(await page.locator(`#output-${run} .tok`).count()).toBeGreaterThan(0);
    }
    expect(await page.textContent('#output-b .meta')).toContain('beam numBeams=3');
    await page.hover('#output-a .tok >> nth=2');
    await page.waitForSelector('#tip:not([hidden])');
    if (await page.isHidden('#attention')) await page.click('#attention-toggle');
    await page.selectOption('#attn-layer', '1');
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-side-by-side.png'), fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(README_SHOT), { recursive: true });
      await page.screenshot({ path: README_SHOT, fullPage: true });
    }
    // Stop: a long run is cut short.
    await page.uncheck('#compare');
    await page.fill('#max-tokens', '120');
    await page.fill('#prompt', 'x');
    // Too long for demo's 64-token context: the server's message is shown.
    await page.click('#generate');
    await page.waitForSelector('#output-a .meta .error');
    expect(await page.textContent('#output-a .meta')).toMatch(/exceeds the model's context of 64 tokens/);
    // The random 'tiny' model has a context of 128; seeded, its sampled run does not end early at EOS.
    await page.fill('#seed', '42');
    await page.selectOption('#model', 'tiny');
    await page.waitForFunction(() => document.querySelector('#card')!.textContent!.includes('tiny'));
    await page.click('#generate');
    await page.waitForSelector('#output-a .tok');
    await page.click('#stop-btn');
    await page.waitForFunction(() => document.querySelector('#output-a .meta')!.textContent!.includes('stopped'), undefined, {
      timeout: 20000,
    });
    expect(await page.locator('#output-a .tok').count()).toBeLessThan(120);
    expect(pageErrors).toEqual([]);
  }, 90000);
});
