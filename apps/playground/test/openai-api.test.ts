// The OpenAI-compatible /v1 API on the real tiny checkpoint, driven by the official `openai` npm client over
// loopback: what it returns must equal a direct @gptlab/model + @gptlab/decoding run of the mapped strategy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { generateAll, gptLanguageModel, type StrategyInput } from '@gptlab/decoding';
import type { GPT } from '@gptlab/model';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { TINY_DIR, loadTinyDirect } from './helpers/tiny-direct';
const EOS = 319; // config.json eos_token_id: the server stops there by default
// A ChatML-style template as Hugging Face checkpoints ship it in tokenizer_config.json.
const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

let tmp: string;
let app: FastifyInstance;
let client: OpenAI;
let gpt: GPT;
let tok: BPETokenizer;

beforeAll(async () => {
  ({ gpt, tok } = await loadTinyDirect());
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-v1-'));
  for (const name of ['tiny', 'chat']) fs.cpSync(TINY_DIR, path.join(tmp, name), { recursive: true });
  fs.writeFileSync(
    path.join(tmp, 'chat', 'tokenizer_config.json'),
    JSON.stringify({ chat_template: CHATML, bos_token: '<|endoftext|>', eos_token: { content: '<|im_end|>' } }),
  );
  app = await createServer({ registry: realRegistry(tmp) });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ apiKey: 'unused', baseURL: `${address}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await app.close();
  gpt.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The same generation without the server. */
async function direct(prompt: string, strategy: StrategyInput) {
  return generateAll(gptLanguageModel(gpt), tok.encode(prompt), { strategy: { eosTokenId: EOS, ...strategy }, tokenizer: tok });
}

const PROMPT = 'the cat sat';

test('GET /v1/models lists the checkpoints', async () => {
  const page = await client.models.list();
  expect(page.data.map((m) => m.id)).toEqual(['chat', 'tiny']);
  expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'gptlab' });
  expect((await client.models.retrieve('tiny')).id).toBe('tiny');
});

test('a completion at temperature 0 is the greedy run, with usage and finish_reason', async () => {
  const res = await client.completions.create({ model: 'tiny', prompt: PROMPT, max_tokens: 10, temperature: 0 });
  const [want] = await direct(PROMPT, { maxNewTokens: 10 });
  expect(res.object).toBe('text_completion');
  expect(res.id).toMatch(/^cmpl-/);
  expect(res.choices).toHaveLength(1);
  expect(res.choices[0]!.text).toBe(want!.text);
  expect(res.choices[0]!.finish_reason).toBe(want!.finishReason === 'length' ? 'length' : 'stop');
  expect(res.usage).toEqual({
    prompt_tokens: tok.encode(PROMPT).length,
    completion_tokens: want!.ids.length,
    total_tokens: tok.encode(PROMPT).length + want!.ids.length,
  });
});

test('max_tokens defaults to 16 on completions (OpenAI) and a token-id prompt works', async () => {
  const ids = tok.encode(PROMPT);
  const res = await client.completions.create({ model: 'tiny', prompt: ids, temperature: 0, logit_bias: { [EOS]: -100 } });
  expect(res.usage!.completion_tokens).toBe(16);
  expect(res.choices[0]!.finish_reason).toBe('length');
  const [want] = await direct(PROMPT, { maxNewTokens: 16, logitBias: { [EOS]: -100 } });
  expect(res.choices[0]!.text).toBe(want!.text);
});

test('a streamed completion gives the same text as the unstreamed one, then usage and [DONE]', async () => {
  const body = { model: 'tiny', prompt: PROMPT, max_tokens: 12, temperature: 0 } as const;
  const whole = await client.completions.create(body);
  const stream = await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let text = '';
  const finishes: (string | null)[] = [];
  let usage: unknown = null;
  for await (const chunk of stream) {
    expect(chunk.object).toBe('text_completion');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      finishes.push(c.finish_reason);
    }
  }
  expect(text).toBe(whole.choices[0]!.text);
  expect(finishes.filter((f) => f !== null)).toEqual([whole.choices[0]!.finish_reason]);
  expect(usage).toEqual(whole.usage);
  // The raw stream ends with the [DONE] sentinel.
  const raw = await fetch(`${client.baseURL}/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(raw.headers.get('content-type')).toMatch(/text\/event-stream/);
  expect((await raw.text()).endsWith('data: [DONE]\n\n')).toBe(true);
});

test('chat renders the chat template and generates greedily from it; streamed chat agrees', async () => {
  const messages = [
    { role: 'system' as const, content: 'be brief' },
    { role: 'user' as const, content: 'hi' },
  ];
  const res = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 8, temperature: 0 });
  const rendered = '<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
  const [want] = await direct(rendered, { maxNewTokens: 8 });
  expect(res.object).toBe('chat.completion');
  expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: want!.text });
  expect(res.usage!.prompt_tokens).toBe(tok.encode(rendered).length);

  const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 8, temperature: 0, stream: true });
  let text = '';
  let role: string | undefined;
  for await (const chunk of stream) {
    expect(chunk.object).toBe('chat.completion.chunk');
    role ??= chunk.choices[0]?.delta.role;
    text += chunk.choices[0]?.delta.content ?? '';
  }
  expect(role).toBe('assistant');
  expect(text).toBe(want!.text);
});

test('chat on a model without a chat template is a 400 that says so', async () => {
  const err = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  const e = err as InstanceType<typeof OpenAI.BadRequestError>;
  expect(e.status).toBe(400);
  expect(e.message).toMatch(/no chat template/);
  expect(e.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
});

test('n > 1 samples n sequences (seeded, equal to the direct run); at temperature 0 the n answers are the greedy one', async () => {
  const sampled = { model: 'tiny', prompt: PROMPT, max_tokens: 6, temperature: 0.8, top_p: 0.9, n: 3, seed: 3 };
  const res = await client.completions.create(sampled);
  const want = await direct(PROMPT, { type: 'sample', temperature: 0.8, topP: 0.9, numReturnSequences: 3, seed: 3, maxNewTokens: 6 });
  expect(res.choices.map((c) => c.index)).toEqual([0, 1, 2]);
  expect(res.choices.map((c) => c.text)).toEqual(want.map((w) => w.text));
  expect(res.usage!.completion_tokens).toBe(want.reduce((a, w) => a + w.ids.length, 0));
  const again = await client.completions.create(sampled);
  expect(again.choices.map((c) => c.text)).toEqual(res.choices.map((c) => c.text));

  const greedy = await client.chat.completions.create({
    model: 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 5,
    temperature: 0,
    n: 2,
  });
  expect(greedy.choices).toHaveLength(2);
  expect(greedy.choices[1]!.message.content).toBe(greedy.choices[0]!.message.content);
});

test('completion logprobs: tokens, token_logprobs, top_logprobs and text_offset', async () => {
  const res = await client.completions.create({
    model: 'tiny',
    prompt: PROMPT,
    max_tokens: 5,
    temperature: 0,
    logprobs: 3,
    logit_bias: { [EOS]: -100 },
  });
  const [want] = await direct(PROMPT, { maxNewTokens: 5, logitBias: { [EOS]: -100 } });
  const lp = res.choices[0]!.logprobs!;
  expect(lp.tokens).toEqual(want!.ids.map((id) => tok.decode([id])));
  lp.token_logprobs!.forEach((v, i) => expect(v).toBeCloseTo(want!.logprobs[i]!, 5));
  expect(lp.text_offset![0]).toBe(PROMPT.length);
  expect(lp.text_offset![1]).toBe(PROMPT.length + lp.tokens![0]!.length);
  expect(lp.top_logprobs).toHaveLength(5);
  for (const top of lp.top_logprobs!) {
    const values = Object.values(top);
    expect(values.length).toBeGreaterThan(0);
    expect(values.length).toBeLessThanOrEqual(3);
  }
  // Greedy without the ban: the chosen token is the most likely one, so its log-prob tops the list.
  const plain = await client.completions.create({ model: 'tiny', prompt: PROMPT, max_tokens: 3, temperature: 0, logprobs: 2 });
  const first = plain.choices[0]!.logprobs!;
  expect(Math.max(...Object.values(first.top_logprobs![0]!))).toBeCloseTo(first.token_logprobs![0]!, 5);
});

test('chat logprobs: content[] with bytes and top_logprobs', async () => {
  const res = await client.chat.completions.create({
    model: 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 4,
    temperature: 0,
    logprobs: true,
    top_logprobs: 2,
  });
  const content = res.choices[0]!.logprobs!.content!;
  expect(content).toHaveLength(res.usage!.completion_tokens);
  for (const entry of content) {
    expect(entry.bytes).toEqual(Array.from(Buffer.from(entry.token, 'utf8')));
    expect(entry.top_logprobs).toHaveLength(2);
    expect(entry.top_logprobs[0]!.logprob).toBeCloseTo(entry.logprob, 5); // greedy: the top alternative is the choice
  }
});

test('stop strings end the text before the match with finish_reason "stop"', async () => {
  const body = { model: 'tiny', prompt: PROMPT, max_tokens: 12, temperature: 0, logit_bias: { [EOS]: -100 } } as const;
  const full = (await client.completions.create(body)).choices[0]!.text;
  expect(full.length).toBeGreaterThan(4);
  const stop = full.slice(3, 5);
  const res = await client.completions.create({ ...body, stop: ['zzzz', stop] });
  expect(res.choices[0]!.text).toBe(full.slice(0, full.indexOf(stop)));
  expect(res.choices[0]!.finish_reason).toBe('stop');
  const streamed = await client.completions.create({ ...body, stop, stream: true });
  let text = '';
  for await (const c of streamed) text += c.choices[0]?.text ?? '';
  expect(text).toBe(res.choices[0]!.text);
});

test('a bad parameter is a 400 in OpenAI error shape naming it; an unknown model is a 404', async () => {
  const cases: [object, string][] = [
    [{ temperature: 5 }, 'temperature'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ max_tokens: 100000 }, 'max_tokens'],
    [{ n: 0 }, 'n'],
    [{ presence_penalty: 'x' }, 'presence_penalty'],
    [{ frobnicate: 1 }, 'frobnicate'],
  ];
  for (const [extra, param] of cases) {
    const err = await client.completions.create({ model: 'tiny', prompt: PROMPT, ...extra } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect({ param: e.param, type: e.type }).toEqual({ param, type: 'invalid_request_error' });
  }
  const missing = await client.completions.create({ model: 'nope', prompt: PROMPT }).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  // The raw body is exactly OpenAI's error object.
  const raw = await fetch(`${client.baseURL}/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":',
  });
  expect(raw.status).toBe(400);
  const json = (await raw.json()) as { error: Record<string, unknown> };
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
});

test('a streamed completion with logprobs: 0 carries each token log-prob; alternatives in a stream are a 400', async () => {
  const body = { model: 'tiny', prompt: PROMPT, max_tokens: 6, temperature: 0, logit_bias: { [EOS]: -100 } } as const;
  const whole = (await client.completions.create({ ...body, logprobs: 0 })).choices[0]!.logprobs!;
  const tokens: string[] = [];
  const logprobs: number[] = [];
  const offsets: number[] = [];
  for await (const chunk of await client.completions.create({ ...body, logprobs: 0, stream: true })) {
    const lp = chunk.choices[0]?.logprobs;
    if (!lp) continue;
    tokens.push(...lp.tokens!);
    logprobs.push(...lp.token_logprobs!);
    offsets.push(...lp.text_offset!);
  }
  expect(tokens).toEqual(whole.tokens);
  logprobs.forEach((v, i) => expect(v).toBeCloseTo(whole.token_logprobs![i]!, 5));
  expect(offsets[0]).toBe(PROMPT.length);
  const err = await client.completions.create({ ...body, logprobs: 2, stream: true }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('logprobs');
});
