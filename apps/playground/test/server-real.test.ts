// The HTTP API over the real tiny checkpoint: what POST /api/generate returns is exactly what a direct
// @gptlab/model + @gptlab/decoding run gives for the same strategy (and, for greedy, the PyTorch reference).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateAll, gptLanguageModel, resultToJSON, type StrategyInput } from '@gptlab/decoding';
import { loadGPT, type GPT } from '@gptlab/model';
import { initBackend } from '@gptlab/tensor';
import { BPETokenizer } from '@gptlab/tokenizer';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { parseSSE } from './helpers/io';

const DIR = path.join(__dirname, 'fixtures', 'tiny');
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tiny-reference.json'), 'utf8')) as {
  eos: number;
  cases: { prompt: string; ids: number[]; greedy: { ids: number[] } }[];
};

let tmp: string;
let app: FastifyInstance;
let gpt: GPT;
let tok: BPETokenizer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-api-'));
  fs.cpSync(DIR, path.join(tmp, 'tiny'), { recursive: true });
  app = await createServer({ registry: realRegistry(tmp) });
  await initBackend();
  gpt = await loadGPT(DIR);
  tok = BPETokenizer.fromDir(DIR);
});
afterAll(async () => {
  await app.close();
  gpt.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The same run without the playground: config.json's eos_token_id is what the server stops at by default. */
async function direct(prompt: string, strategy: StrategyInput) {
  const all = await generateAll(gptLanguageModel(gpt), tok.encode(prompt), {
    strategy: { eosTokenId: REF.eos, ...strategy },
    tokenizer: tok,
  });
  const first = resultToJSON(all[0]!);
  return all.length === 1 ? first : { ...first, sequences: all.map(resultToJSON) };
}

async function viaHttp(body: object) {
  const res = await app.inject({ method: 'POST', url: '/api/generate', payload: { model: 'tiny', ...body } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

test.each(REF.cases.map((c) => [c.prompt, c] as const))('greedy by default, equal to the PyTorch reference: %s', async (_p, c) => {
  const json = await viaHttp({ prompt: c.prompt, maxNewTokens: 12 });
  const eosAt = c.greedy.ids.indexOf(REF.eos);
  expect(json.ids).toEqual(eosAt >= 0 ? c.greedy.ids.slice(0, eosAt + 1) : c.greedy.ids);
  expect(json).toEqual(await direct(c.prompt, { maxNewTokens: 12 }));
});

const STRATEGIES: [string, StrategyInput][] = [
  ['beam, 3 sequences', { type: 'beam', numBeams: 4, lengthPenalty: 0.6, earlyStopping: 'never', numReturnSequences: 3, maxNewTokens: 8 }],
  ['seeded top-k sampling', { type: 'sample', topK: 5, temperature: 0.9, seed: 3, maxNewTokens: 10 }],
  ['seeded nucleus sampling, 2 sequences', { do_sample: true, top_p: 0.8, n: 2, seed: 11, max_tokens: 10 }],
  ['greedy with penalties and a logit bias', { repetitionPenalty: 1.3, noRepeatNgramSize: 2, logitBias: { '47': -5 }, maxNewTokens: 10 }],
  ['greedy with a stop string and no EOS', { stopStrings: ['e'], eosTokenId: null, maxNewTokens: 20 }],
];

test.each(STRATEGIES)('%s: the API returns the direct run', async (_name, strategy) => {
  const prompt = REF.cases[0]!.prompt;
  expect(await viaHttp({ prompt, strategy })).toEqual(await direct(prompt, strategy));
});

test('the event stream carries the same tokens as the JSON reply', async () => {
  const body = { model: 'tiny', prompt: REF.cases[1]!.prompt, strategy: STRATEGIES[1]![1] };
  const json = await viaHttp(body);
  const sse = await app.inject({ method: 'POST', url: '/api/generate', headers: { accept: 'text/event-stream' }, payload: body });
  const events = parseSSE(sse.body);
  const tokens = events.filter((e) => e.event === 'token').map((e) => e.data);
  expect(tokens.map((t) => t.token)).toEqual(json.ids);
  expect(tokens.map((t) => t.text).join('')).toBe(json.text);
  expect(events.at(-1)).toMatchObject({ event: 'done', data: json });
});
