// A FIFO of jobs run one at a time: generation saturates the CPU, so concurrent requests wait their turn
// instead of interleaving (and multiplying memory). A job whose AbortSignal fires while it waits leaves
// the queue without running; when more than `maxPending` jobs wait, new ones are refused with a 429 whose
// Retry-After estimates when the queue will have drained (from the running average job duration).
import { HttpError } from './types';

interface Waiting {
  run: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export const DEFAULT_MAX_QUEUE = 256;

export class JobQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  /** Exponential moving average of job durations (ms), for Retry-After. */
  private avgJobMs = 0;

  constructor(
    readonly concurrency = 1,
    readonly maxPending = DEFAULT_MAX_QUEUE,
  ) {}

  /** Seconds until the jobs now waiting have probably run (at least 1). */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + this.running) * this.avgJobMs) / this.concurrency / 1000));
  }

  get pending(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** Runs `job` when a slot frees up. Rejects with an AbortError if `signal` fires before it starts. */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.running >= this.concurrency && this.waiting.length >= this.maxPending) {
      return Promise.reject(
        new HttpError(429, `server busy: ${this.waiting.length} requests already queued (--max-queue ${this.maxPending})`, {
          headers: { 'retry-after': String(this.retryAfterSeconds) },
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        const t0 = Date.now();
        let p: Promise<T>;
        try {
          p = job();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          this.running--;
          const ms = Date.now() - t0;
          this.avgJobMs = this.avgJobMs === 0 ? ms : 0.8 * this.avgJobMs + 0.2 * ms;
          this.next();
        });
      };
      if (this.running < this.concurrency) {
        start();
        return;
      }
      const w: Waiting = { run: start, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortError());
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting.push(w);
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.run();
    }
  }
}

export function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}
