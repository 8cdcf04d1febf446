// Token windows for language-model training: seeded random windows of T+1 tokens (inputs = first T,
// targets = last T), and a fixed list of validation windows. The sampler's whole state is one RNG word, so
// a checkpoint can restore the data position exactly.
import { mixSeed, Rng } from '@gptlab/common';

export type TokenArray = Uint16Array | Uint32Array | Int32Array;

/** `rows` windows of T+1 tokens, row-major. */
export interface TokenBatch {
  tokens: Int32Array;
  rows: number;
  T: number;
}

export class WindowSampler {
  private rng: Rng;
  constructor(
    readonly data: TokenArray,
    readonly T: number,
    seed: number,
  ) {
    if (data.length < T + 2) {
      throw new Error(
        `the training split has ${data.length} tokens, fewer than one window of ${T + 1} (+1): lower --block-size or add data`,
      );
    }
    this.rng = new Rng(seed);
  }

  /** Draws `rows` windows. */
  sample(rows: number): TokenBatch {
    const T = this.T;
    const out = new Int32Array(rows * (T + 1));
    const span = this.data.length - T - 1;
    for (let r = 0; r < rows; r++) {
      const start = this.rng.int(span + 1);
      for (let j = 0; j <= T; j++) out[r * (T + 1) + j] = this.data[start + j]!;
    }
    return { tokens: out, rows, T };
  }

  getState(): number {
    return this.rng.getState();
  }
  setState(s: number): void {
    this.rng.setState(s);
  }
}

/** Dropout seeds of the `count` chunks of 0-based step `step`: a pure function of (seed, step), so a resumed run draws the same. */
export function chunkSeeds(seed: number, step: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => mixSeed(mixSeed(seed * 1000003 + step) + i));
}

/** Splits a batch into `parts` batches of equal row counts (rows must divide). */
export function splitBatch(b: TokenBatch, parts: number): TokenBatch[] {
  if (b.rows % parts !== 0) throw new Error(`cannot split ${b.rows} rows into ${parts} equal parts`);
  const per = b.rows / parts;
  const w = b.T + 1;
  return Array.from({ length: parts }, (_, i) => ({ tokens: b.tokens.slice(i * per * w, (i + 1) * per * w), rows: per, T: b.T }));
}

/** Inputs [rows, T] and targets [rows, T] as flat Int32Arrays. */
export function inputsAndTargets(b: TokenBatch): { inputs: Int32Array; targets: Int32Array } {
  const { rows, T } = b;
  const inputs = new Int32Array(rows * T);
  const targets = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const src = r * (T + 1);
    inputs.set(b.tokens.subarray(src, src + T), r * T);
    targets.set(b.tokens.subarray(src + 1, src + T + 1), r * T);
  }
  return { inputs, targets };
}

/**
 * Non-overlapping validation windows in order (stride T), grouped into batches of `rows`, at most
 * `maxBatches` batches: the same windows at every evaluation, so validation losses are comparable.
 */
export function validationBatches(data: TokenArray, T: number, rows: number, maxBatches: number): TokenBatch[] {
  const windows = Math.floor((data.length - 1) / T);
  if (windows < 1) throw new Error(`the validation split has ${data.length} tokens, fewer than one window of ${T + 1}`);
  const n = Math.min(windows, rows * maxBatches);
  const batches: TokenBatch[] = [];
  for (let start = 0; start < n; start += rows) {
    const r = Math.min(rows, n - start);
    const tokens = new Int32Array(r * (T + 1));
    for (let i = 0; i < r; i++) {
      const off = (start + i) * T;
      for (let j = 0; j <= T; j++) tokens[i * (T + 1) + j] = data[off + j]!;
    }
    batches.push({ tokens, rows: r, T });
  }
  return batches;
}

/** Uniform random tokens in [0, vocab) (the bench's batches). */
export class RandomTokenSampler {
  private rng: Rng;
  constructor(
    readonly vocab: number,
    readonly T: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }
  sample(rows: number): TokenBatch {
    const out = new Int32Array(rows * (this.T + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.rng.int(this.vocab);
    return { tokens: out, rows, T: this.T };
  }
  getState(): number {
    return this.rng.getState();
  }
  setState(s: number): void {
    this.rng.setState(s);
  }
}
