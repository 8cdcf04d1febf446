// Public entry points: generate (all results at once) and stream (token by token).

import { createProcessor, type LogitsProcessor } from './processors';
import { beamSearch, rowSearch, type SearchInput } from './search';
import type { Strategy, StrategyInput } from './schema';
import { processorSpecs, strategyFromJSON, StrategyError } from './strategy';
import type { Detokenizer, GenerateResult, LanguageModel, StreamEvent } from './types';

/** Strategy fields (any name or alias of STRATEGY_FIELDS) plus the non-JSON parts of a run. */
export type GenerateOptions = StrategyInput & {
  /** Needed for `text`, stop strings and streaming text deltas. */
  tokenizer?: Detokenizer;
  /** Extra processors, run after the built-in ones (for greedy/sample on logits, for beam on log-probs). */
  logitsProcessors?: LogitsProcessor[];
  /** An already validated strategy (then the strategy fields above must be absent). */
  strategy?: Strategy | StrategyInput;
};

export interface PreparedRun extends SearchInput {
  strategy: Strategy;
}

/** Validate options against the model and the prompt; build the strategy and processors. */
export function prepare(model: LanguageModel, promptIds: number[], options: GenerateOptions): PreparedRun {
  const { tokenizer, logitsProcessors, strategy: given, ...fields } = options;
  if (given !== undefined && Object.keys(fields).length > 0) {
    throw new StrategyError(Object.keys(fields)[0], 'give strategy fields either flat in the options or in options.strategy, not both');
  }
  const V = model.vocabSize;
  const strategy = strategyFromJSON(given ?? fields, { vocabSize: V });
  if (!Array.isArray(promptIds) || promptIds.length === 0) {
    throw new Error('promptIds must be a non-empty array of token ids (GPT-2 starts unconditional text with <|endoftext|> = 50256)');
  }
  promptIds.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new Error(`promptIds[${i}] = ${t} is not a token id in [0, ${V})`);
    }
  });
  if (strategy.stopStrings.length > 0 && !tokenizer) {
    throw new StrategyError('stopStrings', 'stop strings are matched on decoded text: pass options.tokenizer');
  }
  const processors = processorSpecs(strategy).map(createProcessor);
  if (logitsProcessors) processors.push(...logitsProcessors);
  return { model, prompt: promptIds.slice(), strategy, processors, tokenizer };
}

/** Run a decoding strategy; always returns an array of `numReturnSequences` results, best first for beam. */
export async function generateAll(model: LanguageModel, promptIds: number[], options: GenerateOptions = {}): Promise<GenerateResult[]> {
  return runAll(prepare(model, promptIds, options));
}

async function runAll(run: PreparedRun): Promise<GenerateResult[]> {
  if (run.strategy.type === 'beam') return beamSearch(run);
  const it = rowSearch(run);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

/**
 * Run a decoding strategy. Returns one `GenerateResult` when `numReturnSequences` is 1 (the default), an
 * array otherwise (beam: best first; sample: in draw order).
 */
export async function generate(
  model: LanguageModel,
  promptIds: number[],
  options: GenerateOptions = {},
): Promise<GenerateResult | GenerateResult[]> {
  const run = prepare(model, promptIds, options);
  const all = await runAll(run);
  return run.strategy.numReturnSequences === 1 ? all[0] : all;
}

/**
 * Stream a greedy or sampled continuation token by token. Each event carries the token, its raw log-prob and
 * the text delta it completes (never half a UTF-8 character, never text a stop string will trim). The
 * iterator's return value is the final `GenerateResult`.
 */
export async function* stream(
  model: LanguageModel,
  promptIds: number[],
  options: GenerateOptions = {},
): AsyncGenerator<StreamEvent, GenerateResult> {
  const run = prepare(model, promptIds, options);
  if (run.strategy.type === 'beam') {
    throw new StrategyError('type', "streaming needs a single left-to-right sequence: use type 'greedy' or 'sample'");
  }
  if (run.strategy.numReturnSequences !== 1) {
    throw new StrategyError('numReturnSequences', `streaming returns one sequence, got ${run.strategy.numReturnSequences}`);
  }
  const it = rowSearch(run);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value[0];
      yield { token: r.value.token, text: r.value.text, logprob: r.value.logprob };
    }
  } finally {
    await it.return?.([]); // consumer stopped early: release the model session
  }
}

/** One result as JSON: exactly what `gptlab-playground generate --json` prints. */
export type GenerateResultJSON = Pick<GenerateResult, 'ids' | 'text' | 'logprobs' | 'score' | 'finishReason'>;

export function resultToJSON(r: GenerateResult): GenerateResultJSON {
  return { ids: r.ids, text: r.text, logprobs: r.logprobs, score: r.score, finishReason: r.finishReason };
}
