// The field table drives validation, defaults and the CLI flags: walk every row.
import { parseFlags } from '@gptlab/common/node';
import {
  DEFAULT_STRATEGY,
  STRATEGY_FIELDS,
  StrategyError,
  rangeText,
  strategyFlagSpecs,
  strategyFromFlags,
  strategyFromJSON,
  strategyInputFromFlags,
  type StrategyField,
} from '../src';

const FIELDS = STRATEGY_FIELDS as readonly StrategyField[];

/** Other fields that make `f` applicable: its search type (and beams for beam search). */
function context(f: StrategyField): Record<string, unknown> {
  if (f.strategies.includes('greedy') || f.name === 'numBeams') return f.name === 'numBeams' ? { type: 'beam' } : {};
  return f.strategies.includes('sample') ? { type: 'sample' } : { type: 'beam', numBeams: 4 };
}

function refusal(obj: unknown): StrategyError {
  try {
    strategyFromJSON(obj);
  } catch (e) {
    expect(e).toBeInstanceOf(StrategyError);
    return e as StrategyError;
  }
  throw new Error(`accepted ${JSON.stringify(obj)}`);
}

describe('the field table', () => {
  test('names, aliases and flags are unique; defaults are the stored defaults', () => {
    const keys = FIELDS.flatMap((f) => [f.name, ...f.aliases]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(FIELDS.map((f) => f.flag)).size).toBe(FIELDS.length);
    for (const f of FIELDS) {
      if (f.inputOnly) expect(DEFAULT_STRATEGY).not.toHaveProperty(f.name);
      else expect((DEFAULT_STRATEGY as Record<string, unknown>)[f.name]).toEqual(f.default);
    }
    expect(DEFAULT_STRATEGY).toMatchObject({ type: 'greedy', maxNewTokens: 20 }); // Hugging Face's defaults
  });

  test.each(FIELDS.map((f) => [f.name, f] as const))('%s: the example is accepted under every alias', (_n, f) => {
    const byName = strategyFromJSON({ ...context(f), [f.name]: f.example });
    expect(byName).not.toEqual(strategyFromJSON(context(f))); // the example changes something
    for (const alias of f.aliases) {
      expect(strategyFromJSON({ ...context(f), [alias]: f.example })).toEqual(byName);
      expect(refusal({ ...context(f), [f.name]: f.example, [alias]: f.example })).toMatchObject({
        field: alias,
        reason: `given twice (also as '${f.name}')`,
      });
    }
  });

  test.each(FIELDS.filter((f) => f.kind === 'int' || f.kind === 'float').map((f) => [f.name, f] as const))(
    '%s: range ends and wrong types',
    (_n, f) => {
      const r = f.range ?? {};
      const at = (v: unknown) => ({ ...context(f), [f.name]: v });
      if (r.min !== undefined) {
        if (r.minExclusive) expect(refusal(at(r.min)).reason).toContain(rangeText(f));
        else expect(strategyFromJSON(at(r.min))).toBeDefined();
        expect(refusal(at(r.min - 1)).field).toBe(f.name);
      }
      if (r.max !== undefined) {
        if (r.maxExclusive) expect(refusal(at(r.max)).field).toBe(f.name);
        else expect(strategyFromJSON(at(r.max))).toBeDefined();
        expect(refusal(at(r.max + 1)).field).toBe(f.name);
      }
      expect(refusal(at('1')).reason).toMatch(/got "1"/);
      expect(refusal(at(true)).field).toBe(f.name);
      if (f.kind === 'int') expect(refusal(at(1.5)).reason).toMatch(/integer/);
      if (f.nullable) expect(strategyFromJSON(at(null))).toMatchObject({ [f.name]: f.default });
      else expect(refusal(at(null)).reason).toMatch(/got null/);
    },
  );

  test.each(FIELDS.filter((f) => f.strategies.length < 3).map((f) => [f.name, f] as const))(
    '%s: refused under the other searches unless neutral',
    (_n, f) => {
      for (const type of ['greedy', 'beam', 'sample'] as const) {
        if (f.strategies.includes(type)) continue;
        expect(refusal({ type, [f.name]: f.example }).reason).toMatch(new RegExp(`applies only to type .*this strategy is '${type}'`));
        if (f.default !== null) expect(strategyFromJSON({ type, [f.name]: f.default }).type).toBe(type);
      }
    },
  );

  test('defaults (a generation config) fill only what the object leaves out', () => {
    const defaults = { eos_token_id: 7, temperature: 0.5 };
    expect(strategyFromJSON({ type: 'sample' }, { defaults })).toMatchObject({ eosTokenId: [7], temperature: 0.5 });
    expect(strategyFromJSON({ type: 'sample', eosTokenId: null, temp: undefined }, { defaults })).toMatchObject({ eosTokenId: [] });
    expect(strategyFromJSON({ type: 'sample', eos_token_id: 3 }, { defaults }).eosTokenId).toEqual([3]);
    expect(() => strategyFromJSON({}, { defaults: { eosTokenId: 9 }, vocabSize: 5 })).toThrow(/outside the vocabulary/);
  });
});

describe('flags from the table', () => {
  const specs = strategyFlagSpecs();
  const fromArgs = (args: string[]) => strategyFromFlags(parseFlags(args, specs).flags);

  test('one flag per field, with the range and searches in its help', () => {
    expect(Object.keys(specs)).toHaveLength(FIELDS.length);
    expect(specs['top-p']).toMatchObject({ type: 'float', default: 1 });
    expect(specs['top-p']!.help).toContain('in (0, 1] (1 = off) [sample]');
    expect(specs.strategy).toMatchObject({ choices: ['greedy', 'beam', 'sample'], default: 'greedy' });
    expect(Object.keys(strategyFlagSpecs(['topP', 'seed']))).toEqual(['top-p', 'seed']);
  });

  test.each([
    [['--num-beams=4'], { numBeams: 4 }],
    [['--strategy=sample', '--top-k=40', '--top-p=0.95', '--temperature=0.7'], { type: 'sample', topK: 40, topP: 0.95, temperature: 0.7 }],
    [['--do-sample', '--num-return-sequences=3'], { doSample: true, numReturnSequences: 3 }],
    [
      ['--strategy=beam', '--num-beams=2', '--early-stopping=never', '--length-penalty=-0.5'],
      { type: 'beam', numBeams: 2, earlyStopping: 'never', lengthPenalty: -0.5 },
    ],
    [
      ['--bad-words-ids=1,2;3', '--logit-bias=5:-100,6:2.5', '--eos-token-id=1,2'],
      { badWordsIds: [[1, 2], [3]], logitBias: { 5: -100, 6: 2.5 }, eosTokenId: [1, 2] },
    ],
    [['--stop=a,b', '--stop', '\n\n'], { stopStrings: ['a,b', '\n\n'] }],
    [['--seed=7', '--max-new-tokens=0'], { seed: 7, maxNewTokens: 0 }],
  ])('%j means %j', (args, json) => {
    expect(fromArgs(args)).toEqual(strategyFromJSON(json));
  });

  test.each([
    [['--top-p=1.5', '--strategy=sample'], /^--top-p: expected a number in \(0, 1\] \(1 = off\), got 1\.5$/],
    [['--top-k=5'], /^--top-k: applies only to type 'sample' \(this strategy is 'greedy'\)$/],
    [['--bad-words-ids=1,x'], /^--bad-words-ids item \[0\]\[1\]: expected a token id/],
    [['--logit-bias=5'], /^--logit-bias item \[0\]: expected a \[tokenId, bias\] pair/],
    [['--stop='], /^--stop item \[0\]: expected a non-empty string/],
    [['--early-stopping=yes', '--strategy=beam'], /--early-stopping must be one of true, false, never/],
  ])('%j is a usage error naming the flag', (args, re) => {
    let err: Error & { exitCode?: number } = new Error('none');
    try {
      fromArgs(args);
    } catch (e) {
      err = e as Error;
    }
    expect(err.message).toMatch(re);
    expect(err.exitCode).toBe(2);
  });

  test('only the flags given reach the strategy', () => {
    expect(strategyInputFromFlags({ 'top-p': 0.9, model: 'x', json: true })).toEqual({ topP: 0.9 });
    expect(() => strategyFromFlags({ 'eos-token-id': ['400'] }, { vocabSize: 320 })).toThrow(
      /--eos-token-id item \[0\]: token id 400 is outside/,
    );
  });
});
