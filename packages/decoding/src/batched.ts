// Continuous batching: many greedy / sampled requests decode together, one batched forward per step for every
// live row, requests joining (the prompts admitted together prefilled in one forward, then appended to the
// batch: batched-prefill.ts) and leaving (finished, aborted) between steps. Each row keeps its own strategy, Rng, processors and stop strings and takes its
// tokens through the same pickRowToken as rowSearch, so a request's ids equal generate()'s for it alone.
//
// The engine under a server: `add` returns a promise per request, `onToken` streams, `signal` cancels (the row
// leaves at the next step). Beam search stays single-sequence: use generate() for it.

import { tf } from '@gptlab/tensor';
import { prepare, type GenerateOptions, type PreparedRun } from './generate';
import { paddingGroups, prefillIntoCache, type BatchedCacheLike, type BatchedGPTLike, type PromptRows } from './batched-prefill';
import { forwardLastLogits, gptLanguageModel, lastLogits, type CacheLike } from './gpt';
import { newRowState, pickRowToken, rowPicker, rowResult, type RowPicker, type RowState } from './search';
import { StrategyError } from './strategy';
import type { FinishReason, GenerateResult, LanguageModel, StreamEvent } from './types';

export type { BatchedCacheLike, BatchedGPTLike } from './batched-prefill';

export interface BatchedRequest extends Omit<GenerateOptions, 'strategy'> {
  /** Prompt token ids. */
  ids: number[];
  /** A greedy or sample strategy (JSON, validated like generate's options), or its fields flat in the request. */
  strategy?: GenerateOptions['strategy'];
  /** Called with every generated token as it is chosen (`index`: which of the numReturnSequences rows). */
  onToken?: (event: BatchedTokenEvent) => void;
  /** Aborting rejects the request with the signal's reason; its rows leave the batch before the next step. */
  signal?: AbortSignal;
}

export interface BatchedTokenEvent extends StreamEvent {
  /** Which of the request's numReturnSequences rows. */
  index: number;
  /** Set on the row's last token: why it ended (its result's finishReason). */
  finishReason: FinishReason | null;
}

export interface BatchedGeneratorOptions {
  /** Most rows decoded together (a request with numReturnSequences n takes n); later requests wait. Default 16. */
  maxBatch?: number;
}

interface Job {
  run: PreparedRun;
  picker: RowPicker;
  rows: Row[];
  /** Tokens generated per row so far: the step of the request's own search. */
  step: number;
  onToken?: (event: BatchedTokenEvent) => void;
  settled: boolean;
  /** Removes the abort listener. */
  release(): void;
  resolve(results: GenerateResult[]): void;
  reject(reason: unknown): void;
}

interface Row {
  job: Job;
  index: number;
  st: RowState;
  /** In the batched cache; false once the row outgrows the context and each step re-encodes its window. */
  inBatch: boolean;
  /** Next-token logits, from the prefill or the last step, until the row picks its token. */
  logits: Float32Array | null;
}

/**
 * The event loop gets a turn between steps: new requests arrive, aborts fire, streamed tokens flush. Node's
 * setImmediate runs right after I/O; setTimeout(0) (browsers) waits ≥ 1 ms, a lot per step of a small model.
 */
const yieldToEventLoop = () =>
  new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Decodes concurrent requests in one batch. `add(request)` resolves to the request's results (one per
 * numReturnSequences row, as generateAll), equal to generateAll() on the same model, prompt and strategy.
 *
 * Each iteration: rows of settled requests leave; one decodeStep advances every row in the batched cache (and
 * rows past the context re-encode their last nPositions tokens); waiting requests are admitted while rows
 * stay ≤ maxBatch (their prompts prefilled together); every row picks its token; the event loop gets a turn.
 */
export class BatchedGenerator<C extends CacheLike, B extends BatchedCacheLike<C>> {
  private readonly lm: LanguageModel;
  private readonly maxBatch: number;
  private readonly waiting: Job[] = [];
  /** Live rows (of unsettled requests, sequences not finished). */
  private rows: Row[] = [];
  /** The rows of the batched cache, in its row order. */
  private cacheRows: Row[] = [];
  private cache: B | null = null;
  private loop: Promise<void> | null = null;
  private closed = false;
  private counters = { steps: 0, tokens: 0, prefills: 0, prefillMs: 0, stepMs: 0, pickMs: 0 };

  constructor(
    private readonly model: BatchedGPTLike<C, B>,
    opts: BatchedGeneratorOptions = {},
  ) {
    const maxBatch = opts.maxBatch ?? 16;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new Error(`BatchedGenerator: maxBatch must be a positive integer, got ${maxBatch}`);
    }
    this.maxBatch = maxBatch;
    this.lm = gptLanguageModel(model);
  }

  /**
   * Rows decoding now, requests waiting for room; so far: batched steps, tokens generated, prompt prefill
   * forwards (one per admission when the model has prefillBatched), and milliseconds spent in prompt
   * prefills, in the batched forwards (decodeStep and window re-encodes) and in picking tokens
   * (processors, sampling, text).
   */
  get stats(): {
    rows: number;
    waiting: number;
    steps: number;
    tokens: number;
    prefills: number;
    prefillMs: number;
    stepMs: number;
    pickMs: number;
  } {
    return { rows: this.rows.length, waiting: this.waiting.length, ...this.counters };
  }

  /** Whether any request is in flight (its model must not be disposed). */
  get busy(): boolean {
    return this.loop !== null;
  }

  /**
   * Resolves once nothing is in flight. Before disposing a model evicted from a cache: stop adding to its
   * generator, then await this.
   */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /**
   * Queues a request; resolves to its numReturnSequences results. Rejects with a StrategyError (or a prompt
   * error) for bad input, with the signal's reason when aborted, with the error of a failing step.
   */
  add(request: BatchedRequest): Promise<GenerateResult[]> {
    return new Promise<GenerateResult[]>((resolve, reject) => {
      if (this.closed) throw new Error('BatchedGenerator.add: the generator was closed');
      const { ids, onToken, signal, ...options } = request;
      const run = prepare(this.lm, ids, options);
      const s = run.strategy;
      if (s.type === 'beam') {
        throw new StrategyError('type', "batched generation runs 'greedy' and 'sample'; run beam search with generate()");
      }
      if (s.numReturnSequences > this.maxBatch) {
        throw new StrategyError('numReturnSequences', `${s.numReturnSequences} rows exceed this generator's maxBatch ${this.maxBatch}`);
      }
      signal?.throwIfAborted();
      const onAbort = () => this.settle(job, signal!.reason);
      const release = () => signal?.removeEventListener('abort', onAbort);
      const job: Job = { run, picker: rowPicker(run), rows: [], step: 0, onToken, settled: false, release, resolve, reject };
      job.rows = Array.from({ length: s.numReturnSequences }, (_, index) => ({
        job,
        index,
        st: newRowState(run),
        inBatch: false,
        logits: null,
      }));
      if (s.maxNewTokens === 0) return this.settle(job, null);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(job);
      this.loop ??= this.runLoop();
    });
  }

  /** Rejects every request in flight, waits for the loop to stop and frees the batched cache. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('BatchedGenerator closed');
    for (const job of [...this.waiting, ...this.rows.map((r) => r.job)]) this.settle(job, error);
    await this.idle();
  }

  private async runLoop(): Promise<void> {
    try {
      await yieldToEventLoop(); // requests of the same tick start together
      while (this.waiting.length > 0 || this.rows.length > 0) {
        try {
          this.dropRows();
          this.timed('stepMs', () => this.step());
          this.timed('prefillMs', () => this.admit());
          this.timed('pickMs', () => this.pickTokens());
        } catch (e) {
          // a failing step (a processor, the model) fails the requests it holds, not the generator
          for (const row of this.rows) this.settle(row.job, e);
          this.rows = [];
          this.cacheRows = [];
          this.cache?.dispose();
          this.cache = null;
        }
        await yieldToEventLoop();
      }
    } finally {
      this.cache?.dispose();
      this.cache = null;
      this.cacheRows = [];
      this.loop = null;
    }
  }

  /** Feeds every live row its last token: one decodeStep for the cached rows, one forward for the windowed. */
  private step(): void {
    const N = this.model.config.nPositions;
    // the cache holds tokens.length − 1 positions: a row whose next position passes N leaves it for good
    for (const r of this.cacheRows) if (r.st.tokens.length > N) r.inBatch = false;
    this.syncCache();
    if (this.cacheRows.length > 0) {
      const B = this.cacheRows.length;
      const out = this.model.decodeStep(
        this.cacheRows.map((r) => r.st.tokens[r.st.tokens.length - 1]!),
        this.cache!,
      );
      const logits = lastLogits(tf.reshape(out, [B, 1, -1]) as tf.Tensor3D);
      out.dispose();
      this.cacheRows.forEach((r, i) => (r.logits = logits[i]!));
      this.counters.steps++;
    }
    const windowed = this.rows.filter((r) => !r.inBatch);
    if (windowed.length > 0) {
      const logits = this.forwardWindows(windowed.map((r) => r.st.tokens));
      windowed.forEach((r, i) => (r.logits = logits[i]!));
    }
  }

  /**
   * Moves waiting requests in while rows stay ≤ maxBatch. Their prompts within the context are prefilled
   * together in one forward (batched-prefill.ts) and join the batched cache; longer ones re-encode windows.
   */
  private admit(): void {
    const jobs: Job[] = [];
    let rows = this.rows.length;
    while (this.waiting.length > 0 && rows + this.waiting[0]!.rows.length <= this.maxBatch) {
      const job = this.waiting.shift()!;
      jobs.push(job);
      rows += job.rows.length;
    }
    const N = this.model.config.nPositions;
    for (const job of jobs.filter((j) => j.run.prompt.length > N)) {
      // longer than the context: every step re-encodes the last N tokens, as gptLanguageModel does
      this.guarded([job], () => {
        const logits = this.forwardWindows([job.run.prompt])[0]!;
        for (const row of job.rows) row.logits = logits;
      });
    }
    const cached = jobs.filter((j) => j.run.prompt.length <= N);
    for (const group of paddingGroups(cached.map((j) => j.run.prompt.length))) this.prefillAll(group.map((i) => cached[i]!));
    for (const job of jobs) if (!job.settled) this.rows.push(...job.rows);
  }

  /** Prefills the jobs' prompts (one forward when the model can batch them) into the batched cache. */
  private prefill(jobs: Job[]): void {
    const prompts: PromptRows[] = jobs.map((j) => ({ prompt: j.run.prompt, rows: j.rows.length }));
    const out = prefillIntoCache(this.model, this.cache, prompts);
    this.cache = out.cache;
    this.counters.prefills += out.forwards;
    jobs.forEach((job, i) => {
      for (const row of job.rows) {
        this.cacheRows.push(row);
        row.inBatch = true;
        row.logits = out.logits[i]!;
      }
    });
  }

  /**
   * Prefills the jobs together; if that fails, one by one, so that only a failing request fails (a model
   * without prefillBatched goes one by one anyway).
   */
  private prefillAll(jobs: Job[]): void {
    if (jobs.length > 1 && this.model.prefillBatched) {
      const before = this.cacheRows.length;
      try {
        return this.prefill(jobs);
      } catch {
        this.truncateCache(before);
      }
    }
    for (const job of jobs) {
      const before = this.cacheRows.length;
      this.guarded(
        [job],
        () => this.prefill([job]),
        () => this.truncateCache(before),
      );
    }
  }

  /** Drops cache rows past the first n (rows a failed prefill added before it threw). */
  private truncateCache(n: number): void {
    if (this.cache && this.cache.batchSize > n) this.cache.reorder(Array.from({ length: n }, (_, i) => i));
  }

  /** Runs fn; if it throws, the jobs fail with its error (not the generator) after `undo`. */
  private guarded(jobs: Job[], fn: () => void, undo?: () => void): void {
    try {
      fn();
    } catch (e) {
      undo?.();
      for (const job of jobs) this.settle(job, e);
    }
  }

  /** Each request's live rows pick their tokens in row order (a shared Rng draws as in rowSearch). */
  private pickTokens(): void {
    const jobs = new Set(this.rows.map((r) => r.job));
    for (const job of jobs) {
      try {
        for (const row of job.rows) {
          if (row.st.finish !== null) continue;
          const ev = pickRowToken(job.picker, row.st, row.logits!, job.step, row.index);
          row.logits = null;
          this.counters.tokens++;
          job.onToken?.({ index: row.index, token: ev.token, text: ev.text, logprob: ev.logprob, finishReason: row.st.finish });
        }
      } catch (e) {
        this.settle(job, e); // e.g. processors that ban every token, a throwing onToken: this request only
      }
      job.step++;
      if (job.rows.every((r) => r.st.finish !== null)) this.settle(job, null);
    }
  }

  /** Settles a request once: null = resolve with its results, anything else = reject with it. */
  private settle(job: Job, error: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.release();
    const i = this.waiting.indexOf(job);
    if (i >= 0) this.waiting.splice(i, 1);
    if (error === null) job.resolve(job.rows.map((r) => rowResult(r.st)));
    else job.reject(error);
  }

  /** Drops the rows of settled requests and finished sequences. */
  private dropRows(): void {
    this.rows = this.rows.filter((r) => !r.job.settled && r.st.finish === null);
    const live = new Set(this.rows);
    for (const r of this.cacheRows) if (!live.has(r)) r.inBatch = false;
    this.syncCache();
  }

  /** Keeps the batched cache's rows equal to the live rows still in it. */
  private syncCache(): void {
    const keep: number[] = [];
    this.cacheRows.forEach((r, i) => r.inBatch && keep.push(i));
    if (keep.length === this.cacheRows.length) return;
    this.cache!.reorder(keep);
    this.cacheRows = keep.map((i) => this.cacheRows[i]!);
  }

  private timed(counter: 'prefillMs' | 'stepMs' | 'pickMs', fn: () => void): void {
    const t0 = performance.now();
    try {
      fn();
    } finally {
      this.counters[counter] += performance.now() - t0;
    }
  }

  /** Next-token logits of each sequence from its last nPositions tokens, re-encoded without a cache. */
  private forwardWindows(seqs: number[][]): Float32Array[] {
    const N = this.model.config.nPositions;
    return forwardLastLogits(
      this.model,
      seqs.map((s) => s.slice(Math.max(0, s.length - N))),
      null,
    );
  }
}
