// Free-form generation tasks: SQuAD normalisation, exact match and token F1, greedy and beam decoding, and
// `gptlab-train eval --gen-file`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateGeneration, exactMatch, normalizeAnswer, tokenF1 } from '../src/evaluation/generation';
import { sampleText } from '../src/sample';
import { runIn, TINY_MODEL, useTinyModel } from './eval-helpers';

const env = useTinyModel('eval-generation');

test('SQuAD normalisation, exact match and token F1', () => {
  expect(normalizeAnswer('  The  Eiffel-Tower, in PARIS! ')).toBe('eiffeltower in paris');
  expect(exactMatch('an apple.', 'Apple')).toBe(1);
  expect(exactMatch('apples', 'apple')).toBe(0);
  // pred {big, red, dog}, gold {red, dog}: precision 2/3, recall 1 → F1 0.8
  expect(tokenF1('big red dog', 'the red dog')).toBeCloseTo(0.8, 12);
  expect(tokenF1('dog dog', 'dog')).toBeCloseTo(2 / 3, 12); // repeated tokens count once per gold occurrence
  expect(tokenF1('cat', 'dog')).toBe(0);
  expect(tokenF1('the', 'a')).toBe(1); // both normalise to nothing
});

test('greedy and beam answers are scored against every reference, best match kept', async () => {
  const contexts = ['The model is', 'GPT =>'];
  const greedy = await Promise.all(contexts.map((c) => sampleText(env.model, env.tok, c, { maxNewTokens: 6 })));
  const firstLine = (t: string) => t.split('\n')[0]!.trim();
  const items = [
    { context: contexts[0]!, answers: ['certainly not this', firstLine(greedy[0]!)] },
    { context: contexts[1]!, answers: ['zzz'] },
  ];
  const r = await evaluateGeneration(env.model, env.tok, items, { maxNewTokens: 6 });
  expect(r.samples.map((s) => s.prediction)).toEqual(greedy.map(firstLine));
  expect(r.samples[0]!.exact_match).toBe(1);
  expect(r.samples[1]!.exact_match).toBe(exactMatch(firstLine(greedy[1]!), 'zzz'));
  expect(r.exact_match).toBeCloseTo((1 + r.samples[1]!.exact_match) / 2, 12);
  const beam = await evaluateGeneration(env.model, env.tok, items, { maxNewTokens: 6, numBeams: 4, lengthPenalty: 0.6 });
  const beamText = await sampleText(env.model, env.tok, contexts[1]!, { maxNewTokens: 6, numBeams: 4, lengthPenalty: 0.6 });
  expect(beam.samples[1]!.prediction).toBe(firstLine(beamText));
});

test('gptlab-train eval --gen-file --num-beams 4 --length-penalty 0.6 --json; bad lines name file:line', async () => {
  const file = path.join(env.scratch, 'gen.jsonl');
  fs.writeFileSync(file, '{"context": "The model is", "answers": ["trained"]}\n{"context": "GPT =>", "answers": ["model", "text"]}\n');
  const r = await runIn(['eval', '--model', TINY_MODEL, '--gen-file', file, '--num-beams', '4', '--length-penalty', '0.6', '--json']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { n: number; exact_match: number; f1: number; samples: { prediction: string }[] };
  expect(out.n).toBe(2);
  const expected = await evaluateGeneration(env.model, env.tok, [{ context: 'The model is', answers: ['trained'] }], {
    maxNewTokens: 20,
    numBeams: 4,
    lengthPenalty: 0.6,
  });
  expect(out.samples[0]!.prediction).toBe(expected.samples[0]!.prediction);
  for (const [line, message] of [
    ['{"context": "c"}', /bad\.jsonl:1: missing field "answers"/],
    ['{"context": "c", "answers": []}', /bad\.jsonl:1: field "answers" must be a non-empty array of strings/],
    ['{"answers": ["a"]}', /bad\.jsonl:1: missing field "context"/],
  ] as const) {
    fs.writeFileSync(path.join(env.scratch, 'bad.jsonl'), line + '\n');
    const bad = await runIn(['eval', '--model', TINY_MODEL, '--gen-file', path.join(env.scratch, 'bad.jsonl')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(message);
  }
});
