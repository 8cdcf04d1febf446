// The one table of decoding-strategy fields. Everything else is made from it: `strategyFromJSON` validates
// against it, the `Strategy` / `StrategyInput` types are derived from it, CLIs get their flags from it
// (`strategyFlagSpecs`), and the playground serves it to its web form. A new knob is one new row here.
//
// Names follow Hugging Face `generate` (camelCase or snake_case) and OpenAI where it has a spelling
// (`max_tokens`, `n`, `stop`, `logit_bias`).

export type SearchType = 'greedy' | 'beam' | 'sample';
const ALL = ['greedy', 'beam', 'sample'] as const satisfies readonly SearchType[];
export const SEARCH_TYPES: readonly SearchType[] = ALL;

/** How a field's JSON value is read. */
export type FieldKind =
  | 'choice' // one of `choices`
  | 'bool'
  | 'int' // a finite integer in `range`
  | 'float' // a finite number in `range`
  | 'tokenIds' // a token id or a list of them
  | 'tokenSequences' // a list of non-empty token-id lists
  | 'logitBias' // {"id": bias} or [[id, bias], ...]
  | 'strings'; // a non-empty string or a list of them

/** An interval; a missing end is unbounded. Ends are inclusive unless marked exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

export interface StrategyField {
  /** camelCase name: the key in `Strategy`. */
  name: string;
  /** Other accepted spellings: snake_case (Hugging Face) and OpenAI's. */
  aliases: readonly string[];
  kind: FieldKind;
  choices?: readonly (string | boolean)[];
  range?: NumberRange;
  /** What the neutral value means, shown after the range ("1 = off"). */
  note?: string;
  /** null is accepted and means "none" (eosTokenId) or "random" (seed). */
  nullable?: boolean;
  /** The value a `Strategy` has when the field is not given. */
  default: unknown;
  /** A typical non-default value (help text, the web form's starting value when a preset turns it on). */
  example: unknown;
  /** One line for help texts and the web form. */
  help: string;
  /** The searches that use the field; a non-default value under another search is an error. */
  strategies: readonly SearchType[];
  /** Command-line flag (kebab-case, without the dashes). */
  flag: string;
  /** Read from the input but not stored in a `Strategy` (doSample only decides `type`). */
  inputOnly?: boolean;
}

export const STRATEGY_FIELDS = [
  {
    name: 'type',
    aliases: [],
    kind: 'choice',
    choices: ALL,
    default: 'greedy',
    example: 'sample',
    help: "the search (when absent: 'sample' if doSample, 'beam' if numBeams > 1, else 'greedy')",
    strategies: ALL,
    flag: 'strategy',
  },
  {
    name: 'doSample',
    aliases: ['do_sample'],
    kind: 'bool',
    default: false,
    example: true,
    inputOnly: true,
    help: "Hugging Face's switch for sampling: true means type 'sample'",
    strategies: ALL,
    flag: 'do-sample',
  },
  {
    name: 'maxNewTokens',
    aliases: ['max_new_tokens', 'maxTokens', 'max_tokens'],
    kind: 'int',
    range: { min: 0 },
    default: 20,
    example: 64,
    help: 'stop after this many new tokens',
    strategies: ALL,
    flag: 'max-new-tokens',
  },
  {
    name: 'numBeams',
    aliases: ['num_beams'],
    kind: 'int',
    range: { min: 1 },
    default: 1,
    example: 4,
    help: 'beams kept at each step',
    strategies: ['beam'],
    flag: 'num-beams',
  },
  {
    name: 'lengthPenalty',
    aliases: ['length_penalty'],
    kind: 'float',
    default: 1,
    example: 0.6,
    help: 'finished beams are ranked by sum of log-probs / length^alpha',
    strategies: ['beam'],
    flag: 'length-penalty',
  },
  {
    name: 'earlyStopping',
    aliases: ['early_stopping'],
    kind: 'choice',
    choices: [true, false, 'never'],
    default: false,
    example: true,
    help: "true: stop once numBeams beams finished; false: also when no live beam can win (heuristic); 'never': only when none can",
    strategies: ['beam'],
    flag: 'early-stopping',
  },
  {
    name: 'numReturnSequences',
    aliases: ['num_return_sequences', 'n'],
    kind: 'int',
    range: { min: 1 },
    default: 1,
    example: 2,
    help: 'sequences returned: the best beams, or independent samples',
    strategies: ['beam', 'sample'],
    flag: 'num-return-sequences',
  },
  {
    name: 'temperature',
    aliases: [],
    kind: 'float',
    range: { min: 0 },
    note: '0 = greedy choice',
    default: 1,
    example: 0.7,
    help: 'divide the logits by T before sampling',
    strategies: ['sample'],
    flag: 'temperature',
  },
  {
    name: 'topK',
    aliases: ['top_k'],
    kind: 'int',
    range: { min: 0 },
    note: '0 = off',
    default: 0,
    example: 50,
    help: 'sample among the k most likely tokens',
    strategies: ['sample'],
    flag: 'top-k',
  },
  {
    name: 'topP',
    aliases: ['top_p'],
    kind: 'float',
    range: { min: 0, max: 1, minExclusive: true },
    note: '1 = off',
    default: 1,
    example: 0.9,
    help: 'nucleus: sample among the most likely tokens whose mass reaches p',
    strategies: ['sample'],
    flag: 'top-p',
  },
  {
    name: 'minP',
    aliases: ['min_p'],
    kind: 'float',
    range: { min: 0, max: 1 },
    note: '0 = off',
    default: 0,
    example: 0.05,
    help: 'drop tokens less likely than p times the most likely one',
    strategies: ['sample'],
    flag: 'min-p',
  },
  {
    name: 'typicalP',
    aliases: ['typical_p'],
    kind: 'float',
    range: { min: 0, max: 1, minExclusive: true },
    note: '1 = off',
    default: 1,
    example: 0.9,
    help: 'locally typical sampling: keep the tokens closest to the entropy up to mass p',
    strategies: ['sample'],
    flag: 'typical-p',
  },
  {
    name: 'repetitionPenalty',
    aliases: ['repetition_penalty'],
    kind: 'float',
    range: { min: 0, minExclusive: true },
    note: '1 = off',
    default: 1,
    example: 1.2,
    help: 'CTRL: scores of context tokens (prompt included) are divided by it (multiplied when < 0)',
    strategies: ALL,
    flag: 'repetition-penalty',
  },
  {
    name: 'presencePenalty',
    aliases: ['presence_penalty'],
    kind: 'float',
    default: 0,
    example: 0.5,
    help: 'OpenAI: subtracted once from every token already generated',
    strategies: ALL,
    flag: 'presence-penalty',
  },
  {
    name: 'frequencyPenalty',
    aliases: ['frequency_penalty'],
    kind: 'float',
    default: 0,
    example: 0.5,
    help: 'OpenAI: subtracted per occurrence from every token already generated',
    strategies: ALL,
    flag: 'frequency-penalty',
  },
  {
    name: 'noRepeatNgramSize',
    aliases: ['no_repeat_ngram_size'],
    kind: 'int',
    range: { min: 0 },
    note: '0 = off',
    default: 0,
    example: 3,
    help: 'never repeat an n-gram of the context',
    strategies: ALL,
    flag: 'no-repeat-ngram-size',
  },
  {
    name: 'badWordsIds',
    aliases: ['bad_words_ids'],
    kind: 'tokenSequences',
    default: [],
    example: [[50256]],
    help: "token sequences never to generate (flag: '1,2;3' = [[1, 2], [3]])",
    strategies: ALL,
    flag: 'bad-words-ids',
  },
  {
    name: 'logitBias',
    aliases: ['logit_bias'],
    kind: 'logitBias',
    default: [],
    example: { '50256': -100 },
    help: "added to a token's logit: {\"50256\": -100} or [[50256, -100]] (flag: '50256:-100')",
    strategies: ALL,
    flag: 'logit-bias',
  },
  {
    name: 'eosTokenId',
    aliases: ['eos_token_id'],
    kind: 'tokenIds',
    nullable: true,
    default: [],
    example: 50256,
    help: 'token id(s) that end a sequence (JSON null: none)',
    strategies: ALL,
    flag: 'eos-token-id',
  },
  {
    name: 'stopStrings',
    aliases: ['stop_strings', 'stop'],
    kind: 'strings',
    default: [],
    example: ['\n\n'],
    help: 'end when the text contains one of these (trimmed from the text)',
    strategies: ALL,
    flag: 'stop',
  },
  {
    name: 'seed',
    aliases: [],
    kind: 'int',
    range: { min: 0, max: 2 ** 53, maxExclusive: true },
    nullable: true,
    default: null,
    example: 42,
    help: 'sampling seed: same seed, same text (default: a fresh random seed; greedy and beam ignore it)',
    strategies: ALL,
    flag: 'seed',
  },
] as const satisfies readonly StrategyField[];

// ------------------------------------------------------------------------ types derived from the table

type Row = (typeof STRATEGY_FIELDS)[number];

type ValueOf<R> = R extends { kind: 'choice'; choices: readonly (infer C)[] }
  ? C
  : R extends { kind: 'bool' }
    ? boolean
    : R extends { kind: 'int' | 'float'; nullable: true }
      ? number | null
      : R extends { kind: 'int' | 'float' }
        ? number
        : R extends { kind: 'tokenIds' }
          ? number[]
          : R extends { kind: 'tokenSequences' }
            ? number[][]
            : R extends { kind: 'logitBias' }
              ? [number, number][]
              : R extends { kind: 'strings' }
                ? string[]
                : never;

type InputOf<R> = R extends { kind: 'tokenIds' }
  ? number | number[] | null
  : R extends { kind: 'logitBias' }
    ? Record<string, number> | [number, number][]
    : R extends { kind: 'strings' }
      ? string | string[]
      : ValueOf<R>;

/** A complete, validated decoding strategy (what `strategyFromJSON` returns). */
export type Strategy = { -readonly [R in Row as R extends { inputOnly: true } ? never : R['name']]: ValueOf<R> };

/** What `strategyFromJSON` accepts: every field optional, under its name or any alias. */
export type StrategyInput = { [R in Row as R['name'] | R['aliases'][number]]?: InputOf<R> };

/** Beam search stopping (Hugging Face `early_stopping`). */
export type EarlyStopping = Strategy['earlyStopping'];

export type StrategyFieldName = Row['name'];

/** The defaults of every stored field (Hugging Face's: greedy, 20 new tokens). */
export const DEFAULT_STRATEGY: Readonly<Strategy> = Object.freeze(
  Object.fromEntries(STRATEGY_FIELDS.filter((f) => !('inputOnly' in f)).map((f) => [f.name, f.default])),
) as unknown as Readonly<Strategy>;

/** A fresh copy of the defaults (arrays not shared). */
export function defaultStrategy(): Strategy {
  return structuredClone(DEFAULT_STRATEGY) as Strategy;
}

const BY_KEY = new Map<string, StrategyField>();
for (const f of STRATEGY_FIELDS as readonly StrategyField[]) for (const key of [f.name, ...f.aliases]) BY_KEY.set(key, f);

/** The field a JSON key names (its name or an alias), or undefined. */
export function strategyField(key: string): StrategyField | undefined {
  return BY_KEY.get(key);
}

/** "in (0, 1]", ">= 0", "" for an unbounded range; with the field's note: "in (0, 1] (1 = off)". */
export function rangeText(f: Pick<StrategyField, 'range' | 'note'>): string {
  const r = f.range;
  const num = (x: number) => (x >= 2 ** 32 && Number.isInteger(Math.log2(x)) ? `2^${Math.log2(x)}` : String(x));
  let text = '';
  if (r?.min !== undefined && r.max !== undefined) {
    text = `in ${r.minExclusive ? '(' : '['}${num(r.min)}, ${num(r.max)}${r.maxExclusive ? ')' : ']'}`;
  } else if (r?.min !== undefined) text = `${r.minExclusive ? '>' : '>='} ${num(r.min)}`;
  else if (r?.max !== undefined) text = `${r.maxExclusive ? '<' : '<='} ${num(r.max)}`;
  return f.note ? `${text} (${f.note})` : text;
}

export function inRange(x: number, r: NumberRange | undefined): boolean {
  if (!r) return true;
  if (r.min !== undefined && (r.minExclusive ? x <= r.min : x < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? x >= r.max : x > r.max)) return false;
  return true;
}
