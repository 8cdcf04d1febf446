// Continuous batching for one loaded model: @gptlab/decoding's BatchedGenerator behind the server's BatchEngine.
// Concurrent greedy / sample requests advance together, one batched forward per step, each getting exactly the
// ids it would get alone. The weights of an evicted model must outlive the batch: a request that was aborted has
// already released its model lease while its row is still in the batched cache until the next step, so the
// model is disposed only once the engine has gone idle.
import { BatchedGenerator, StrategyError, resultToJSON, type Detokenizer, type GenerateResult as DecodingResult } from '@gptlab/decoding';
import type { BatchedKVCache, GPT, KVCache } from '@gptlab/model';
import { abortError } from './queue';
import { HttpError, type BatchEngine, type GenerateHooks, type GenerateRequest, type GenerateResult } from './types';

/** `serve --max-batch`'s default: rows decoded together per model (1: one generation at a time, no batching). */
export const DEFAULT_MAX_BATCH = 8;

/** The first (best) result's JSON, with every sequence when there are several. */
export function withSequences(all: DecodingResult[]): GenerateResult {
  const first = resultToJSON(all[0]!);
  return all.length === 1 ? first : { ...first, sequences: all.map(resultToJSON) };
}

export class ModelBatchEngine implements BatchEngine {
  /** Created on the first batched request (a model only used by the CLI never allocates one). */
  private engine: BatchedGenerator<KVCache, BatchedKVCache> | null = null;
  private unloading = false;

  constructor(
    private readonly gpt: GPT,
    private readonly tokenizer: Detokenizer | undefined,
    readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 2) throw new Error(`ModelBatchEngine: maxBatch must be an integer ≥ 2, got ${maxBatch}`);
  }

  accepts(req: GenerateRequest): boolean {
    // An image request decodes alone: its visual prefix is not in the batched cache's rows.
    return !this.unloading && !req.image && req.strategy.type !== 'beam' && req.strategy.numReturnSequences <= this.maxBatch;
  }

  get rows(): number {
    return this.engine?.stats.rows ?? 0;
  }

  get waiting(): number {
    return this.engine?.stats.waiting ?? 0;
  }

  /** The engine's counters (steps, tokens, time in prefill / batched steps / token picking), for benchmarks. */
  get stats(): BatchedGenerator<KVCache, BatchedKVCache>['stats'] | null {
    return this.engine?.stats ?? null;
  }

  /** Whether a request is in flight (rows in the batch, or one waiting). */
  get busy(): boolean {
    return this.engine?.busy ?? false;
  }

  async generate(req: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult> {
    if (this.unloading) throw new HttpError(503, 'the model is being unloaded: retry the request');
    this.engine ??= new BatchedGenerator(this.gpt, { maxBatch: this.maxBatch });
    const { onToken, signal } = hooks;
    try {
      const all = await this.engine.add({
        ids: req.promptIds,
        strategy: req.strategy,
        tokenizer: this.tokenizer,
        signal,
        // Streams carry the first sequence; the others (numReturnSequences > 1) come with the result.
        onToken:
          onToken &&
          ((ev) => {
            if (ev.index === 0) onToken({ token: ev.token, text: ev.text, logprob: ev.logprob });
          }),
      });
      return withSequences(all);
    } catch (e) {
      // The engine rejects with the signal's reason (a DOMException); the server's routes look for an AbortError.
      if (signal?.aborted) throw abortError();
      if (e instanceof StrategyError) throw new HttpError(400, e.message, { param: e.field });
      throw e;
    }
  }

  /** Takes no more requests, then runs `dispose` once the batch holds nothing (at once when it is idle already). */
  disposeWhenIdle(dispose: () => void): void {
    this.unloading = true;
    if (this.engine?.busy) void this.engine.idle().then(dispose);
    else dispose();
  }
}
