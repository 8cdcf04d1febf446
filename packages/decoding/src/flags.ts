// Command-line flags for the strategy fields, made from the field table: `--top-p 0.9`, `--num-beams 4`,
// `--stop "\n\n"` (repeatable), `--logit-bias 50256:-100,13:2`, `--bad-words-ids "1,2;3"`. Flag values are
// turned into the same JSON values the HTTP API takes and validated by `strategyFromJSON`, so a CLI accepts
// and refuses exactly what the JSON does; errors name the flag.

import { UsageError } from '@gptlab/common';
import type { FlagSpec, FlagSpecs, ParsedFlags } from '@gptlab/common/node';
import { STRATEGY_FIELDS, rangeText, strategyField, type Strategy, type StrategyField, type StrategyInput } from './schema';
import { StrategyError, strategyFromJSON, type StrategyFromJSONOptions } from './strategy';

const FIELDS = STRATEGY_FIELDS as readonly StrategyField[];

function flagSpec(f: StrategyField): FlagSpec {
  const only = f.strategies.length < 3 ? ` [${f.strategies.join(', ')}]` : '';
  const range = rangeText(f);
  const help = `${f.help}${range ? `; ${range}` : ''}${only}`;
  const shownDefault = typeof f.default === 'number' || typeof f.default === 'string' ? { default: f.default } : {};
  switch (f.kind) {
    case 'choice':
      return { type: 'string', help, choices: f.choices!.map(String), ...shownDefault, metavar: 'CHOICE' };
    case 'bool':
      return { type: 'bool', help };
    case 'int':
    case 'float':
      // The range is checked (and reported) by strategyFromJSON, which also knows exclusive ends.
      return { type: f.kind, help, ...shownDefault };
    case 'tokenIds':
      return { type: 'list', help, metavar: 'ID,...' };
    case 'tokenSequences':
      return { type: 'string', help, metavar: 'IDS;IDS' };
    case 'logitBias':
      return { type: 'list', help, metavar: 'ID:BIAS,...' };
    case 'strings':
      return { type: 'list', help: `${f.help} (repeat the flag for more)`, split: false, metavar: 'TEXT' };
  }
}

/**
 * Flag specs (for @gptlab/common's parseFlags / Command.flags) of the strategy fields, keyed by flag name;
 * `names` picks some fields (default: all). parseFlags fills no defaults, so only the flags given reach
 * the strategy, and `--num-beams 4` alone implies beam search as `{"numBeams": 4}` does.
 */
export function strategyFlagSpecs(names?: readonly string[]): FlagSpecs {
  const out: FlagSpecs = {};
  for (const f of FIELDS) if (!names || names.includes(f.name)) out[f.flag] = flagSpec(f);
  return out;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A number when the text is one, else the text itself (strategyFromJSON then says what was expected). */
function numberOrText(text: string): number | string {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : text;
}

/**
 * The JSON value of field `f` written as text (a flag value, a REPL `/set`): numbers, `true`/`false`,
 * `1,2,3` for token ids, `1,2;3` for token sequences, `ID:BIAS,...` for logit biases, one stop string.
 */
export function fieldValueFromText(f: StrategyField, text: string): unknown {
  switch (f.kind) {
    case 'int':
    case 'float':
      return numberOrText(text);
    case 'bool':
    case 'choice': {
      const b = text === 'true' ? true : text === 'false' ? false : text;
      return f.kind === 'bool' || f.choices!.includes(b) ? b : text;
    }
    case 'tokenIds':
      return text.split(',').map(numberOrText);
    case 'tokenSequences': // '' = none
      return text.trim() === '' ? [] : text.split(';').map((seq) => (seq.trim() === '' ? [] : seq.split(',').map(numberOrText)));
    case 'logitBias':
      return text.split(',').map(logitBiasPair);
    case 'strings':
      return [text];
  }
}

function logitBiasPair(item: string): unknown {
  const parts = item.split(':');
  return parts.length === 2 ? [numberOrText(parts[0]!), numberOrText(parts[1]!)] : item;
}

/** The flag value of one field as its JSON value (lists already split by parseFlags). */
function fromFlag(f: StrategyField, v: ParsedFlags[string]): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (!Array.isArray(v)) return fieldValueFromText(f, v);
  if (f.kind === 'tokenIds') return v.map(numberOrText);
  if (f.kind === 'logitBias') return v.map(logitBiasPair);
  return v; // strings
}

/** The strategy fields among parsed flags (kebab keys), as the JSON object they stand for; not validated. */
export function strategyInputFromFlags(flags: ParsedFlags): StrategyInput {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) if (flags[f.flag] !== undefined) out[f.name] = fromFlag(f, flags[f.flag]!);
  return out as StrategyInput;
}

/** A StrategyError about a field as a UsageError about its flag: "--top-p: expected a number in (0, 1]...". */
export function strategyUsageError(e: StrategyError): UsageError {
  const m = /^([A-Za-z_]+)(.*)$/.exec(e.field);
  const f = m ? strategyField(m[1]!) : undefined;
  const where = f ? `--${f.flag}${m![2] ? ` item ${m![2]}` : ''}` : e.field;
  return new UsageError(`${where}: ${e.reason}`);
}

/** The validated strategy of parsed flags; a bad value is a UsageError naming its flag (exit code 2). */
export function strategyFromFlags(flags: ParsedFlags, opts: StrategyFromJSONOptions = {}): Strategy {
  try {
    return strategyFromJSON(strategyInputFromFlags(flags), opts);
  } catch (e) {
    throw e instanceof StrategyError ? strategyUsageError(e) : e;
  }
}
