// `gptlab-train vision [--minutes N] [--out DIR] [--json] [--seed S] [--train-lm] [--init-from DIR]`: GPT-4's
// image input in miniature. A small ViT encoder + LLaVA projector whose visual tokens prefix a plain GPT, trained
// on the shared Trainer on rendered WordNet words (OCR) and shape scenes (questions); --json prints the held-out
// ocr_exact_match and vqa_accuracy.
import type { FlagValue } from '@gptlab/common/node';
import { UsageError } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import {
  GPT,
  VISION_DEFAULTS,
  numPatches,
  VisionEncoder,
  VisionGPT,
  loadGPT,
  loadVisionGPT,
  type GPTConfig,
  type VisionConfig,
} from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, optimizerFlags, runFlags, seedFlag, TENSORBOARD_FLAG } from '../cli/flag-groups';
import { defaultsOf, settingsOf } from '../cli/settings';
import { initCheckpointDir } from '../pretrain/init-from';
import { readTrainerState, resolveCheckpoint, resumedSettings, runDirOf } from '../train/checkpoint';
import { VisionData } from '../vision/batch';
import { trainVision, type VisionRunOptions } from '../vision/method';

const FLAGS = {
  minutes: { type: 'float' as const, help: 'time budget: after a few steps the step count is set to fit it' },
  steps: { type: 'int' as const, min: 1, help: 'optimizer steps (the cosine schedule ends here)', default: 3000 },
  'batch-size': { type: 'int' as const, min: 1, help: 'images per step', default: 32 },
  ...optimizerFlags({ lr: 2e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.99, clip: 1 }),
  'warmup-steps': { type: 'int' as const, min: 0, help: 'linear warm-up steps', default: 50 },
  seed: seedFlag(0, 'seed of the initialisation, the held-out split of words and scenes, and the rendered data'),
  'train-lm': {
    type: 'bool' as const,
    help: 'also train the language model (always on without --init-from: a fresh language model has nothing to keep)',
  },
  'init-from': {
    type: 'string' as const,
    help: 'a text GPT checkpoint to start the language model from (its tokenizer too)',
    metavar: 'DIR',
  },
  'ocr-fraction': {
    type: 'float' as const,
    min: 0,
    max: 1,
    help: 'share of training images that are words (the rest: scenes)',
    default: 0.7,
  },
  'eval-examples': { type: 'int' as const, min: 1, help: 'held-out OCR images and held-out scene questions each', default: 200 },
  'n-embd': { type: 'int' as const, min: 1, help: 'language model width (fresh language model)', default: 96 },
  'n-layer': { type: 'int' as const, min: 1, help: 'language model blocks (fresh language model)', default: 2 },
  'n-head': { type: 'int' as const, min: 1, help: 'language model heads (fresh language model)', default: 4 },
  'vision-width': { type: 'int' as const, min: 1, help: 'image encoder width', default: VISION_DEFAULTS.hiddenSize },
  'vision-layers': { type: 'int' as const, min: 1, help: 'image encoder blocks', default: VISION_DEFAULTS.nLayer },
  ...runFlags({ out: 'runs/vision', evalEvery: 250, checkpointEvery: 500 }),
  tensorboard: TENSORBOARD_FLAG,
  json: JSON_FLAG,
};

type VisionSettings = Omit<VisionRunOptions, 'config' | 'describe' | 'resume'> & {
  initFrom?: string;
  ocrFraction: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  visionWidth: number;
  visionLayers: number;
};

const NOT_SETTINGS = ['resume', 'json'];
const RESUME_CHANGEABLE = ['out', 'evalEvery', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'steps', 'tensorboard', 'minutes'];

/** A byte-level vocabulary (256 bytes + <|endoftext|>, no merges): one token per character of the ASCII answers. */
function byteTokenizer(): BPETokenizer {
  return BPETokenizer.train([], { vocabSize: 257, specialTokens: ['<|endoftext|>'] });
}

/** The model and tokenizer: a checkpoint to resume, a text GPT to extend, or fresh ones. */
async function buildModel(s: VisionSettings, resumeDir?: string): Promise<{ model: VisionGPT; tok: BPETokenizer }> {
  if (resumeDir) return { model: await loadVisionGPT(resumeDir), tok: BPETokenizer.fromDir(resumeDir) };
  const vision: VisionConfig = { ...VISION_DEFAULTS, hiddenSize: s.visionWidth, nLayer: s.visionLayers };
  if (s.visionWidth % vision.nHead !== 0)
    throw new UsageError(`--vision-width must be a multiple of ${vision.nHead} (the encoder's heads)`);
  if (s.initFrom) {
    const tok = BPETokenizer.fromDir(s.initFrom);
    const gpt = await loadGPT(s.initFrom);
    // The visual tokens, the longest question (~30 tokens) and its answer must fit the context.
    if (gpt.config.nPositions < numPatches(vision) + 64) {
      gpt.dispose();
      throw new UsageError(
        `--init-from ${s.initFrom}: nPositions = ${gpt.config.nPositions} cannot hold ${numPatches(vision)} visual tokens and a question`,
      );
    }
    return { model: new VisionGPT(gpt, VisionEncoder.create(vision, gpt.config.nEmbd, s.seed)), tok };
  }
  const tok = byteTokenizer();
  const text: GPTConfig = {
    vocabSize: tok.vocabSize,
    nPositions: 128,
    nEmbd: s.nEmbd,
    nLayer: s.nLayer,
    nHead: s.nHead,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: false,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
    eosTokenId: tok.eosId,
  };
  return { model: new VisionGPT(GPT.create(text, { seed: s.seed }), VisionEncoder.create(vision, s.nEmbd, s.seed)), tok };
}

export const visionCommand: TrainerCommand = {
  name: 'vision',
  summary: 'image → text (GPT-4 visual input in miniature): ViT encoder + projector prefixing a GPT; OCR and scene questions',
  usage: 'vision [--minutes N] [--out DIR] [--json] [--seed S] [--train-lm] [--init-from DIR] [flags]',
  details:
    "Data is rendered in code: WordNet words with gptlab's 5×7 font (held out by word) and shape scenes with questions " +
    '(held out by scene). The checkpoint is a GPT folder with vision_config in config.json (loadVisionGPT; ' +
    '`gptlab-playground generate --image FILE.png` reads it). --json prints ocr_exact_match and vqa_accuracy on the held-out split.',
  flags: FLAGS,
  async run({ flags }, io) {
    const given = settingsOf(flags, NOT_SETTINGS) as Partial<VisionSettings>;
    let s: VisionSettings;
    let resume: VisionRunOptions['resume'];
    if (typeof flags.resume === 'string') {
      const dir = resolveCheckpoint(flags.resume);
      const state = readTrainerState(dir);
      s = resumedSettings(state.config as unknown as VisionSettings, given, RESUME_CHANGEABLE);
      if (given.out === undefined) s.out = runDirOf(dir);
      s.steps = given.steps ?? state.totalSteps;
      resume = { dir, state };
    } else {
      s = { ...(defaultsOf(FLAGS) as Record<string, FlagValue>), ...given } as unknown as VisionSettings;
      if (s.initFrom) s.initFrom = initCheckpointDir(s.initFrom);
      else s.trainLm = true;
      s.trainLm = s.trainLm === true;
    }
    if (s.minutes !== undefined && !(s.minutes > 0)) throw new UsageError(`--minutes must be > 0, got ${s.minutes}`);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const { model, tok } = await buildModel(s, resume?.dir);
    const size = { height: model.vision.config.imageHeight, width: model.vision.config.imageWidth };
    const data = new VisionData({ size, seed: s.seed, ocrFraction: s.ocrFraction });
    io.stderr(
      `vision: ${data.words.train.length} training words, ${data.words.heldOut.length} held out · ${model.prefixLength} visual tokens of a ${size.height}×${size.width} image · ` +
        `${s.trainLm ? 'training encoder, projector and language model' : 'language model frozen'}\n`,
    );
    const interrupt = interruptOnSigint(io);
    try {
      const r = await trainVision(model, tok, data, { ...s, config: s as unknown as Record<string, unknown>, resume }, io, {
        shouldStop: interrupt.requested,
      });
      const result = {
        ocr_exact_match: r.scores.ocrExactMatch,
        vqa_accuracy: r.scores.vqaAccuracy,
        answer_loss: r.scores.loss,
        held_out: s.evalExamples,
        samples: r.scores.samples,
        steps: r.run.step,
        trainable_parameters: r.trainable,
        seconds: r.run.seconds,
        run_dir: r.run.runDir,
        checkpoint: r.run.checkpoint,
        reason: r.run.reason,
      };
      printResult(io, flags.json === true, result, () => [
        `vision: held-out OCR exact match ${(100 * result.ocr_exact_match).toFixed(1)}%, VQA accuracy ${(100 * result.vqa_accuracy).toFixed(1)}% ` +
          `(${result.steps} steps, ${result.seconds.toFixed(0)} s) · ${result.checkpoint ?? result.run_dir}`,
        ...result.samples.map((x) => `  [${x.task}] ${x.prompt} → ${JSON.stringify(x.answer)} (expected ${JSON.stringify(x.expected)})`),
      ]);
      return result.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      model.dispose();
    }
  },
};
