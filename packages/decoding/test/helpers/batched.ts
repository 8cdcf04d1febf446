// Shared by the continuous-batching tests: the two real tiny GPTs and "equals generateAll alone".
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT } from '@gptlab/model';
import { generateAll, gptLanguageModel, type BatchedRequest, type GenerateResult } from '../../src';

export interface BatchedModels {
  /** vocab 256, context 64: byte-level text for stop strings */
  ckpt: GPT;
  /** context 16: rows slide their window */
  small: GPT;
}

/** Loads the models before the file's tests and disposes them after; read the fields inside tests. */
export function useBatchedModels(): BatchedModels {
  const models = {} as BatchedModels;
  beforeAll(async () => {
    await initBackend();
    models.ckpt = await loadGPT(path.join(__dirname, '..', 'fixtures', 'tiny-gpt2'));
    models.small = GPT.create(getPreset('gpt2-small', { vocabSize: 97, nPositions: 16, nEmbd: 32, nLayer: 2, nHead: 4 }), { seed: 3 });
  });
  afterAll(() => {
    models.ckpt?.dispose();
    models.small?.dispose();
  });
  return models;
}

/** What generateAll gives for the request alone. */
export function alone(model: GPT, req: BatchedRequest): Promise<GenerateResult[]> {
  const { ids, onToken: _t, signal: _s, ...options } = req;
  return generateAll(gptLanguageModel(model), ids, options);
}

/** Same ids, text and finish reasons; log-probs within 1e-4. */
export function expectSame(got: GenerateResult[], want: GenerateResult[]): void {
  expect(got.map((r) => r.ids)).toEqual(want.map((r) => r.ids));
  expect(got.map((r) => [r.text, r.finishReason])).toEqual(want.map((r) => [r.text, r.finishReason]));
  got.forEach((r, i) => r.logprobs.forEach((lp, j) => expect(Math.abs(lp - want[i]!.logprobs[j]!)).toBeLessThan(1e-4)));
}
