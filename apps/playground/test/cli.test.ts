// The CLI against the committed fixture: a random GPT-2 checkpoint and greedy/beam outputs computed by the
// independent PyTorch reference (tooling/make-fixture.mjs, /work/shared/peers/pytorch/gpt_ref.py).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../src/program';
import { replLine, type ReplState } from '../src/commands/repl';
import { captureIO } from './helpers/io';

const DIR = path.join(__dirname, 'fixtures', 'tiny');
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tiny-reference.json'), 'utf8')) as {
  eos: number;
  cases: { prompt: string; ids: number[]; greedy: { ids: number[]; logprobs: number[] }; beam: { ids: number[]; score: number } }[];
};
const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

async function run(args: string[], stdin = '') {
  const c = captureIO(stdin);
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

async function generateJSON(args: string[]) {
  const r = await run(['generate', '--model', DIR, ...args, '--json']);
  expect(r.err).not.toMatch(/error|gptlab-playground generate:/);
  expect(r.code).toBe(0);
  const lines = r.out.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return { json: JSON.parse(lines[0]!), err: r.err };
}

describe('generate --json matches the PyTorch reference', () => {
  test.each(REF.cases.map((c) => [c.prompt, c] as const))('greedy: %s', async (_p, c) => {
    const stopsAtEos = c.greedy.ids.indexOf(REF.eos);
    const { json, err } = await generateJSON([
      '--prompt',
      c.prompt,
      '--strategy',
      'greedy',
      '--max-new-tokens',
      String(c.greedy.ids.length),
    ]);
    expect(Object.keys(json)).toEqual(['ids', 'text', 'logprobs', 'score', 'finishReason']);
    expect(err).toMatch(/backend/);
    const n = stopsAtEos >= 0 ? stopsAtEos + 1 : c.greedy.ids.length;
    expect(json.ids).toEqual(c.greedy.ids.slice(0, n));
    expect(json.finishReason).toBe(stopsAtEos >= 0 ? 'eos' : 'length');
    json.logprobs.forEach((lp: number, i: number) => expect(Math.abs(lp - c.greedy.logprobs[i]!)).toBeLessThan(1e-4));
    expect(json.score).toBeCloseTo(
      json.logprobs.reduce((a: number, b: number) => a + b, 0),
      9,
    );
  });

  test("defaults are Hugging Face's: greedy, 20 new tokens, stop at the end-of-text token", async () => {
    for (const c of [REF.cases[0]!, REF.cases[2]!]) {
      const { json } = await generateJSON(['--prompt', c.prompt]);
      const eosAt = c.greedy.ids.indexOf(REF.eos);
      if (eosAt >= 0) expect(json).toMatchObject({ ids: c.greedy.ids.slice(0, eosAt + 1), finishReason: 'eos' });
      else {
        expect(json.ids).toHaveLength(20);
        expect(json.ids.slice(0, c.greedy.ids.length)).toEqual(c.greedy.ids);
      }
    }
  });

  test('--ignore-eos runs past the end-of-text token like the reference; --eos-token-id still counts', async () => {
    const c = REF.cases.find((x) => x.greedy.ids.includes(REF.eos))!;
    const { json } = await generateJSON(['--prompt-ids', c.ids.join(','), '--ignore-eos', '--max-new-tokens', '12']);
    expect(json.ids).toEqual(c.greedy.ids);
    expect(json.finishReason).toBe('length');
    const stopAt = c.greedy.ids[3]!;
    const own = (
      await generateJSON(['--prompt-ids', c.ids.join(','), '--ignore-eos', `--eos-token-id=${stopAt}`, '--max-new-tokens', '12'])
    ).json;
    expect(own).toMatchObject({ ids: c.greedy.ids.slice(0, c.greedy.ids.indexOf(stopAt) + 1), finishReason: 'eos' });
  });

  test.each(REF.cases.map((c) => [c.prompt, c] as const))('beam 3, length penalty 0: %s', async (_p, c) => {
    const { json } = await generateJSON([
      '--prompt-ids',
      c.ids.join(','),
      ...'--strategy beam --num-beams 3 --length-penalty 0 --ignore-eos --max-new-tokens 6'.split(' '),
    ]);
    expect(json.ids).toEqual(c.beam.ids);
    expect(Math.abs(json.score - c.beam.score)).toBeLessThan(1e-4);
  });

  test('beam with several return sequences prints them all, best first', async () => {
    const c = REF.cases[0]!;
    const { json } = await generateJSON([
      '--prompt-ids',
      c.ids.join(','),
      ...'--num-beams 3 --num-return-sequences 3 --length-penalty 0 --ignore-eos --max-new-tokens 6'.split(' '),
    ]);
    expect(json.sequences).toHaveLength(3);
    expect(json.sequences[0]).toEqual({
      ids: json.ids,
      text: json.text,
      logprobs: json.logprobs,
      score: json.score,
      finishReason: json.finishReason,
    });
    expect(json.ids).toEqual(c.beam.ids);
    for (let i = 1; i < 3; i++) expect(json.sequences[i].score).toBeLessThanOrEqual(json.sequences[i - 1].score + 1e-9);
  });

  test('sampling is reproducible with a seed', async () => {
    const args = ['--prompt', 'The quick', ...'--strategy sample --temperature 1.5 --top-k 3 --max-new-tokens 10 --ignore-eos'.split(' ')];
    const a = (await generateJSON([...args, '--seed', '1'])).json;
    const b = (await generateJSON([...args, '--seed', '1'])).json;
    const c = (await generateJSON([...args, '--seed', '2'])).json;
    expect(a).toEqual(b);
    expect(c.ids).not.toEqual(a.ids);
    expect(a.ids).toHaveLength(10);
  });

  test('stop strings trim the text and end the run', async () => {
    const full = (await generateJSON(['--prompt', 'The quick brown', '--max-new-tokens', '12'])).json;
    const stop = full.text.slice(3, 5);
    const { json } = await generateJSON(['--prompt', 'The quick brown', '--max-new-tokens', '12', '--stop', stop]);
    expect(json.finishReason).toBe('stop');
    expect(json.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  test('without --json the text is streamed to stdout', async () => {
    const r = await run(['generate', '--model', DIR, '--prompt', 'The quick brown', '--max-new-tokens', '5']);
    const j = (await generateJSON(['--prompt', 'The quick brown', '--max-new-tokens', '5'])).json;
    expect(r.code).toBe(0);
    expect(r.out).toBe(j.text + '\n');
    expect(r.err).toMatch(/5 tokens, finish: length/);
  });
});

describe('CLI conventions', () => {
  test.each(['serve', 'generate', 'repl'])('%s --help prints its flags and exits 0', async (cmd) => {
    const r = await run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(new RegExp(`^usage: gptlab-playground ${cmd} `));
    expect(r.out).toContain('--model');
    if (cmd !== 'serve') expect(r.out).toMatch(/--top-p N +nucleus: .*in \(0, 1\] \(1 = off\) \[sample\] \(default 1\)/);
  });

  test('--version, and the program help', async () => {
    for (const args of [['--version'], ['generate', '--version']])
      expect(await run(args)).toEqual({ code: 0, out: `gptlab-playground ${VERSION}\n`, err: '' });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/serve .*\n.*generate .*\n.*repl /);
  });

  test.each([
    [['--prompt', 'a', '--prompt-ids', '1'], /exactly one of --prompt/],
    [['--prompt', 'a', '--strategy', 'nucleus'], /--strategy must be one of greedy, beam, sample; got "nucleus"/],
    [['--prompt', 'a', '--strategy', 'sample', '--top-k', 'abc'], /--top-k expects an integer, got "abc"/],
    [['--prompt', 'a', '--strategy', 'sample', '--top-p', '2'], /--top-p: expected a number in \(0, 1\] \(1 = off\), got 2/],
    [
      ['--prompt', 'a', '--strategy', 'greedy', '--num-beams', '2'],
      /--num-beams: applies only to type 'beam' \(this strategy is 'greedy'\)/,
    ],
    [['--prompt', 'a', '--max-new-tokens=-1'], /--max-new-tokens: expected an integer >= 0, got -1/],
    [['--prompt', 'a', '--max-new-tokens', '500'], /exceeds the model's context of 128 tokens/],
    [['--prompt-ids', '1,x'], /--prompt-ids: item 1 \("x"\) is not a token id/],
    [['--prompt-ids', '1,999'], /--prompt-ids\[1\] = 999 is outside the vocabulary \(size 320\)/],
    [['--prompt', 'a', '--eos-token-id', '400'], /--eos-token-id item \[0\]: token id 400 is outside the vocabulary \[0, 320\)/],
    [['--prompt', 'a', '--bogus'], /unknown flag --bogus/],
    [['--prompt'], /--prompt needs a value/],
  ])('generate %j: one line naming the flag, exit 2', async (args, msg) => {
    const r = await run(['generate', '--model', DIR, ...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(msg);
    expect(r.err).toMatch(/^gptlab-playground generate: [^\n]*; see gptlab-playground generate --help\n$/);
  });

  test("a trainer's checkpoints/ folder resolves to the checkpoint its LATEST file names", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-latest-'));
    try {
      const ckpt = path.join(root, 'checkpoints', 'step-000007');
      fs.mkdirSync(ckpt, { recursive: true });
      for (const f of fs.readdirSync(DIR)) fs.copyFileSync(path.join(DIR, f), path.join(ckpt, f));
      fs.writeFileSync(path.join(root, 'checkpoints', 'LATEST'), 'step-000007\n');
      const r = await run([
        'generate',
        '--model',
        path.join(root, 'checkpoints'),
        '--prompt-ids',
        REF.cases[0]!.ids.join(','),
        '--ignore-eos',
        '--max-new-tokens',
        '4',
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).ids).toEqual(REF.cases[0]!.greedy.ids.slice(0, 4));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('missing required flags and bad directories are usage errors; a broken checkpoint is a failure', async () => {
    for (const [args, msg] of [
      [['generate', '--prompt', 'a'], /missing required flag --model/],
      [['serve'], /missing required flag --models/],
      [['repl'], /missing required flag --model/],
      [['generate', '--model', __dirname, '--prompt', 'a'], /has no config.json/],
      [['serve', '--models', '/nonexistent'], /--models: \/nonexistent is not a directory/],
      [['serve', '--models', DIR, '--port', '70000'], /--port must be in \[0, 65535\]/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ] as const) {
      const r = await run([...args]);
      expect({ args, code: r.code, lines: r.err.split('\n').length - 1 }).toEqual({ args, code: 2, lines: 1 });
      expect(r.err).toMatch(msg);
    }
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'broken-'));
    fs.copyFileSync(path.join(DIR, 'config.json'), path.join(broken, 'config.json'));
    const r = await run(['generate', '--model', broken, '--prompt', 'a']);
    fs.rmSync(broken, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^gptlab-playground generate: .*model\.safetensors: not found\n$/);
  });
});

describe('repl', () => {
  test('/strategy, /set, /max, /seed and /stop edit the strategy JSON', () => {
    const st: ReplState = { input: { repetitionPenalty: 1.1 } };
    replLine('/strategy beam', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.1, type: 'beam', numBeams: 4 });
    replLine('/strategy beam 2 0.6', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.1, type: 'beam', numBeams: 2, lengthPenalty: 0.6 });
    replLine('/strategy sample 0.8', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.1, type: 'sample', temperature: 0.8 });
    replLine('/strategy top-p 0.9 0.7', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.1, type: 'sample', topP: 0.9, temperature: 0.7 });
    replLine('/strategy top-k', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.1, type: 'sample', topK: 50 });
    replLine('/set repetition_penalty 1.3', st);
    replLine('/set no-repeat-ngram-size 3', st);
    expect(st.input).toEqual({ repetitionPenalty: 1.3, type: 'sample', topK: 50, noRepeatNgramSize: 3 });
  });

  test('bad values are refused and leave the strategy as it was', () => {
    const st: ReplState = { input: { type: 'sample', topK: 5 } };
    expect(() => replLine('/strategy beam 0', st)).toThrow(/numBeams: expected an integer >= 1, got 0/);
    expect(() => replLine('/set early_stopping never', st)).toThrow(/applies only to type 'beam'/);
    expect(() => replLine('/set topQ 1', st)).toThrow(/unknown strategy field topQ \(did you mean .*topP/);
    expect(() => replLine('/strategy warp', st)).toThrow(/unknown strategy "warp"/);
    expect(() => replLine('/max', st)).toThrow(/\/max needs a value/);
    expect(st.input).toEqual({ type: 'sample', topK: 5 });
    replLine('/max 5', st);
    replLine('/seed 3', st);
    replLine('/stop a,\\n', st);
    expect(st.input).toEqual({ type: 'sample', topK: 5, maxNewTokens: 5, seed: 3, stopStrings: ['a', '\n'] });
    expect(JSON.parse(replLine('/show', st))).toMatchObject({ type: 'sample', topK: 5, maxNewTokens: 5, seed: 3 });
    expect(replLine('/quit', st)).toBe('quit');
  });

  test('an interactive session generates with the chosen strategy', async () => {
    const c = REF.cases[0]!;
    const r = await run(['repl', '--model', DIR, '--ignore-eos'], `/strategy beam 3 0\n/max 6\n${c.prompt}\n/quit\n`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/strategy: \{"type":"beam","numBeams":3,"lengthPenalty":0\}/);
    expect(r.out).toMatch(/\[6 tokens, finish: length, score -13\.59/);
  });
});
