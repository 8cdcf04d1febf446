import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, initBackend } from '@gptlab/tensor';

export const FIXTURES = path.join(__dirname, 'fixtures');

export interface RefSequence {
  ids: number[];
  next_token_logprobs: number[];
  rows: Record<string, number[]>;
}
export interface RefCheckpoint {
  sequences: RefSequence[];
  greedy?: { prompt: number[]; ids: number[]; logprobs: number[] };
  beam?: { prompt: number[]; num_beams: number; n: number; beams: { ids: number[]; score: number }[] };
}

export function reference(): Record<string, RefCheckpoint> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8')) as Record<string, RefCheckpoint>;
}

/** The backend under test: GPTLAB_BACKEND when set, else the automatic choice. */
export async function setup(): Promise<string> {
  return initBackend();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Log-softmax of each row of logits, in float64. */
export function logSoftmaxRows(logits: ArrayLike<number>, vocab: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / vocab; r++) {
    let m = -Infinity;
    for (let j = 0; j < vocab; j++) m = Math.max(m, logits[r * vocab + j]!);
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(logits[r * vocab + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < vocab; j++) out[r * vocab + j] = logits[r * vocab + j]! - lse;
  }
  return out;
}

export function ids2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
}

export function tmpDir(prefix = 'gptlab-model-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Deterministic token ids in [0, vocab). */
export function randomIds(n: number, vocab: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.push((s >>> 0) % vocab);
  }
  return out;
}

export { tf };
