// Chat mode in headless Chromium: a server over two chat checkpoints ('sft': the tiny fixture, 'ppo': the demo
// fixture, both with the trainer's default chat template), a system prompt and two user turns with 'ppo' compared
// beside 'sft'. Both columns answer; the server side records every /v1/chat/completions body, so the test sees
// that each model's second request carries the whole conversation — with that column's own first reply, equal to
// what the server answers for the first turn alone. Skips with a message where Chromium is absent.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { copyChatCheckpoint } from './helpers/chat-fixture';
import { ARTIFACTS, describeWithChromium, launchChromium } from './helpers/chromium';

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  [field: string]: unknown;
}

// Short: the demo checkpoint's context is 64 tokens and its tokenizer has 320 tokens (about one per character).
const SYSTEM = 'Be brief.';
const TURNS = ['hi', 'ok'];
const MAX_TOKENS = 4;

describeWithChromium('chat e2e')('chat mode in headless Chromium', () => {
  /** The /v1/chat/completions bodies the server received, in order, and the page's uncaught errors. */
  const bodies: ChatBody[] = [];
  const pageErrors: string[] = [];
  let tmp = '';
  let [app, context, page] = [null, null, null] as unknown as [FastifyInstance, BrowserContext, Page];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-chat-'));
    copyChatCheckpoint('tiny', path.join(tmp, 'models', 'sft'));
    copyChatCheckpoint('demo', path.join(tmp, 'models', 'ppo'));
    app = await createServer({ registry: realRegistry(path.join(tmp, 'models')) });
    // What the server received, recorded on the server (not in the page).
    app.addHook('preHandler', async (req) => {
      if (req.url === '/v1/chat/completions') bodies.push(structuredClone(req.body) as ChatBody);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    context = await launchChromium(path.join(tmp, 'profile'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
  }, 60000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The server's own answer to `messages`, not streamed, with the decoding the page sends. */
  async function serverReply(body: ChatBody): Promise<string> {
    const { stream: _s, stream_options: _o, ...plain } = body;
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: plain });
    expect(res.statusCode).toBe(200);
    return (res.json() as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  }

  test('a system prompt and two turns: both columns answer, each request carries its column’s history', async () => {
    await page.waitForSelector('#chat-compare option[value="ppo"]', { state: 'attached' });
    await page.selectOption('#model', 'sft');
    await page.waitForFunction(() => document.querySelector('#card')!.textContent!.includes('Parameters'));
    await page.fill('#max-tokens', String(MAX_TOKENS));
    await page.check('#chat-mode');
    expect(await page.isVisible('#prompt')).toBe(false);
    await page.fill('#chat-system', SYSTEM);
    await page.selectOption('#chat-compare', 'ppo');
    expect(await page.textContent('#chat-title-a')).toBe('sft');
    expect(await page.textContent('#chat-title-b')).toBe('ppo');
    for (const [i, text] of TURNS.entries()) {
      await page.fill('#chat-input', text);
      await page.press('#chat-input', 'Enter');
      for (const col of ['a', 'b'])
        await page.waitForSelector(`#chat-log-${col}[data-turns="${i + 1}"]`, { state: 'attached', timeout: 60000 });
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'chat-compare.png'), fullPage: true });
    expect(pageErrors).toEqual([]);

    // Both columns show two user bubbles and two finished replies.
    for (const col of ['a', 'b']) {
      expect(await page.locator(`#chat-log-${col} .bubble.user`).allTextContents()).toEqual(TURNS.map((t) => `user${t}`));
      expect(await page.locator(`#chat-log-${col} .bubble.assistant[data-done]`).count()).toBe(2);
      expect(await page.locator(`#chat-log-${col} .bubble.failed`).count()).toBe(0);
    }

    expect(bodies.map((b) => b.model).sort()).toEqual(['ppo', 'ppo', 'sft', 'sft']);
    const replies: Record<string, string> = {};
    for (const model of ['sft', 'ppo']) {
      const [first, second] = bodies.filter((b) => b.model === model);
      // The decoding panel's greedy strategy, in /v1's terms, and streaming.
      expect(first).toMatchObject({ temperature: 0, maxNewTokens: MAX_TOKENS, stream: true });
      expect(first!.messages).toEqual([
        { role: 'system', content: SYSTEM },
        { role: 'user', content: TURNS[0] },
      ]);
      // The column's first reply is what the server answers for that turn, and it is sent back as history.
      const reply = await serverReply(first!);
      expect(reply.length).toBeGreaterThan(0);
      expect(second!.messages).toEqual([...first!.messages, { role: 'assistant', content: reply }, { role: 'user', content: TURNS[1] }]);
      replies[model] = reply;
      // What the page shows for the second turn is the server's answer to the whole conversation.
      const shown = (await page.locator(`#chat-log-${model === 'sft' ? 'a' : 'b'} .bubble.assistant .content`).allTextContents())[1];
      const expected = await serverReply(second!);
      // As the page shows text: control characters as their pictures (the tiny model's random tokens have some).
      // (A string, so the test's compiler leaves the page's import() alone.)
      expect(shown).toBe(await page.evaluate(`import('/dom.js').then((m) => m.visible(${JSON.stringify(expected)}))`));
    }
    // Two models, two histories: each column kept its own reply.
    expect(replies.sft).not.toBe(replies.ppo);
  }, 180000);

  test('"New chat" clears both histories; "run in this browser" says chat stays on the server', async () => {
    const before = bodies.length;
    await page.click('#chat-reset');
    expect(await page.locator('#chat-log-a .bubble').count()).toBe(0);
    await page.fill('#chat-input', 'again');
    await page.click('#chat-send');
    for (const col of ['a', 'b']) await page.waitForSelector(`#chat-log-${col}[data-turns="1"]`, { state: 'attached', timeout: 60000 });
    expect(bodies.slice(before).map((b) => b.messages)).toEqual([
      [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: 'again' },
      ],
      [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: 'again' },
      ],
    ]);
    await page.check('#in-browser');
    await page.waitForFunction(() => document.querySelector('#chat-note')!.textContent!.includes('no chat path'));
    expect(pageErrors).toEqual([]);
  }, 120000);
});
