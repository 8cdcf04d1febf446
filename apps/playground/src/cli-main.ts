// gptlab-playground command line: serve (web UI + API), generate (one run, --json for scripts), repl.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { HttpError, type GenerateRequest, type LoadedModel, type StrategySpec } from './types';
import { DEFAULT_LIMITS, checkAgainstModel, validateStrategy } from './validate';
import { isAbortError } from './queue';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export const USAGE = `usage:
  gptlab-playground serve --models DIR [--port 3000] [--host 127.0.0.1] [--max-new-tokens 512]
  gptlab-playground generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) --strategy greedy|beam|sample
        [--num-beams N] [--length-penalty A] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
        [--typical-p P] [--repetition-penalty R] [--presence-penalty X] [--frequency-penalty X]
        [--no-repeat-ngram-size N] [--stop S]... [--seed S] [--ignore-eos] --max-new-tokens N [--json]
  gptlab-playground repl --model DIR [same decoding flags]
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const DECODING_FLAGS = {
  strategy: { type: 'string' },
  'num-beams': { type: 'string' },
  'length-penalty': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'typical-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  'no-repeat-ngram-size': { type: 'string' },
  stop: { type: 'string', multiple: true },
  seed: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'ignore-eos': { type: 'boolean' },
  model: { type: 'string' },
} as const;

const FLAG_TO_FIELD: Record<string, keyof StrategySpec> = {
  'num-beams': 'numBeams',
  'length-penalty': 'lengthPenalty',
  temperature: 'temperature',
  'top-k': 'topK',
  'top-p': 'topP',
  'min-p': 'minP',
  'typical-p': 'typicalP',
  'repetition-penalty': 'repetitionPenalty',
  'presence-penalty': 'presencePenalty',
  'frequency-penalty': 'frequencyPenalty',
  'no-repeat-ngram-size': 'noRepeatNgramSize',
};

/** A number from flag `--name`; strict (the whole string must be a number). */
export function flagNumber(name: string, raw: string, integer = false): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${name}: expected ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

const INT_FIELDS = new Set(['num-beams', 'top-k', 'no-repeat-ngram-size']);

/** The strategy from CLI flags, validated like the API's (messages name the flag). */
export function strategyFromFlags(values: Record<string, unknown>): StrategySpec {
  const type = (values.strategy as string | undefined) ?? 'greedy';
  const raw: Record<string, unknown> = { type };
  for (const [flag, field] of Object.entries(FLAG_TO_FIELD)) {
    const v = values[flag];
    if (typeof v === 'string') raw[field] = flagNumber(flag, v, INT_FIELDS.has(flag));
  }
  try {
    return validateStrategy(raw);
  } catch (e) {
    // Name flags, not JSON fields.
    let msg = (e as Error).message.replace(/strategy\.type/, '--strategy');
    for (const [flag, field] of Object.entries(FLAG_TO_FIELD)) msg = msg.replace(`strategy.${field}`, `--${flag}`);
    msg = msg.replace(/type "(\w+)"/, '--strategy $1');
    throw new UsageError(msg);
  }
}

function checkpointDir(dir: string | undefined): string {
  if (!dir) throw new UsageError('--model DIR is required (a checkpoint directory: config.json + model.safetensors)');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--model: ${dir} is not a directory`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new UsageError(`--model: ${dir} has no config.json (not a checkpoint)`);
  return dir;
}

function parsePromptIds(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  return parts.map((p, i) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--prompt-ids: item ${i} (${JSON.stringify(p)}) is not a token id`);
    return Number(p);
  });
}

async function loadReal(dir: string, ignoreEos: boolean): Promise<LoadedModel> {
  // Loaded lazily so `--help` and usage errors do not pay for tfjs start-up.
  const { RealModel } = await import('./real');
  return RealModel.load(path.resolve(dir), path.basename(path.resolve(dir)), { stopAtEos: !ignoreEos });
}

async function backendLine(io: CliIO): Promise<void> {
  const { describeBackend } = await import('@gptlab/tensor');
  io.stderr.write(`${describeBackend()}\n`);
}

export async function cmdGenerate(argv: string[], io: CliIO, load = loadReal): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...DECODING_FLAGS, prompt: { type: 'string' }, 'prompt-ids': { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  const dir = checkpointDir(values.model);
  if ((values.prompt === undefined) === (values['prompt-ids'] === undefined)) {
    throw new UsageError('give exactly one of --prompt TEXT or --prompt-ids 1,2,3');
  }
  if (values.strategy === undefined) throw new UsageError('--strategy greedy|beam|sample is required');
  const strategy = strategyFromFlags(values);
  if (values['max-new-tokens'] === undefined) throw new UsageError('--max-new-tokens N is required');
  const maxNewTokens = flagNumber('max-new-tokens', values['max-new-tokens'], true);
  if (maxNewTokens < 1) throw new UsageError(`--max-new-tokens must be at least 1 (got ${maxNewTokens})`);
  const seed = values.seed === undefined ? undefined : flagNumber('seed', values.seed, true);
  if (seed !== undefined && (seed < 0 || seed > 2 ** 32 - 1)) throw new UsageError(`--seed must be in [0, 2^32 - 1] (got ${seed})`);
  const promptIdsFlag = values['prompt-ids'] === undefined ? undefined : parsePromptIds(values['prompt-ids']);
  if (values.prompt === '') throw new UsageError('--prompt must not be empty');

  const model = await load(dir, values['ignore-eos'] === true);
  await backendLine(io);
  const promptIds = promptIdsFlag ?? model.encode(values.prompt!);
  try {
    checkAgainstModel(promptIds, maxNewTokens, model, promptIdsFlag ? '--prompt-ids' : '--prompt');
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^--prompt-ids\[(\d+)\]/, '--prompt-ids item $1'));
  }
  const req: GenerateRequest = { promptIds, strategy, maxNewTokens, stop: values.stop ?? [], seed };
  if (values.json) {
    const r = await model.generate(req);
    io.stdout.write(JSON.stringify({ ids: r.ids, text: r.text, logprobs: r.logprobs, score: r.score, finishReason: r.finishReason }) + '\n');
  } else {
    const r = await model.generate(req, { onToken: (ev) => io.stdout.write(ev.text) });
    io.stdout.write('\n');
    io.stderr.write(`[${r.ids.length} tokens, finish: ${r.finishReason}, score ${r.score.toFixed(4)}]\n`);
  }
  model.dispose?.();
  return 0;
}

export async function cmdServe(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      models: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      'ignore-eos': { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.models) throw new UsageError('--models DIR is required (a directory whose subdirectories are checkpoints)');
  if (!fs.existsSync(values.models) || !fs.statSync(values.models).isDirectory()) throw new UsageError(`--models: ${values.models} is not a directory`);
  const port = values.port === undefined ? 3000 : flagNumber('port', values.port, true);
  if (port < 0 || port > 65535) throw new UsageError(`--port must be in [0, 65535] (got ${port})`);
  const host = values.host ?? '127.0.0.1';
  const maxNewTokens = values['max-new-tokens'] === undefined ? DEFAULT_LIMITS.maxNewTokens : flagNumber('max-new-tokens', values['max-new-tokens'], true);
  const { initBackend, describeBackend } = await import('@gptlab/tensor');
  await initBackend();
  io.stderr.write(`${describeBackend()}\n`);
  const { realRegistry } = await import('./real');
  const { createServer } = await import('./server');
  const registry = realRegistry(values.models, { stopAtEos: values['ignore-eos'] !== true });
  const names = await registry.list();
  io.stderr.write(`models in ${path.resolve(values.models)}: ${names.length ? names.join(', ') : '(none: each model is a subdirectory with config.json)'}\n`);
  const app = await createServer({ registry, limits: { maxNewTokens } });
  const address = await app.listen({ port, host });
  io.stdout.write(`gptlab playground on ${address}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      app.close().then(() => resolve(), () => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

// ---------------------------------------------------------------------------------------------- repl

export const REPL_HELP = `Type a prompt and press Enter to generate (end a line with \\ to continue it).
Commands:
  /strategy greedy                     greedy decoding
  /strategy beam [N] [alpha]           beam search with N beams (default 4), length penalty alpha (default 1)
  /strategy sample [T] [topP]          sampling at temperature T (default 1), optional nucleus topP
  /strategy top-k K [T] | top-p P [T] | min-p P [T] | typical P [T]
  /set NAME VALUE                      any strategy parameter, e.g. /set repetitionPenalty 1.2
  /max N     /seed S     /stop a,b     /show     /help     /quit
`;

export interface ReplState {
  strategy: StrategySpec;
  maxNewTokens: number;
  seed?: number;
  stop: string[];
}

/** Applies one `/command` to the REPL state; returns a message to print, or 'quit'. Throws UsageError. */
export function replCommand(line: string, st: ReplState): string {
  const [cmd, ...args] = line.trim().slice(1).split(/\s+/);
  const n = (i: number, name: string, int = false) => flagNumber(name, args[i]!, int);
  const sample = (key: keyof StrategySpec | null, value: number | undefined, tIndex: number): StrategySpec => {
    const s: StrategySpec = { type: 'sample' };
    if (args[tIndex] !== undefined) s.temperature = n(tIndex, 'temperature');
    if (key && value !== undefined) (s as unknown as Record<string, number>)[key] = value;
    return s;
  };
  switch (cmd) {
    case 'strategy': {
      const kind = args[0];
      let s: StrategySpec;
      if (kind === 'greedy') s = { type: 'greedy' };
      else if (kind === 'beam') {
        s = { type: 'beam', numBeams: args[1] !== undefined ? n(1, 'beams', true) : 4 };
        if (args[2] !== undefined) s.lengthPenalty = n(2, 'alpha');
      } else if (kind === 'sample') {
        s = { type: 'sample', temperature: args[1] !== undefined ? n(1, 'temperature') : 1 };
        if (args[2] !== undefined) s.topP = n(2, 'topP');
      } else if (kind === 'top-k') s = sample('topK', args[1] !== undefined ? n(1, 'K', true) : 40, 2);
      else if (kind === 'top-p') s = sample('topP', args[1] !== undefined ? n(1, 'P') : 0.9, 2);
      else if (kind === 'min-p') s = sample('minP', args[1] !== undefined ? n(1, 'P') : 0.05, 2);
      else if (kind === 'typical') s = sample('typicalP', args[1] !== undefined ? n(1, 'P') : 0.9, 2);
      else throw new UsageError(`/strategy: unknown strategy ${JSON.stringify(kind ?? '')} (greedy, beam, sample, top-k, top-p, min-p, typical)`);
      st.strategy = validateStrategy(s);
      return `strategy: ${JSON.stringify(st.strategy)}`;
    }
    case 'set': {
      if (args.length !== 2) throw new UsageError('/set NAME VALUE');
      const s = { ...st.strategy, [args[0]!]: args[0] === 'earlyStopping' ? args[1] === 'true' : n(1, args[0]!) };
      st.strategy = validateStrategy(s);
      return `strategy: ${JSON.stringify(st.strategy)}`;
    }
    case 'max': {
      const v = n(0, 'max', true);
      if (v < 1) throw new UsageError('/max must be at least 1');
      st.maxNewTokens = v;
      return `max new tokens: ${v}`;
    }
    case 'seed':
      st.seed = n(0, 'seed', true);
      return `seed: ${st.seed}`;
    case 'stop':
      st.stop = args.length ? args.join(' ').split(',').map((s) => s.replace(/\\n/g, '\n')).filter(Boolean) : [];
      return `stop strings: ${JSON.stringify(st.stop)}`;
    case 'show':
      return JSON.stringify(st);
    case 'help':
      return REPL_HELP;
    case 'quit':
    case 'exit':
      return 'quit';
    default:
      throw new UsageError(`unknown command /${cmd ?? ''} (try /help)`);
  }
}

export async function cmdRepl(argv: string[], io: CliIO, load = loadReal): Promise<number> {
  const { values } = parseArgs({ args: argv, options: DECODING_FLAGS, strict: true });
  const dir = checkpointDir(values.model);
  const st: ReplState = {
    strategy: strategyFromFlags(values),
    maxNewTokens: values['max-new-tokens'] === undefined ? 64 : flagNumber('max-new-tokens', values['max-new-tokens'], true),
    seed: values.seed === undefined ? undefined : flagNumber('seed', values.seed, true),
    stop: values.stop ?? [],
  };
  const model = await load(dir, values['ignore-eos'] === true);
  await backendLine(io);
  io.stdout.write(`${model.card.name}: ${model.card.parameters.toLocaleString('en-US')} parameters, context ${model.contextLength}. /help for commands.\n`);
  const rl = readline.createInterface({ input: io.stdin, output: io.stdout, terminal: (io.stdin as NodeJS.ReadStream).isTTY === true });
  let current: AbortController | null = null;
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else rl.close();
  });
  rl.setPrompt('> ');
  rl.prompt();
  let buffer = '';
  let chain = Promise.resolve();
  const handle = async (line: string): Promise<boolean> => {
    if (line.endsWith('\\')) {
      buffer += line.slice(0, -1) + '\n';
      return true;
    }
    const text = buffer + line;
    buffer = '';
    if (text.trim() === '') return true;
    if (text.startsWith('/')) {
      try {
        const msg = replCommand(text, st);
        if (msg === 'quit') return false;
        io.stdout.write(msg.endsWith('\n') ? msg : msg + '\n');
      } catch (e) {
        io.stdout.write(`error: ${(e as Error).message}\n`);
      }
      return true;
    }
    try {
      const promptIds = model.encode(text);
      checkAgainstModel(promptIds, st.maxNewTokens, model, 'prompt');
      current = new AbortController();
      const r = await model.generate(
        { promptIds, strategy: st.strategy, maxNewTokens: st.maxNewTokens, stop: st.stop, seed: st.seed },
        { signal: current.signal, onToken: (ev) => io.stdout.write(ev.text) },
      );
      io.stdout.write(`\n[${r.ids.length} tokens, finish: ${r.finishReason}, score ${r.score.toFixed(4)}]\n`);
    } catch (e) {
      if (isAbortError(e)) io.stdout.write('\n[stopped]\n');
      else io.stdout.write(`error: ${(e as Error).message}\n`);
    } finally {
      current = null;
    }
    return true;
  };
  await new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      chain = chain.then(async () => {
        if (!(await handle(line))) rl.close();
        else rl.prompt();
      });
    });
    rl.on('close', () => {
      chain.then(() => resolve());
    });
  });
  model.dispose?.();
  return 0;
}

export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return await cmdServe(rest, io);
      case 'generate':
        return await cmdGenerate(rest, io);
      case 'repl':
        return await cmdRepl(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || e instanceof HttpError || err.code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`gptlab-playground: error: ${err.message}\n${e instanceof UsageError || err.code ? USAGE : ''}`);
      return 2;
    }
    io.stderr.write(`gptlab-playground: error: ${err.message}\n`);
    return 1;
  }
}
