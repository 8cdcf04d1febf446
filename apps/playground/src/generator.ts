// Where the server schedules generations. Every text generation of /api/generate and /v1 goes through a
// `Generator`: `QueuedGenerator` runs them one at a time through the JobQueue (FIFO, bounded, 429 past
// --max-queue); `BatchingGenerator` (the server's default) sends the greedy / sample requests of a model with a
// batch engine into it (continuous batching: up to --max-batch of them advance in one forward pass per step)
// and everything else (beams, models without an engine, attention and top alternatives) through the queue.
// Both receive the same jobs, their AbortSignals (client gone, --request-timeout) and token callbacks.
import { JobQueue, abortError } from './queue';
import { HttpError, type BatchEngine, type GenerateHooks, type GenerateRequest, type GenerateResult, type LoadedModel } from './types';

export interface Generator {
  /**
   * Generates `request` on `model` once capacity allows. Rejects with HttpError(429) when too many wait, with an
   * AbortError when `hooks.signal` fires (waiting or running: the slot is freed either way).
   */
  generate(model: LoadedModel, request: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult>;
  /** Any other model work (attention, top alternatives) under the same capacity limit. */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Jobs running and waiting now (for /api/health). */
  readonly active: number;
  readonly pending: number;
  /** Where `request` would wait if submitted now: 0 when it would start at once, else its place in line. */
  queuePosition(model: LoadedModel, request: GenerateRequest): number;
}

/** One generation at a time, in arrival order: generation saturates the CPU, so interleaving would not help. */
export class QueuedGenerator implements Generator {
  constructor(readonly queue: JobQueue = new JobQueue()) {}

  generate(model: LoadedModel, request: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult> {
    const { onStart, ...modelHooks } = hooks;
    return this.queue.run(() => {
      onStart?.();
      return model.generate(request, modelHooks);
    }, hooks.signal);
  }

  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.run(job, signal);
  }

  get active(): number {
    return this.queue.active;
  }

  get pending(): number {
    return this.queue.pending;
  }

  queuePosition(): number {
    return this.queue.active >= this.queue.concurrency ? this.queue.pending + 1 : 0;
  }
}

/**
 * Continuous batching where the model has a batch engine (RealModel with --max-batch ≥ 2), the queue otherwise.
 * Each engine holds `maxBatch` running requests and, like the queue, `queue.maxPending` waiting ones: past
 * that a request is refused with a 429 whose Retry-After estimates when the waiting ones will have run. Batched
 * generations and queued jobs (a beam search, an attention map) run side by side, interleaved step by step on
 * the event loop.
 */
export class BatchingGenerator implements Generator {
  private readonly queued: QueuedGenerator;
  /** Requests submitted and not yet settled, per engine. */
  private readonly inFlight = new Map<BatchEngine, number>();
  /** Exponential moving average of batched request durations (ms), for Retry-After. */
  private avgRequestMs = 0;

  constructor(readonly queue: JobQueue = new JobQueue()) {
    this.queued = new QueuedGenerator(queue);
  }

  async generate(model: LoadedModel, request: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult> {
    const engine = model.batch;
    if (!engine?.accepts(request)) return this.queued.generate(model, request, hooks);
    const { onStart, onToken, signal } = hooks;
    if (signal?.aborted) throw abortError();
    const count = this.inFlight.get(engine) ?? 0;
    const waiting = count - engine.maxBatch;
    if (waiting >= this.queue.maxPending) {
      const seconds = Math.max(1, Math.ceil(((waiting + 1) * this.avgRequestMs) / engine.maxBatch / 1000));
      throw new HttpError(429, `server busy: ${waiting} requests already queued (--max-queue ${this.queue.maxPending})`, {
        headers: { 'retry-after': String(seconds) },
      });
    }
    // A request with a free row starts now; one that waits starts with its first token.
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      onStart?.();
    };
    if (waiting < 0) start();
    this.inFlight.set(engine, count + 1);
    const t0 = Date.now();
    try {
      const result = await engine.generate(request, {
        signal,
        onToken: (ev) => {
          start();
          onToken?.(ev);
        },
      });
      start();
      const ms = Date.now() - t0;
      this.avgRequestMs = this.avgRequestMs === 0 ? ms : 0.8 * this.avgRequestMs + 0.2 * ms;
      return result;
    } finally {
      const left = this.inFlight.get(engine)! - 1;
      if (left > 0) this.inFlight.set(engine, left);
      else this.inFlight.delete(engine);
    }
  }

  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.run(job, signal);
  }

  /** Queued jobs running plus batched requests holding rows. */
  get active(): number {
    let n = this.queue.active;
    for (const [engine, count] of this.inFlight) n += count - engine.waiting;
    return n;
  }

  get pending(): number {
    let n = this.queue.pending;
    for (const engine of this.inFlight.keys()) n += engine.waiting;
    return n;
  }

  queuePosition(model: LoadedModel, request: GenerateRequest): number {
    const engine = model.batch;
    if (!engine?.accepts(request)) return this.queued.queuePosition();
    const waiting = (this.inFlight.get(engine) ?? 0) - engine.maxBatch;
    return waiting < 0 ? 0 : waiting + 1;
  }
}
