// Serving as replicas (issue #21): the server keeps no state between requests and never writes into its models
// directory. Every kind of request (/api JSON and stream, attention, /v1 completions and chat, model files for
// the browser) leaves the directory's file list, sizes, modes and modification times exactly as they were; a
// copy made read-only (chmod -R a-w) still serves; and a conversation whose turns go to two replicas gets the
// same answers as one server. (Running as root, permission bits do not stop writes: there the snapshot
// comparison is what catches one; as any other user the read-only copy would fail on a write too.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { copyChatCheckpoint } from './helpers/chat-fixture';

let tmp: string;
let writable: string;
let readOnly: string;

/** Every entry under `root` (directories too): relative path → size, mode and modification time. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = fs.statSync(p);
      out[path.relative(root, p)] = `${st.isDirectory() ? 'dir' : st.size} ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`;
      if (st.isDirectory()) walk(p);
    }
  };
  const st = fs.statSync(root);
  out['.'] = `dir ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`;
  walk(root);
  return out;
}

function chmodTree(p: string, mode: (isDir: boolean) => number): void {
  const st = fs.statSync(p);
  if (st.isDirectory()) for (const name of fs.readdirSync(p)) chmodTree(path.join(p, name), mode);
  fs.chmodSync(p, mode(st.isDirectory()));
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-serving-'));
  writable = path.join(tmp, 'models');
  copyChatCheckpoint('tiny', path.join(writable, 'chat'));
  fs.cpSync(writable, path.join(tmp, 'ro'), { recursive: true });
  readOnly = path.join(tmp, 'ro');
  chmodTree(readOnly, (isDir) => (isDir ? 0o555 : 0o444));
});
afterAll(() => {
  if (!tmp) return;
  chmodTree(readOnly, (isDir) => (isDir ? 0o755 : 0o644));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const CHAT = { model: 'chat', temperature: 0, max_tokens: 5 };
const HELLO = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'hi' },
];

/** One request of each kind; returns the answers that do not depend on time (ids and texts). */
async function everyKindOfRequest(app: FastifyInstance): Promise<unknown[]> {
  const answers: unknown[] = [];
  const call = async (method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, payload, headers });
    expect(`${url} ${res.statusCode}`).toBe(`${url} 200`);
    return res;
  };
  await call('GET', '/api/models');
  await call('GET', '/api/models/chat');
  answers.push((await call('POST', '/api/generate', { model: 'chat', prompt: 'the cat', maxNewTokens: 6 })).json().ids);
  const sse = await call('POST', '/api/generate', { model: 'chat', prompt: 'the cat', maxNewTokens: 6 }, { accept: 'text/event-stream' });
  expect(sse.body).toContain('event: done');
  answers.push((await call('POST', '/api/attention', { model: 'chat', prompt: 'the cat', layer: 0, head: 0 })).json().probs.length);
  await call('GET', '/v1/models');
  answers.push(
    (await call('POST', '/v1/completions', { model: 'chat', prompt: 'the cat', max_tokens: 6, temperature: 0 })).json().choices[0].text,
  );
  answers.push((await call('POST', '/v1/chat/completions', { ...CHAT, messages: HELLO })).json().choices[0].message.content);
  expect((await call('POST', '/v1/chat/completions', { ...CHAT, messages: HELLO, stream: true })).body).toContain('data: [DONE]');
  await call('GET', '/browser/models/chat/model.safetensors');
  await call('GET', '/browser/models/chat/tokenizer_config.json');
  return answers;
}

test('serving never writes into the models directory', async () => {
  const before = snapshot(writable);
  const app = await createServer({ registry: realRegistry(writable) });
  try {
    await everyKindOfRequest(app);
    await everyKindOfRequest(app); // the second time from the loaded model
  } finally {
    await app.close();
  }
  expect(snapshot(writable)).toEqual(before);
});

test('a read-only copy of the models directory serves the same answers', async () => {
  const before = snapshot(readOnly);
  expect(before['chat/config.json']).toMatch(/ 444 /);
  const apps = await Promise.all([writable, readOnly].map((dir) => createServer({ registry: realRegistry(dir) })));
  try {
    const [fromWritable, fromReadOnly] = [await everyKindOfRequest(apps[0]!), await everyKindOfRequest(apps[1]!)];
    expect(fromReadOnly).toEqual(fromWritable);
  } finally {
    await Promise.all(apps.map((a) => a.close()));
  }
  expect(snapshot(readOnly)).toEqual(before);
});

test('replicas: a conversation whose turns go to two servers gets what one server answers', async () => {
  const [one, a, b] = await Promise.all([writable, readOnly, readOnly].map((dir) => createServer({ registry: realRegistry(dir) })));
  const reply = async (app: FastifyInstance, messages: object[]) => {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { ...CHAT, messages } });
    expect(res.statusCode).toBe(200);
    return (res.json() as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  };
  try {
    const conversation = async (first: FastifyInstance, second: FastifyInstance) => {
      const r1 = await reply(first, HELLO);
      const r2 = await reply(second, [...HELLO, { role: 'assistant', content: r1 }, { role: 'user', content: 'ok' }]);
      return [r1, r2];
    };
    expect(await conversation(a, b)).toEqual(await conversation(one, one));
  } finally {
    await Promise.all([one, a, b].map((s) => s!.close()));
  }
});
