// Pretraining as a training method: next-token prediction on random windows of the training stream, the
// validation loss (and a greedy sample) on fixed windows of the validation stream, and checkpoints that are
// complete Hugging Face directories (the model plus the tokenizer as tokenizer.json, vocab.json and merges.txt).
import { tf } from '@gptlab/tensor';
import { saveGPT, type GPT } from '@gptlab/model';
import type { BPETokenizer } from '@gptlab/tokenizer';
import {
  chunkSeeds,
  WindowSampler,
  validationBatches,
  splitBatch,
  inputsAndTargets,
  type TokenArray,
  type TokenBatch,
} from '../train/batches';
import type { GradientSource } from '../train/gradients';
import type { EvalResult, TrainingMethod } from '../train/trainer';
import { sampleText } from '../sample';

export interface CausalLmSettings {
  blockSize: number;
  batchSize: number;
  gradAccum: number;
  seed: number;
  evalBatches: number;
  sampleTokens: number;
  samplePrompt: string;
}

export interface CausalLmParts {
  model: GPT;
  tokenizer: BPETokenizer;
  tokenizerFile: string;
  params: Record<string, tf.Variable>;
  gradients: GradientSource<TokenBatch>;
  /** Gradient threads: each micro-batch is split into this many equal chunks. */
  workers: number;
  train: TokenArray;
  val: TokenArray;
  flopsPerToken: number;
  peakGflops: number;
  /** A chat template the model came with (--init-from a chat model): kept in every checkpoint. */
  chatTemplate?: string;
}

export function causalLmMethod(s: CausalLmSettings, p: CausalLmParts): TrainingMethod<TokenBatch> {
  const T = s.blockSize;
  const sampler = new WindowSampler(p.train, T, s.seed);
  const valBatches = validationBatches(p.val, T, s.batchSize, s.evalBatches);

  const evaluate = async (): Promise<EvalResult> => {
    let sum = 0;
    let rows = 0;
    for (const b of valBatches) {
      const { inputs, targets } = inputsAndTargets(b);
      const l = tf.tidy(() =>
        p.model.loss(tf.tensor2d(inputs, [b.rows, T], 'int32'), tf.tensor2d(targets, [b.rows, T], 'int32'), { training: false }),
      );
      const v = (await l.data())[0]!;
      l.dispose();
      sum += v * b.rows;
      rows += b.rows;
    }
    const loss = sum / rows;
    let sample: string | undefined;
    if (s.sampleTokens > 0 && Number.isFinite(loss)) {
      try {
        sample = await sampleText(p.model, p.tokenizer, s.samplePrompt, { maxNewTokens: s.sampleTokens });
      } catch (e) {
        sample = `(no sample: ${(e as Error).message})`;
      }
    }
    return {
      loss,
      metrics: { val_ppl: Math.exp(loss), ...(sample !== undefined ? { sample } : {}) },
      line: `val loss ${loss.toFixed(4)} · perplexity ${Math.exp(loss).toFixed(2)}`,
      ...(sample !== undefined ? { note: `sample: ${JSON.stringify(s.samplePrompt + sample)}` } : {}),
    };
  };

  return {
    params: p.params,
    gradients: p.gradients,
    batches: {
      // A step: gradAccum micro-batches, each split equally across the workers; dropout seeds from the step.
      next: (step) => {
        const chunks: TokenBatch[] = [];
        for (let a = 0; a < s.gradAccum; a++) chunks.push(...splitBatch(sampler.sample(s.batchSize), p.workers));
        return { chunks, seeds: chunkSeeds(s.seed, step, chunks.length), tokens: s.batchSize * s.gradAccum * T };
      },
      getState: () => sampler.getState(),
      setState: (state) => sampler.setState(state as number),
    },
    evaluate,
    saveModel: (dir, step) =>
      saveGPT(p.model, dir, { metadata: { step: String(step) }, tokenizer: p.tokenizer, chatTemplate: p.chatTemplate }),
    files: [p.tokenizerFile],
    flopsPerToken: p.flopsPerToken,
    peakGflops: p.peakGflops,
  };
}
