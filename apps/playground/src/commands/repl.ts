// gptlab-playground repl: type prompts, change the decoding strategy with /commands between runs. The
// strategy is kept as the JSON object the API would take, so every change is checked by strategyFromJSON.
import { closestNames } from '@gptlab/common';
import { UsageError, type Command } from '@gptlab/common/node';
import {
  STRATEGY_FIELDS,
  fieldValueFromText,
  strategyField,
  strategyFlagSpecs,
  strategyFromFlags,
  strategyFromJSON,
  strategyInputFromFlags,
  type StrategyField,
} from '@gptlab/decoding';
import { isAbortError } from '../queue';
import { checkAgainstModel, generationDefaults } from '../requests';
import type { LoadedModel } from '../types';
import { lineSession } from './line-session';
import { MODEL_FLAGS, checkpointDir, resultLine, writeBackendLine, type CliIO, type CheckpointLoader } from './shared';

export const REPL_HELP = `Type a prompt and press Enter to generate (end a line with \\ to continue it).
Commands:
  /strategy greedy                     greedy decoding
  /strategy beam [N] [alpha]           beam search with N beams (default 4), length penalty alpha
  /strategy sample [T] [topP]          sampling at temperature T, optional nucleus topP
  /strategy top-k K [T] | top-p P [T] | min-p P [T] | typical P [T]
  /set NAME VALUE                      any strategy field by name, alias or flag, e.g. /set repetition_penalty 1.2
  /max N     /seed S     /stop a,b     /show     /help     /quit
`;

/** The REPL's strategy: the JSON object (field names as keys) that strategyFromJSON accepts. */
export interface ReplState {
  input: Record<string, unknown>;
}

const FIELDS = STRATEGY_FIELDS as readonly StrategyField[];

/** `/strategy` presets: the search type and which of its fields the positional arguments set. */
const PRESETS: Record<string, { type: string; args: string[] }> = {
  greedy: { type: 'greedy', args: [] },
  beam: { type: 'beam', args: ['numBeams', 'lengthPenalty'] },
  sample: { type: 'sample', args: ['temperature', 'topP'] },
  'top-k': { type: 'sample', args: ['topK', 'temperature'] },
  'top-p': { type: 'sample', args: ['topP', 'temperature'] },
  'min-p': { type: 'sample', args: ['minP', 'temperature'] },
  typical: { type: 'sample', args: ['typicalP', 'temperature'] },
};

function fieldNamed(name: string): StrategyField {
  const f = strategyField(name) ?? FIELDS.find((x) => x.flag === name);
  if (f) return f;
  const close = closestNames(
    name,
    FIELDS.map((x) => x.name),
  );
  throw new UsageError(`unknown strategy field ${name}${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`);
}

/** Replaces the strategy with `input` if strategyFromJSON accepts it (else throws and keeps the old one). */
function setInput(st: ReplState, input: Record<string, unknown>): string {
  strategyFromJSON(input);
  st.input = input;
  return `strategy: ${JSON.stringify(st.input)}`;
}

function set(st: ReplState, name: string, text: string | undefined, command = 'set'): string {
  if (text === undefined) throw new UsageError(`/${command} needs a value`);
  const f = fieldNamed(name);
  return setInput(st, { ...st.input, [f.name]: fieldValueFromText(f, text) });
}

/** Applies one `/command` to the REPL state; returns a message to print, or 'quit'. Throws on bad input. */
export function replLine(line: string, st: ReplState): string {
  const [cmd, ...args] = line.trim().slice(1).split(/\s+/);
  switch (cmd) {
    case 'strategy': {
      const preset = PRESETS[args[0] ?? ''];
      if (!preset)
        throw new UsageError(`/strategy: unknown strategy ${JSON.stringify(args[0] ?? '')} (${Object.keys(PRESETS).join(', ')})`);
      // Keep what every search uses (penalties, length, stop, seed); drop the old search's own knobs.
      const kept = Object.entries(st.input).filter(
        ([k]) => k !== 'type' && fieldNamed(k).strategies.length === 3 && !fieldNamed(k).inputOnly,
      );
      const input: Record<string, unknown> = { ...Object.fromEntries(kept), type: preset.type };
      if (preset.type === 'beam') input.numBeams = fieldNamed('numBeams').example;
      preset.args.forEach((name, i) => {
        if (args[i + 1] !== undefined) input[name] = fieldValueFromText(fieldNamed(name), args[i + 1]!);
        else if (i === 0 && preset.type === 'sample' && args[0] !== 'sample') input[name] = fieldNamed(name).example;
      });
      return setInput(st, input);
    }
    case 'set':
      if (args.length < 2) throw new UsageError('/set NAME VALUE');
      return set(st, args[0]!, args.slice(1).join(' '));
    case 'max':
      return set(st, 'maxNewTokens', args[0], 'max');
    case 'seed':
      return set(st, 'seed', args[0], 'seed');
    case 'stop': {
      const stops = args
        .join(' ')
        .split(',')
        .map((s) => s.replace(/\\n/g, '\n'))
        .filter(Boolean);
      return setInput(st, { ...st.input, stopStrings: stops });
    }
    case 'show':
      return JSON.stringify(strategyFromJSON(st.input));
    case 'help':
      return REPL_HELP;
    case 'quit':
    case 'exit':
      return 'quit';
    default:
      throw new UsageError(`unknown command /${cmd ?? ''} (try /help)`);
  }
}

async function session(model: LoadedModel, st: ReplState, io: CliIO): Promise<void> {
  const run = async (text: string, signal: AbortSignal): Promise<void> => {
    const strategy = strategyFromJSON(st.input, { vocabSize: model.vocabSize, defaults: generationDefaults(model) });
    const promptIds = model.encode(text);
    checkAgainstModel(promptIds, strategy.maxNewTokens, model, 'prompt');
    const r = await model.generate({ promptIds, strategy }, { signal, onToken: (ev) => io.stdout.write(ev.text) });
    io.stdout.write(`\n${resultLine(r)}\n`);
  };
  await lineSession(io, async (text, signal) => {
    try {
      if (!text.startsWith('/')) await run(text, signal);
      else {
        const msg = replLine(text, st);
        if (msg === 'quit') return false;
        io.stdout.write(msg.endsWith('\n') ? msg : msg + '\n');
      }
    } catch (e) {
      io.stdout.write(isAbortError(e) ? '\n[stopped]\n' : `error: ${(e as Error).message}\n`);
    }
    return true;
  });
}

export function replCommand(io: CliIO, load: CheckpointLoader): Command {
  return {
    name: 'repl',
    summary: 'interactive prompting; /strategy, /set, /max, /stop change the decoding between runs',
    usage: 'repl --model DIR [decoding flags]',
    details: REPL_HELP,
    flags: { ...MODEL_FLAGS, ...strategyFlagSpecs() },
    async run({ flags }) {
      const dir = checkpointDir('--model', flags.model as string);
      strategyFromFlags(flags); // usage errors before the model loads
      const st: ReplState = { input: strategyInputFromFlags(flags) as Record<string, unknown> };
      const model = await load(dir, { ignoreEos: flags['ignore-eos'] === true });
      try {
        await writeBackendLine(io);
        io.stdout.write(
          `${model.card.name}: ${model.card.parameters.toLocaleString('en-US')} parameters, context ${model.contextLength}. /help for commands.\n`,
        );
        await session(model, st, io);
      } finally {
        model.dispose?.();
      }
      return 0;
    },
  };
}
