// Image → text training as a method of the shared Trainer: fresh rendered examples every step (OCR and scene
// questions), the loss on the answer tokens only, held-out OCR exact match and VQA accuracy at evaluation, and
// checkpoints that loadVisionGPT reads (config.json with vision_config, the vision tensors, the tokenizer).
import { tf } from '@gptlab/tensor';
import { saveVisionGPT, type VisionGPT } from '@gptlab/model';
import type { OptimizerDefaults } from '../cli/flag-groups';
import { chunkSeeds } from '../train/batches';
import { LocalGradients, type LossFn } from '../train/gradients';
import { cosineSchedule } from '../train/schedule';
import { Trainer, type EvalResult, type TrainerHooks, type TrainerOptions, type TrainResult } from '../train/trainer';
import { makeVisionBatch, type VisionBatch, type VisionData, type VisionTokenizer } from './batch';
import { answerLoss, batchTensors, exactMatch, greedyAnswers } from './evaluate';
import type { VisionExample } from './examples';

/** Something that writes the tokenizer files into a checkpoint (BPETokenizer). */
export type SavableTokenizer = VisionTokenizer & { saveGPT2Files(dir: string): unknown };

export interface VisionRunOptions extends OptimizerDefaults {
  out: string;
  /** Planned steps (when resuming: the run's plan, which a --minutes budget may have set, unless --steps is given). */
  steps: number;
  minutes?: number;
  batchSize: number;
  warmupSteps: number;
  eps: number;
  seed: number;
  /** Train the language model too (else only the encoder and the projector, LLaVA's stage 1). */
  trainLm: boolean;
  evalExamples: number;
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  logEvery: number;
  tensorboard?: string;
  /** Saved in checkpoints (what --resume continues with). */
  config: Record<string, unknown>;
  describe?: Record<string, unknown>;
  resume?: TrainerOptions['resume'];
}

export interface VisionScores {
  ocrExactMatch: number;
  vqaAccuracy: number;
  loss: number;
  /** A few held-out examples with the model's answers. */
  samples: { task: string; prompt: string; expected: string; answer: string }[];
}

export interface VisionRunResult {
  run: TrainResult;
  scores: VisionScores;
  trainable: number;
}

/** Held-out OCR exact match, VQA accuracy and answer loss. */
export async function scoreVision(
  model: VisionGPT,
  tok: VisionTokenizer,
  held: { ocr: VisionExample[]; vqa: VisionExample[] },
  data: VisionData,
): Promise<VisionScores> {
  const size = data.o.size;
  const ocr = await greedyAnswers(model, tok, held.ocr, size);
  const vqa = await greedyAnswers(model, tok, held.vqa, size);
  const loss = await answerLoss(model, tok, [...held.ocr, ...held.vqa], size);
  const sample = (ex: VisionExample, answer: string) => ({ task: ex.task, prompt: ex.prompt, expected: ex.answer, answer });
  return {
    ocrExactMatch: exactMatch(ocr, held.ocr),
    vqaAccuracy: exactMatch(vqa, held.vqa),
    loss,
    samples: [...held.ocr.slice(0, 3).map((ex, i) => sample(ex, ocr[i]!)), ...held.vqa.slice(0, 3).map((ex, i) => sample(ex, vqa[i]!))],
  };
}

export async function trainVision(
  model: VisionGPT,
  tok: SavableTokenizer,
  data: VisionData,
  o: VisionRunOptions,
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
): Promise<VisionRunResult> {
  const held = data.heldOut(o.evalExamples);
  const weights = o.trainLm ? model.namedWeights() : model.vision.namedWeights();
  const params = Object.fromEntries(weights);
  const lossFn: LossFn<VisionBatch> = (b, ctx) => tf.tidy(() => model.loss(...batchTensors(b), { training: ctx.training, seed: ctx.seed }));
  let last: { step: number; scores: VisionScores } | undefined;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const scores = await scoreVision(model, tok, held, data);
    last = { step, scores };
    const s = scores.samples.find((x) => x.task === 'ocr');
    return {
      loss: scores.loss,
      metrics: { ocr_exact_match: scores.ocrExactMatch, vqa_accuracy: scores.vqaAccuracy },
      line: `held-out OCR exact match ${scores.ocrExactMatch.toFixed(3)} · VQA accuracy ${scores.vqaAccuracy.toFixed(3)} · answer loss ${scores.loss.toFixed(4)}`,
      ...(s ? { note: `${JSON.stringify(s.expected)} read as ${JSON.stringify(s.answer)}` } : {}),
    };
  };
  const trainer = new Trainer<VisionBatch>(
    {
      params,
      gradients: new LocalGradients(params, lossFn),
      batches: {
        next: (step) => {
          const b = makeVisionBatch(tok, data.trainExamples(step, o.batchSize), data.o.size);
          return { chunks: [b], seeds: chunkSeeds(o.seed, step, 1), tokens: b.rows * (b.T + model.prefixLength) };
        },
        getState: () => null,
        setState: () => {},
      },
      evaluate,
      saveModel: (dir, step) => saveVisionGPT(model, dir, { tokenizer: tok, metadata: { task: 'vision', step: String(step) } }),
    },
    {
      outDir: o.out,
      config: o.config,
      describe: o.describe,
      optimizer: { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay },
      schedule: (step, total) => cosineSchedule({ lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: total })(step),
      totalSteps: o.steps,
      clip: o.clip,
      evalEvery: o.evalEvery,
      checkpointEvery: o.checkpointEvery,
      keepCheckpoints: o.keepCheckpoints,
      logEvery: o.logEvery,
      minutes: o.minutes,
      resume: o.resume,
      tensorboard: o.tensorboard,
    },
    io,
    hooks,
  );
  const run = await trainer.train();
  const scores = last?.step === run.step ? last.scores : await scoreVision(model, tok, held, data);
  const trainable = Object.values(params).reduce((a, v) => a + v.size, 0);
  return { run, scores, trainable };
}
