// MinHash signatures of document batches, in the calling thread or in a pool of worker threads. The kernel
// itself (shingles, signatures) is minhash-kernel.ts; the worker threads run minhash-worker.ts.
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Rng } from '@gptlab/common';
import { computeBatch, shingleSet as kernelShingleSet, signature, type MinHashBatch } from './minhash-kernel';
import type { MinHashRequest, MinHashWorkerData } from './minhash-worker';

export type { MinHashBatch };

/** The permutation seeds for `numPerm` permutations (deterministic in `seed`). */
export function permutationSeeds(numPerm: number, seed = 1): Uint32Array {
  if (!Number.isInteger(numPerm) || numPerm < 2) throw new Error(`numPerm must be an integer ≥ 2, got ${numPerm}`);
  const rng = new Rng(seed ^ 0x5bd1e995);
  const s = new Uint32Array(numPerm);
  for (let i = 0; i < numPerm; i++) s[i] = rng.u32();
  return s;
}

/** The sorted, unique 32-bit hashes of the word n-grams of `text` (see minhash-kernel.ts). */
export function shingleSet(text: string, ngram = 5): Uint32Array {
  return kernelShingleSet(text, ngram);
}

/** MinHash signature of a shingle set. */
export function minhashSignature(shingles: Uint32Array, seeds: Uint32Array): Uint32Array {
  const out = new Uint32Array(seeds.length);
  signature(shingles, seeds, out, 0);
  return out;
}

/** Shingles + signatures of many texts in the calling thread. */
export function computeMinHashBatch(texts: string[], ngram: number, seeds: Uint32Array): MinHashBatch {
  return computeBatch(texts, ngram, seeds);
}

/** Exact Jaccard similarity of two sorted unique arrays. Two empty sets have similarity 1. */
export function jaccardSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 && nb === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < na && j < nb) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (na + nb - inter);
}

/** Fraction of equal positions in two signatures: the MinHash estimate of Jaccard similarity. */
export function estimateJaccard(a: ArrayLike<number>, b: ArrayLike<number>, aOff = 0, bOff = 0, len = a.length - aOff): number {
  let eq = 0;
  for (let k = 0; k < len; k++) if (a[aOff + k] === b[bOff + k]) eq++;
  return eq / len;
}

export interface MinHashPoolOptions {
  /** Number of worker threads; 0 computes in the calling thread. Default: available cores (at most 4). */
  workers?: number;
  numPerm?: number;
  ngram?: number;
  seed?: number;
}

export function defaultWorkerCount(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores));
}

/**
 * The worker's file: the module next to this one, in this module's format — dist/minhash-worker.js beside the
 * ESM build, dist/minhash-worker.cjs beside the CJS build (tsup's shims give both builds `__filename`), and
 * src/minhash-worker.ts when this file runs from the TypeScript sources (jest).
 */
export function minhashWorkerFile(): string {
  return path.join(__dirname, `minhash-worker${path.extname(__filename)}`);
}

function startWorker(workerData: MinHashWorkerData): Worker {
  const file = minhashWorkerFile();
  if (!file.endsWith('.ts')) return new Worker(file, { workerData });
  // Node cannot load TypeScript by itself: the worker first registers tsx's require hook (a dev dependency),
  // which compiles minhash-worker.ts and the kernel on the fly. Only the sources take this path.
  const tsx = createRequire(__filename).resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(file)});`, { eval: true, workerData });
}

type Pending = Map<number, { resolve: (b: MinHashBatch) => void; reject: (e: Error) => void }>;

/** Computes MinHash signatures of batches of texts in worker threads. */
export class MinHashPool {
  readonly numPerm: number;
  readonly ngram: number;
  readonly seeds: Uint32Array;
  readonly workerCount: number;
  private workers: Worker[] = [];
  private pending: Pending[] = [];
  private nextId = 0;
  private closed = false;
  /** Set when a worker died: every later batch fails with it instead of waiting forever. */
  private failure: Error | null = null;

  constructor(opts: MinHashPoolOptions = {}) {
    this.numPerm = opts.numPerm ?? 128;
    this.ngram = opts.ngram ?? 5;
    if (!Number.isInteger(this.ngram) || this.ngram < 1) throw new Error(`ngram must be an integer ≥ 1, got ${this.ngram}`);
    this.seeds = permutationSeeds(this.numPerm, opts.seed ?? 1);
    this.workerCount = opts.workers ?? defaultWorkerCount();
    for (let w = 0; w < this.workerCount; w++) {
      const worker = startWorker({ seeds: Array.from(this.seeds), ngram: this.ngram });
      const pending: Pending = new Map();
      worker.on('message', (msg: { id: number; error?: string } & MinHashBatch) => {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (pending.size === 0) worker.unref();
        if (msg.error) p.reject(new Error(`MinHash worker failed: ${msg.error}`));
        else p.resolve({ sigs: msg.sigs, offsets: msg.offsets, data: msg.data });
      });
      worker.on('error', (e) => this.fail(new Error(`MinHash worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`MinHash worker exited with code ${code}`));
      });
      worker.unref();
      this.workers.push(worker);
      this.pending.push(pending);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending) {
      for (const q of p.values()) q.reject(e);
      p.clear();
    }
  }

  /** Shingle sets and signatures of `texts` (in order). */
  compute(texts: string[]): Promise<MinHashBatch> {
    if (this.closed) return Promise.reject(new Error('MinHashPool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.workerCount === 0) {
      try {
        return Promise.resolve(computeBatch(texts, this.ngram, this.seeds));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    let best = 0;
    for (let w = 1; w < this.workers.length; w++) if (this.pending[w]!.size < this.pending[best]!.size) best = w;
    const id = this.nextId++;
    return new Promise<MinHashBatch>((resolve, reject) => {
      const pending = this.pending[best]!;
      if (pending.size === 0) this.workers[best]!.ref(); // keep the process alive while work is outstanding
      pending.set(id, { resolve, reject });
      const request: MinHashRequest = { id, texts };
      this.workers[best]!.postMessage(request);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Awaiting termination must keep the process alive: idle workers are unref'd, and a terminate() promise can
    // stay pending with no handle behind it, so that a process with nothing else to do exited in the middle of
    // close() (seen when a mixture closes several pipelines at once, stdin not a pipe). A timer holds the event
    // loop open, and bounds the wait.
    for (const w of this.workers) w.ref();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.workers.map((w) => w.terminate())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000))),
    ]);
    clearTimeout(timer);
    for (const p of this.pending) {
      for (const q of p.values()) q.reject(new Error('MinHashPool closed'));
      p.clear();
    }
  }
}
