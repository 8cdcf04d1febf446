import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, initBackend } from '@gptlab/tensor';
import { getPreset, type GPTConfig } from '../src';

// The float64 references and deterministic inputs every numeric test in gptlab shares.
export { maxAbsDiff, logSoftmaxRows, randomIds } from '@gptlab/common/testing';

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

export function ids2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
}

export function tmpDir(prefix = 'gptlab-model-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export { tf };

/** The tiny GPT the native decoding tests run (2 layers × 64, 48 positions, 300 tokens, no dropout). */
export function tinyDecodeConfig(postLN = false): GPTConfig {
  return getPreset('gpt2-small', {
    nLayer: 2,
    nHead: 4,
    nEmbd: 64,
    nPositions: 48,
    vocabSize: 300,
    postLN,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  });
}
