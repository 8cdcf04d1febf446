// The CLI against the committed fixture: a random GPT-2 checkpoint and greedy/beam outputs computed by the
// independent PyTorch reference (tooling/make-fixture.mjs, /work/shared/peers/pytorch/gpt_ref.py).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main, replCommand, strategyFromFlags, type ReplState } from '../src/cli-main';
import { captureIO } from './helpers/io';

const DIR = path.join(__dirname, 'fixtures', 'tiny');
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tiny-reference.json'), 'utf8')) as {
  eos: number;
  cases: { prompt: string; ids: number[]; greedy: { ids: number[]; logprobs: number[] }; beam: { ids: number[]; score: number } }[];
};

async function run(args: string[], stdin = '') {
  const c = captureIO(stdin);
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

async function generateJSON(args: string[]) {
  const r = await run(['generate', '--model', DIR, ...args, '--json']);
  expect(r.err).not.toMatch(/error/);
  expect(r.code).toBe(0);
  const lines = r.out.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return { json: JSON.parse(lines[0]!), err: r.err };
}

describe('generate --json matches the PyTorch reference', () => {
  test.each(REF.cases.map((c) => [c.prompt, c] as const))('greedy: %s', async (_p, c) => {
    const stopsAtEos = c.greedy.ids.indexOf(REF.eos);
    const { json, err } = await generateJSON(['--prompt', c.prompt, '--strategy', 'greedy', '--max-new-tokens', String(c.greedy.ids.length)]);
    expect(Object.keys(json)).toEqual(['ids', 'text', 'logprobs', 'score', 'finishReason']);
    expect(err).toMatch(/backend/);
    const n = stopsAtEos >= 0 ? stopsAtEos + 1 : c.greedy.ids.length;
    expect(json.ids).toEqual(c.greedy.ids.slice(0, n));
    expect(json.finishReason).toBe(stopsAtEos >= 0 ? 'eos' : 'length');
    json.logprobs.forEach((lp: number, i: number) => expect(Math.abs(lp - c.greedy.logprobs[i]!)).toBeLessThan(1e-4));
    expect(json.score).toBeCloseTo(json.logprobs.reduce((a: number, b: number) => a + b, 0), 9);
  });

  test('--ignore-eos runs past the end-of-text token like the reference', async () => {
    const c = REF.cases.find((x) => x.greedy.ids.includes(REF.eos))!;
    expect(c).toBeDefined();
    const { json } = await generateJSON(['--prompt-ids', c.ids.join(','), '--strategy', 'greedy', '--ignore-eos', '--max-new-tokens', '12']);
    expect(json.ids).toEqual(c.greedy.ids);
    expect(json.finishReason).toBe('length');
  });

  test.each(REF.cases.map((c) => [c.prompt, c] as const))('beam 3, length penalty 0: %s', async (_p, c) => {
    const { json } = await generateJSON([
      '--prompt-ids', c.ids.join(','), '--strategy', 'beam', '--num-beams', '3', '--length-penalty', '0', '--ignore-eos', '--max-new-tokens', '6',
    ]);
    expect(json.ids).toEqual(c.beam.ids);
    expect(Math.abs(json.score - c.beam.score)).toBeLessThan(1e-4);
  });

  test('sampling is reproducible with a seed', async () => {
    const args = ['--prompt', 'The quick', '--strategy', 'sample', '--temperature', '1.5', '--top-k', '3', '--max-new-tokens', '10', '--ignore-eos'];
    const a = (await generateJSON([...args, '--seed', '1'])).json;
    const b = (await generateJSON([...args, '--seed', '1'])).json;
    const c = (await generateJSON([...args, '--seed', '2'])).json;
    expect(a).toEqual(b);
    expect(c.ids).not.toEqual(a.ids);
    expect(a.ids).toHaveLength(10);
  });

  test('stop strings trim the text and end the run', async () => {
    const full = (await generateJSON(['--prompt', 'The quick brown', '--strategy', 'greedy', '--max-new-tokens', '12'])).json;
    const stop = full.text.slice(3, 5);
    const { json } = await generateJSON(['--prompt', 'The quick brown', '--strategy', 'greedy', '--max-new-tokens', '12', '--stop', stop]);
    expect(json.finishReason).toBe('stop');
    expect(json.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  test('without --json the text is streamed to stdout', async () => {
    const r = await run(['generate', '--model', DIR, '--prompt', 'The quick brown', '--strategy', 'greedy', '--max-new-tokens', '5']);
    const j = (await generateJSON(['--prompt', 'The quick brown', '--strategy', 'greedy', '--max-new-tokens', '5'])).json;
    expect(r.code).toBe(0);
    expect(r.out).toBe(j.text + '\n');
    expect(r.err).toMatch(/5 tokens, finish: length/);
  });
});

describe('CLI errors name the flag', () => {
  test.each([
    [['--prompt', 'a', '--strategy', 'greedy'], /--max-new-tokens N is required/],
    [['--prompt', 'a', '--max-new-tokens', '3'], /--strategy greedy\|beam\|sample is required/],
    [['--prompt', 'a', '--prompt-ids', '1', '--strategy', 'greedy', '--max-new-tokens', '3'], /exactly one of --prompt/],
    [['--prompt', 'a', '--strategy', 'nucleus', '--max-new-tokens', '3'], /--strategy must be "greedy", "beam" or "sample"/],
    [['--prompt', 'a', '--strategy', 'sample', '--top-k', 'abc', '--max-new-tokens', '3'], /--top-k: expected an integer, got "abc"/],
    [['--prompt', 'a', '--strategy', 'sample', '--top-p', '2', '--max-new-tokens', '3'], /--top-p must be in \(0, 1\]/],
    [['--prompt', 'a', '--strategy', 'greedy', '--num-beams', '2', '--max-new-tokens', '3'], /--num-beams applies only to --strategy beam/],
    [['--prompt', 'a', '--strategy', 'greedy', '--max-new-tokens', '0'], /--max-new-tokens must be at least 1/],
    [['--prompt', 'a', '--strategy', 'greedy', '--max-new-tokens', '500'], /exceeds the model's context of 128 tokens/],
    [['--prompt-ids', '1,x', '--strategy', 'greedy', '--max-new-tokens', '3'], /--prompt-ids: item 1 \("x"\) is not a token id/],
    [['--prompt-ids', '1,999', '--strategy', 'greedy', '--max-new-tokens', '3'], /--prompt-ids item 1 = 999 is outside the vocabulary \(size 320\)/],
    [['--prompt', 'a', '--strategy', 'greedy', '--max-new-tokens', '3', '--bogus'], /Unknown option '--bogus'/],
  ])('%j', async (args, msg) => {
    const r = await run(['generate', '--model', DIR, ...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(msg);
  });

  test('a directory that is not a checkpoint', async () => {
    const r = await run(['generate', '--model', __dirname, '--prompt', 'a', '--strategy', 'greedy', '--max-new-tokens', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no config.json/);
    expect((await run(['frobnicate'])).err).toMatch(/unknown command "frobnicate"/);
  });
});

describe('repl', () => {
  test('/strategy commands swap the strategy', () => {
    const st: ReplState = { strategy: { type: 'greedy' }, maxNewTokens: 10, stop: [] };
    replCommand('/strategy beam 4', st);
    expect(st.strategy).toEqual({ type: 'beam', numBeams: 4 });
    replCommand('/strategy beam 2 0.6', st);
    expect(st.strategy).toEqual({ type: 'beam', numBeams: 2, lengthPenalty: 0.6 });
    replCommand('/strategy sample 0.8', st);
    expect(st.strategy).toEqual({ type: 'sample', temperature: 0.8 });
    replCommand('/strategy top-p 0.9 0.7', st);
    expect(st.strategy).toEqual({ type: 'sample', topP: 0.9, temperature: 0.7 });
    replCommand('/set repetitionPenalty 1.3', st);
    expect(st.strategy).toEqual({ type: 'sample', topP: 0.9, temperature: 0.7, repetitionPenalty: 1.3 });
    replCommand('/max 5', st);
    replCommand('/seed 3', st);
    replCommand('/stop a,\\n', st);
    expect(st).toMatchObject({ maxNewTokens: 5, seed: 3, stop: ['a', '\n'] });
    expect(() => replCommand('/strategy beam 0', st)).toThrow(/numBeams must be in \[1, 16\]/);
    expect(() => replCommand('/strategy warp', st)).toThrow(/unknown strategy/);
    expect(() => replCommand('/set topQ 1', st)).toThrow(/topQ is not a known parameter/);
    expect(replCommand('/quit', st)).toBe('quit');
  });

  test('an interactive session generates with the chosen strategy', async () => {
    const c = REF.cases[0]!;
    const r = await run(['repl', '--model', DIR, '--ignore-eos'], `/strategy beam 3 0\n/max 6\n${c.prompt}\n/quit\n`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/strategy: \{"type":"beam","numBeams":3,"lengthPenalty":0\}/);
    expect(r.out).toMatch(/\[6 tokens, finish: length, score -13\.59/);
  });

  test('flags map to strategy fields', () => {
    expect(strategyFromFlags({ strategy: 'sample', temperature: '0.7', 'top-k': '40', 'top-p': '0.95', 'min-p': '0.1', 'typical-p': '0.9' })).toEqual({
      type: 'sample', temperature: 0.7, topK: 40, topP: 0.95, minP: 0.1, typicalP: 0.9,
    });
  });
});
