// One schema, three doors. For every field of @gptlab/decoding's strategy table (valid values, range ends,
// each alias, out-of-range values, wrong types, the wrong search), POST /api/generate and the
// `gptlab-playground generate` flags accept exactly what strategyFromJSON accepts on the real tiny
// checkpoint, and name the field (API) or its flag (CLI) when they refuse.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { STRATEGY_FIELDS, strategyFromJSON, type StrategyField } from '@gptlab/decoding';
import { main } from '../src/program';
import { RealModel, realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { captureIO } from './helpers/io';

const DIR = path.join(__dirname, 'fixtures', 'tiny');
const VOCAB = 320;
const PROMPT = [1, 2, 3];
const FIELDS = STRATEGY_FIELDS as readonly StrategyField[];

interface Case {
  field: StrategyField;
  key: string;
  value: unknown;
  /** Other fields that make the case meaningful (the field's search, a seed; few new tokens to keep runs short). */
  context: Record<string, unknown>;
}

function contextOf(f: StrategyField): Record<string, unknown> {
  // A seed makes sampled runs repeatable, so the CLI's output can be compared with the API's.
  const short = { ...(f.name === 'maxNewTokens' ? {} : { maxNewTokens: 3 }), ...(f.name === 'seed' ? {} : { seed: 7 }) };
  if (f.name === 'numBeams') return { ...short, type: 'beam' };
  if (f.strategies.includes('greedy')) return short;
  return f.strategies.includes('sample') ? { ...short, type: 'sample' } : { ...short, type: 'beam', numBeams: 3 };
}

/** Values to try per kind, beyond the example, the default and the range ends. */
const EXTRA: Record<StrategyField['kind'], unknown[]> = {
  choice: ['nope', 1],
  bool: ['yes', 1],
  int: ['abc', true, 1.5],
  float: ['abc', true],
  tokenIds: [[1, 2], 5, -1, [1.5], 'x', VOCAB],
  tokenSequences: [[[1, 2], [3]], [], [[]], [[-1]], 5, [[VOCAB]]],
  logitBias: [{ '5': 100 }, [[5, -100]], { x: 1 }, { '5': 'big' }, 7, [[VOCAB, 1]]],
  strings: [['a', 'b,c'], 'x', [''], 5, [5]],
};

function valuesOf(f: StrategyField): unknown[] {
  const out: unknown[] = [f.example, f.default, ...EXTRA[f.kind]];
  const r = f.range;
  if (r?.min !== undefined) out.push(r.min, r.min - 1);
  if (r?.max !== undefined) out.push(r.max, r.max + 1, r.max - 1);
  if (f.kind === 'int' || f.kind === 'float') out.push(null);
  return out;
}

const CASES: Case[] = FIELDS.flatMap((f) => [
  ...valuesOf(f).map((value) => ({ field: f, key: f.name, value, context: contextOf(f) })),
  ...f.aliases.map((key) => ({ field: f, key, value: f.example, context: contextOf(f) })),
  ...(['greedy', 'beam', 'sample'] as const)
    .filter((t) => !f.strategies.includes(t))
    .map((type) => ({ field: f, key: f.name, value: f.example, context: { maxNewTokens: 3, seed: 7, type } })),
]);

// ------------------------------------------------------------------------------ the CLI spelling of a case

const flagOf = (name: string) => FIELDS.find((f) => f.name === name)!.flag;
const allNumbers = (xs: unknown[]) => xs.every((x) => typeof x === 'number');

/** `--flag=value` words meaning the same JSON value, or null when flags cannot say it (CLI text has no types). */
function flagWords(f: StrategyField, v: unknown): string[] | null {
  const flag = `--${f.flag}`;
  if (v === null) return null; // null is "none" (eos) or "random" (seed): not the same as leaving the flag out
  if (f.kind === 'bool') return typeof v === 'boolean' ? [v ? flag : `--no-${f.flag}`] : [`${flag}=${String(v)}`];
  if (f.kind === 'int' || f.kind === 'float' || f.kind === 'choice') {
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return null; // "1" would read as 1
    return typeof v === 'object' ? null : [`${flag}=${String(v)}`];
  }
  if (f.kind === 'tokenIds')
    return typeof v === 'number' || typeof v === 'string'
      ? [`${flag}=${v}`]
      : Array.isArray(v) && allNumbers(v)
        ? [`${flag}=${v.join(',')}`]
        : null;
  if (f.kind === 'tokenSequences') {
    const ok = Array.isArray(v) && v.every((s) => Array.isArray(s) && s.length > 0 && allNumbers(s));
    return ok ? [`${flag}=${(v as number[][]).map((s) => s.join(',')).join(';')}`] : null;
  }
  if (f.kind === 'logitBias') {
    const pairs = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.entries(v) : null;
    return pairs && pairs.every((p) => Array.isArray(p) && p.length === 2) ? [`${flag}=${pairs.map((p) => p.join(':')).join(',')}`] : null;
  }
  const list = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : null;
  return list && list.map((s) => `${flag}=${s}`);
}

function cliWords(c: Case): string[] | null {
  const words = flagWords(c.field, c.value);
  if (!words) return null;
  const context = Object.entries(c.context).flatMap(([name, v]) => flagWords(FIELDS.find((f) => f.name === name)!, v)!);
  return [...context, ...words];
}

// ------------------------------------------------------------------------------------------------- tests

let tmp: string;
let app: FastifyInstance;
let model: RealModel;
/** The API's reply to each accepted case: the CLI must print the same result. */
const httpResults = new Map<Case, unknown>();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-schema-'));
  fs.cpSync(DIR, path.join(tmp, 'tiny'), { recursive: true });
  app = await createServer({ registry: realRegistry(tmp) });
  model = await RealModel.load(DIR, 'tiny');
});
afterAll(async () => {
  await app.close();
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function oracle(obj: object): string | null {
  try {
    strategyFromJSON(obj, { vocabSize: VOCAB });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const label = (c: Case) => `${c.key} = ${JSON.stringify(c.value)}${c.context.type ? ` (${String(c.context.type)})` : ''}`;

test('the cases cover every field, each alias, both verdicts', () => {
  expect(new Set(CASES.map((c) => c.field.name))).toEqual(new Set(FIELDS.map((f) => f.name)));
  expect(new Set(CASES.map((c) => c.key))).toEqual(new Set(FIELDS.flatMap((f) => [f.name, ...f.aliases])));
  const verdicts = CASES.map((c) => oracle({ ...c.context, [c.key]: c.value }) === null);
  expect(verdicts.filter(Boolean).length).toBeGreaterThan(40);
  expect(verdicts.filter((v) => !v).length).toBeGreaterThan(60);
  expect(CASES.filter((c) => cliWords(c) !== null).length).toBeGreaterThan(CASES.length * 0.7);
});

describe.each(CASES.map((c) => [label(c), c] as const))('%s', (_l, c) => {
  const obj = { ...c.context, [c.key]: c.value };
  const refusal = oracle(obj);

  test(`HTTP ${refusal ? 'refuses' : 'accepts'}`, async () => {
    // Aliases go at the top level (OpenAI style), names inside `strategy`: both ways in.
    const payload =
      c.key === c.field.name ? { model: 'tiny', promptIds: PROMPT, strategy: obj } : { model: 'tiny', promptIds: PROMPT, ...obj };
    const res = await app.inject({ method: 'POST', url: '/api/generate', payload });
    if (res.statusCode === 200) httpResults.set(c, res.json());
    expect({ status: res.statusCode, error: res.statusCode === 200 ? undefined : res.json().error }).toEqual(
      refusal ? { status: 400, error: refusal } : { status: 200, error: undefined },
    );
  });

  // The CLI has one spelling per field (its flag), and some JSON values have none (see flagWords).
  const words = c.key === c.field.name ? cliWords(c) : null;
  if (words)
    test(`CLI ${refusal ? 'refuses' : 'accepts'}`, async () => {
      const io = captureIO();
      const shared = Object.create(model, { dispose: { value: () => undefined } });
      const code = await main(
        ['generate', '--model', DIR, '--prompt-ids', PROMPT.join(','), ...words, '--json'],
        io.io,
        async () => shared,
      );
      expect({ code, flagNamed: refusal ? io.err().includes(`--${flagOf(c.field.name)}`) : true }).toEqual({
        code: refusal ? 2 : 0,
        flagNamed: true,
      });
      if (!refusal) expect(JSON.parse(io.out())).toEqual(httpResults.get(c));
    });
});
