// A FIFO of jobs run one at a time: generation saturates the CPU, so concurrent requests wait their turn
// instead of interleaving (and multiplying memory). A job whose AbortSignal fires while it waits leaves
// the queue without running; when more than `maxPending` jobs wait, new ones are refused (503).
import { HttpError } from './types';

interface Waiting {
  run: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class JobQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];

  constructor(
    readonly concurrency = 1,
    readonly maxPending = 32,
  ) {}

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
      return Promise.reject(new HttpError(503, `server busy: ${this.waiting.length} requests already queued`));
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        let p: Promise<T>;
        try {
          p = job();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          this.running--;
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
