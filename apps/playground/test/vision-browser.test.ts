// The image input of vision checkpoints in headless Chromium: a server over one tiny VisionGPT checkpoint; the page
// draws on the image canvas with the mouse, then uploads a PNG the test wrote, and generates. The server records
// every /api/generate and /api/attention body, so the test sees the pixels the page sent (the drawn strokes, the
// PNG's levels); the ids the page shows equal VisionGPT.withImage + @gptlab/decoding on those pixels computed here;
// the attention view draws the visual tokens' labels <img 0>, <img 1>, … on its canvas; the page logs no errors.
// Skips with a message where Chromium is absent.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { generate, gptLanguageModel, type GenerateResult } from '@gptlab/decoding';
import { encodePngGray, saveVisionGPT, type VisionGPT } from '@gptlab/model';
import { initBackend, tf } from '@gptlab/tensor';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import type { ModelRegistry } from '../src/types';
import { ARTIFACTS, describeWithChromium, launchChromium } from './helpers/chromium';
import { TINY_IMAGE, tinyVision } from './helpers/tiny-vision';

const { height: HEIGHT, width: WIDTH } = TINY_IMAGE;
const ZOOM = 8; // the page shows the image about 8× enlarged
const VISUAL_TOKENS = 4; // 8×16 in 8×4 patches
const PROMPT = 'read:';
const MAX_TOKENS = 4;

interface ImageBody {
  height: number;
  width: number;
  pixels: number[];
}
interface Body {
  strategy: Record<string, unknown>;
  image?: ImageBody;
  [field: string]: unknown;
}

// Records every fillText on the attention canvas: its labels exist only as pixels.
const RECORD_ATTENTION_LABELS = `
  window.__attnLabels = [];
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (this.canvas.id === 'attn-canvas') window.__attnLabels.push(String(text));
    return fillText.call(this, text, ...rest);
  };`;

/** Resolves once `done()` holds (checked every 50 ms), fails after `ms`. */
async function until(done: () => boolean, ms = 30000): Promise<void> {
  for (const t0 = Date.now(); !done(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met in ${ms} ms`);
  }
}

describeWithChromium('vision e2e')('image input in headless Chromium', () => {
  const bodies: Record<'generate' | 'attention', Body[]> = { generate: [], attention: [] };
  const pageErrors: string[] = [];
  let tmp = '';
  let model: VisionGPT;
  let tok: BPETokenizer;
  let registry: ModelRegistry;
  let [app, context, page] = [null, null, null] as unknown as [FastifyInstance, BrowserContext, Page];

  beforeAll(async () => {
    await initBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-vision-'));
    ({ model, tok } = tinyVision());
    expect(model.prefixLength).toBe(VISUAL_TOKENS);
    await saveVisionGPT(model, path.join(tmp, 'models', 'vis'), { tokenizer: tok });
    registry = realRegistry(path.join(tmp, 'models'));
    app = await createServer({ registry });
    // What the server received, recorded on the server (not in the page).
    app.addHook('preHandler', async (req) => {
      if (req.url === '/api/generate') bodies.generate.push(structuredClone(req.body) as Body);
      if (req.url === '/api/attention') bodies.attention.push(structuredClone(req.body) as Body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    context = await launchChromium(path.join(tmp, 'profile'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // (Chromium asks for /favicon.ico on its own; the playground has none.)
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) pageErrors.push(`console: ${m.text()} (${m.location().url})`);
    });
    await page.addInitScript(RECORD_ATTENTION_LABELS);
    await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
    // The only model is chosen on load and shows the image input.
    await page.waitForSelector('#image-canvas');
    await page.fill('#prompt', PROMPT);
    await page.fill('#max-tokens', String(MAX_TOKENS));
  }, 60000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    model?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** What the server runs for this prompt on `pixels`: VisionGPT.withImage, the page's strategy, the checkpoint's EOS. */
  async function reference(pixels: number[], strategy: Record<string, unknown>): Promise<number[]> {
    const { eosTokenId } = await registry.load('vis');
    const image = tf.tensor3d(pixels, [1, HEIGHT, WIDTH]);
    const conditioned = model.withImage(image);
    image.dispose();
    try {
      const lm = gptLanguageModel(conditioned);
      const options = { ...strategy, maxNewTokens: MAX_TOKENS, ...(eosTokenId == null ? {} : { eosTokenId }) };
      return ((await generate(lm, tok.encode(PROMPT), options)) as GenerateResult).ids;
    } finally {
      conditioned.dispose();
    }
  }

  /** Generates in the page; returns the body the server received and the ids the page shows. */
  async function generateInPage(): Promise<{ body: Body; ids: number[] }> {
    const before = bodies.generate.length;
    await page.evaluate(() => delete document.querySelector<HTMLElement>('#output-a')!.dataset.ids);
    await page.click('#generate');
    await page.waitForSelector('#output-a[data-ids]', { state: 'attached', timeout: 60000 });
    expect(bodies.generate.length).toBe(before + 1);
    const ids = JSON.parse((await page.getAttribute('#output-a', 'data-ids'))!) as number[];
    // The output shows one token per id and the finished run's line.
    expect(await page.locator('#output-a .text .tok').count()).toBe(ids.length);
    expect(await page.textContent('#output-a .text .prompt')).toBe(PROMPT);
    expect(await page.textContent('#output-a .meta')).toContain(`${ids.length} tokens in`);
    return { body: bodies.generate[before]!, ids };
  }

  test('drawing with the mouse: the request carries the strokes, the page shows VisionGPT’s output, attention shows <img i>', async () => {
    const canvas = page.locator('#image-canvas');
    const box = (await canvas.boundingBox())!;
    // The content box (inside the border; the stylesheet's box-sizing decides how wide it is) shows the image.
    const [left, top, cellW, cellH] = await canvas.evaluate((c: HTMLCanvasElement) => [
      c.clientLeft,
      c.clientTop,
      c.clientWidth / c.width,
      c.clientHeight / c.height,
    ]);
    expect(cellW).toBeGreaterThan(ZOOM - 1); // enlarged, so a CSS pixel lands inside one image pixel
    /** Page coordinates `fx`, `fy` of the way into image pixel (row, col)'s enlarged square. */
    const at = (row: number, col: number, fx = 0.5, fy = 0.5) =>
      [box.x + left + (col + fx) * cellW, box.y + top + (row + fy) * cellH] as const;
    const expected = new Array<number>(HEIGHT * WIDTH).fill(1); // white, black where drawn
    // A stroke along row 4 from column 3 to column 10 (small mouse steps: every pixel on the way gets a move).
    await page.mouse.move(...at(4, 3));
    await page.mouse.down();
    await page.mouse.move(...at(4, 10), { steps: 30 });
    await page.mouse.up();
    for (let col = 3; col <= 10; col++) expected[4 * WIDTH + col] = 0;
    // Clicks near the corners of the three far pixels: a click paints the pixel under the mouse, to the edge.
    for (const [row, col, fx, fy] of [
      [0, WIDTH - 1, 0.15, 0.15],
      [HEIGHT - 1, WIDTH - 1, 0.85, 0.85],
      [HEIGHT - 1, 0, 0.15, 0.85],
    ] as const) {
      await page.mouse.click(...at(row, col, fx, fy));
      expected[row * WIDTH + col] = 0;
    }
    // A move with the button up draws nothing.
    await page.mouse.move(...at(1, 1));
    await page.mouse.move(...at(6, 12), { steps: 10 });

    const { body, ids } = await generateInPage();
    expect(body).toMatchObject({ model: 'vis', prompt: PROMPT, maxNewTokens: MAX_TOKENS, strategy: { type: 'greedy' } });
    expect(body.image).toEqual({ height: HEIGHT, width: WIDTH, pixels: expected });
    expect(ids).toEqual(await reference(expected, body.strategy));
    // The strokes matter: this seeded model says something else about a blank canvas.
    expect(ids).not.toEqual(await reference(new Array<number>(HEIGHT * WIDTH).fill(1), body.strategy));

    // The attention view of this run: visual tokens first, labelled on both axes.
    await page.evaluate('window.__attnLabels = []');
    await page.click('#attention-toggle');
    const n = VISUAL_TOKENS + tok.encode(PROMPT).length + ids.length;
    await page.waitForSelector(`#attn-canvas[data-rendered="${n}x${n}"]`, { state: 'attached', timeout: 60000 });
    const att = bodies.attention.at(-1)!;
    expect(att.image).toEqual(body.image);
    expect(att).toMatchObject({ promptIds: tok.encode(PROMPT), generatedIds: ids });
    const labels = (await page.evaluate('window.__attnLabels')) as string[];
    expect(labels.length).toBe(2 * n); // one per row, one per column
    const imgLabels = Array.from({ length: VISUAL_TOKENS }, (_, i) => `<img ${i}>`);
    expect(labels.slice(0, VISUAL_TOKENS)).toEqual(imgLabels); // rows
    expect(labels.slice(n, n + VISUAL_TOKENS)).toEqual(imgLabels); // columns
    expect(await page.textContent('#attn-info')).toContain(`${n} tokens (prompt ${VISUAL_TOKENS + PROMPT.length})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'vision-draw.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120000);

  test('uploading a PNG: the request carries its gray levels, the output is generate --image’s; unchecked sends none', async () => {
    // Levels on a 0.2 grid (51/255 steps): what the page sends (3 decimals) and the PNG reader's v/255 agree exactly.
    const levels = Array.from({ length: HEIGHT * WIDTH }, (_, i) => (((i * 7) % 6) * 51) / 255);
    const png = path.join(tmp, 'word.png');
    fs.writeFileSync(png, encodePngGray({ height: HEIGHT, width: WIDTH, pixels: Float32Array.from(levels) }));
    await page.setInputFiles('#image-file', png);
    // The file is read asynchronously: wait until the canvas holds the PNG.
    await page.waitForFunction((want) => {
      const c = document.querySelector<HTMLCanvasElement>('#image-canvas')!;
      const rgba = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return want.every((v, i) => rgba[4 * i] === Math.round(v * 255));
    }, levels);
    const attentionBefore = bodies.attention.length;
    const { body, ids } = await generateInPage();
    expect(body.image).toEqual({ height: HEIGHT, width: WIDTH, pixels: levels });
    expect(ids).toEqual(await reference(levels, body.strategy));
    // The attention view (open since the first test) follows the new run, with the new image.
    await until(() => bodies.attention.length === attentionBefore + 1);
    expect(bodies.attention.at(-1)).toMatchObject({ image: body.image, generatedIds: ids });
    await page.waitForFunction(() => document.querySelector('#attn-info')!.textContent!.includes('tokens (prompt'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'vision-upload.png'), fullPage: true });

    // "send the image" off: a text-only request.
    await page.uncheck('#image-use');
    const textOnly = await generateInPage();
    expect(textOnly.body.image).toBeUndefined();
    expect(pageErrors).toEqual([]);
  }, 120000);
});
