// `gptlab-playground chat` on the tiny checkpoint with the trainer's default chat template: the history it keeps,
// /reset and /system, and its prompt equal to what POST /v1/chat/completions renders for the same messages
// (captured inside the server, at the generator) with the same greedy reply.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '@gptlab/common/node';
import { ChatSession } from '../src/commands/chat';
import { loadRealModel } from '../src/commands/shared';
import { QueuedGenerator } from '../src/generator';
import { main } from '../src/program';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import type { GenerateHooks, GenerateRequest, LoadedModel } from '../src/types';
import { FIXTURES, copyChatCheckpoint, renderedByHand } from './helpers/chat-fixture';
import { captureIO } from './helpers/io';

let tmp: string;
let dir: string;
let model: LoadedModel;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-chat-cli-'));
  dir = copyChatCheckpoint('tiny', path.join(tmp, 'models', 'chat'));
  model = await loadRealModel(dir, { ignoreEos: false });
});
afterAll(() => {
  model?.dispose?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SYSTEM = 'Answer in one word.';
const EOS = 319; // <|endoftext|>, the template's turn end: a special token of the fixture's vocab.json

/** The ids of the conversation text written out by hand, with each turn's <|endoftext|> as the token it is. */
function byHand(messages: { role: string; content: string }[]): number[] {
  return renderedByHand(messages)
    .split('<|endoftext|>')
    .flatMap((piece, i) => (i === 0 ? model.encode(piece) : [EOS, ...(piece ? model.encode(piece) : [])]));
}

test('each turn sends the whole history, rendered as the template does, and keeps the replies', async () => {
  const chat = new ChatSession(model, 'chat', { system: SYSTEM, decoding: { maxNewTokens: 5 } });
  const first = await chat.send('what is a dog?');
  expect(first.promptIds).toEqual(
    byHand([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'what is a dog?' },
    ]),
  );
  expect(first.ids.length).toBeGreaterThan(0);
  const second = await chat.send('and a cat?');
  const history = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: 'what is a dog?' },
    { role: 'assistant', content: first.text },
    { role: 'user', content: 'and a cat?' },
  ];
  expect(second.promptIds).toEqual(byHand(history));
  expect(chat.messages()).toEqual([...history, { role: 'assistant', content: second.text }]);
  // Greedy: the same conversation gives the same reply again.
  const again = new ChatSession(model, 'chat', { system: SYSTEM, decoding: { maxNewTokens: 5 } });
  again.turns = history.slice(1, 3);
  expect((await again.send('and a cat?')).ids).toEqual(second.ids);
});

test('the prompt equals the one /v1/chat/completions renders for the same messages, and so does the reply', async () => {
  const seen: number[][] = [];
  const queued = new QueuedGenerator();
  // The server's own scheduler, recording what each generation was asked to continue.
  const recording = Object.assign(Object.create(queued) as QueuedGenerator, {
    generate(m: LoadedModel, request: GenerateRequest, hooks: GenerateHooks) {
      seen.push(request.promptIds);
      return queued.generate(m, request, hooks);
    },
  });
  const app = await createServer({ registry: realRegistry(path.join(tmp, 'models')), generator: recording });
  try {
    const chat = new ChatSession(model, 'chat', { system: SYSTEM, decoding: { maxNewTokens: 6 } });
    await chat.send('hello there');
    const messages = chat.messages('tell me more');
    const cli = await chat.send('tell me more');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { model: 'chat', messages, temperature: 0, max_tokens: 6 },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
    expect(seen).toEqual([cli.promptIds]);
    expect(body.usage.prompt_tokens).toBe(cli.promptIds.length);
    expect(body.choices[0]!.message.content).toBe(cli.text);
  } finally {
    await app.close();
  }
});

test('/system, /reset, /history and the decoding commands', async () => {
  const chat = new ChatSession(model, 'chat', { decoding: { maxNewTokens: 3 } });
  expect(chat.command('/history')).toBe('(no messages yet)');
  expect(chat.command('/system Be brief.  ')).toBe('system prompt: "Be brief."');
  await chat.send('hi');
  expect(chat.messages().map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
  // A new system prompt applies to the next turn and keeps the history.
  chat.command('/system Use capital letters.');
  expect(chat.promptIds('ok')).toEqual(
    byHand([{ role: 'system', content: 'Use capital letters.' }, ...chat.turns, { role: 'user', content: 'ok' }]),
  );
  expect(chat.command('/history')).toBe(
    ['system: "Use capital letters."', 'user: "hi"', `assistant: ${JSON.stringify(chat.turns[1]!.content)}`].join('\n'),
  );
  expect(chat.command('/reset')).toBe('new conversation (system prompt kept: "Use capital letters.")');
  expect(chat.messages()).toEqual([{ role: 'system', content: 'Use capital letters.' }]);
  expect(chat.command('/system')).toBe('no system prompt');
  expect(chat.messages()).toEqual([]);
  expect(chat.promptIds('ok')).toEqual([...model.encode('user:\nok'), EOS, ...model.encode('assistant:\n')]);
  // The repl's decoding commands work here too, checked by strategyFromJSON.
  chat.command('/max 2');
  chat.command('/strategy sample 0.7');
  expect(chat.strategy(10)).toMatchObject({ type: 'sample', temperature: 0.7, maxNewTokens: 2, eosTokenId: [319] });
  expect(() => chat.command('/max -1')).toThrow(/maxNewTokens/);
  expect(() => chat.command('/nope')).toThrow(UsageError);
  expect(chat.command('/quit')).toBe('quit');
});

test('without a max length a reply may fill the context; a conversation that no longer fits is refused and not kept', async () => {
  const chat = new ChatSession(model, 'chat');
  const ids = chat.promptIds('hi');
  expect(chat.strategy(ids.length).maxNewTokens).toBe(model.contextLength - ids.length);
  const long = 'the cat sat on the mat '.repeat(40);
  await expect(chat.send(long)).rejects.toThrow(
    /the conversation \(\d+ tokens\) \+ 1 new tokens exceed the model's context of 128 tokens: \/reset/,
  );
  expect(chat.turns).toEqual([]);
  const capped = new ChatSession(model, 'chat', { decoding: { maxNewTokens: 100 } });
  await expect(capped.send('the cat sat on the mat')).rejects.toThrow(/\+ 100 new tokens exceed .*\(or \/max N shortens the reply\)/);
  // A stopped generation leaves no half turn behind either.
  const ac = new AbortController();
  ac.abort();
  await expect(chat.send('hi', { signal: ac.signal })).rejects.toThrow();
  expect(chat.turns).toEqual([]);
});

test('the command: a conversation over stdin, then /reset', async () => {
  const c = captureIO('hello\n/history\n/reset\n/history\nhello\n/quit\n');
  const code = await main(['chat', '--model', dir, '--system', SYSTEM, '--max-new-tokens', '4'], c.io);
  expect(c.err()).not.toMatch(/error/);
  expect(code).toBe(0);
  const expected = await new ChatSession(model, 'chat', { system: SYSTEM, decoding: { maxNewTokens: 4 } }).send('hello');
  const out = c.out();
  expect(out).toContain('chat: chat, context 128 tokens');
  expect(out).toContain(`system: "${SYSTEM}"\nuser: "hello"\nassistant: ${JSON.stringify(expected.text)}\n`);
  expect(out).toContain(`new conversation (system prompt kept: "${SYSTEM}")`);
  // After /reset the same message gets the same (greedy) reply again: nothing of the first turn is left.
  expect(out.split(expected.text).length - 1).toBeGreaterThanOrEqual(3);
  expect(c.err()).toMatch(/\[\d+ tokens, finish: (length|eos)/);
});

test('a checkpoint without a chat template is a usage error naming --model', async () => {
  const c = captureIO('');
  expect(await main(['chat', '--model', path.join(FIXTURES, 'tiny')], c.io)).toBe(2);
  expect(c.err()).toMatch(/--model: .*has no chat template \(tokenizer_config.json chat_template\); use repl/);
  expect(c.err().trim().split('\n')).toHaveLength(1);
  expect(c.err()).toMatch(/see gptlab-playground chat --help/);
});
