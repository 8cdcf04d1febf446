// Flags that several commands share, written once: the model's shape, the batch, the corpus, the optimizer,
// the run directory and its checkpoints. Each command spreads the groups it takes, with its own defaults.
import type { FlagSpec, FlagSpecs } from '@gptlab/common/node';

export interface ShapeDefaults {
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  blockSize: number;
  batchSize: number;
}

/** The model's shape and the batch: pretrain, demo, bench. */
export function shapeFlags(d: ShapeDefaults): FlagSpecs {
  return {
    'n-layer': { type: 'int', min: 1, help: 'transformer blocks', default: d.nLayer },
    'n-head': { type: 'int', min: 1, help: 'attention heads (must divide --n-embd)', default: d.nHead },
    'n-embd': { type: 'int', min: 1, help: 'model width', default: d.nEmbd },
    'block-size': { type: 'int', min: 1, help: 'training context length T', default: d.blockSize },
    'batch-size': { type: 'int', min: 1, help: 'sequences per micro-batch (split across workers)', default: d.batchSize },
  };
}

export function vocabSizeFlag(vocabSize: number, help = 'vocabulary of the tokenizer trained on the corpus'): FlagSpec {
  return { type: 'int', min: 257, help, default: vocabSize };
}

export function corpusFlag(help: string, fallback?: string): FlagSpec {
  return { type: 'list', help, metavar: 'SPEC,...', ...(fallback !== undefined ? { default: [fallback] } : {}) };
}

export function seedFlag(seed: number, help = 'seed of the initialisation, data order and dropout'): FlagSpec {
  return { type: 'int', help, default: seed };
}

export const WORKERS_FLAG: FlagSpec = { type: 'int', min: 1, help: 'gradient worker threads (default: all cores on plain wasm, else 1)' };
export const JSON_FLAG: FlagSpec = { type: 'bool', help: 'print the result as one JSON line' };
export const MODEL_DIR_FLAG: FlagSpec = {
  type: 'string',
  required: true,
  help: 'checkpoint directory (Hugging Face layout with tokenizer files)',
  metavar: 'DIR',
};

/** JSONL text sources: data prepare, data dedup, tokenizer train. */
export const TEXT_FIELD_FLAGS: FlagSpecs = {
  field: { type: 'string', help: 'JSONL text field', default: 'text' },
  'skip-bad': { type: 'bool', help: 'skip and count malformed JSONL lines instead of failing' },
};

export interface OptimizerDefaults {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clip: number;
}

/** AdamW and clipping: pretrain (GPT-3's settings) and finetune (GPT-1's). */
export function optimizerFlags(d: OptimizerDefaults): FlagSpecs {
  return {
    lr: { type: 'float', help: 'peak learning rate (> 0)', default: d.lr },
    'weight-decay': { type: 'float', min: 0, help: 'AdamW decoupled weight decay on matrices', default: d.weightDecay },
    beta1: { type: 'float', min: 0, help: 'AdamW β1 (below 1)', default: d.beta1 },
    beta2: { type: 'float', min: 0, help: 'AdamW β2 (below 1)', default: d.beta2 },
    eps: { type: 'float', help: 'AdamW ε (> 0)', default: 1e-8 },
    clip: { type: 'float', min: 0, help: 'gradient clipping global norm (0 = off)', default: d.clip },
  };
}

export interface RunDefaults {
  out: string;
  evalEvery?: number;
  checkpointEvery?: number;
}

/** The run directory, evaluation, checkpoints, resume and the progress line: pretrain and finetune. */
export function runFlags(d: RunDefaults): FlagSpecs {
  return {
    out: { type: 'string', help: 'run directory (config, metrics.jsonl, loss.svg, checkpoints)', default: d.out, metavar: 'DIR' },
    'eval-every': { type: 'int', min: 1, help: 'steps between evaluations (and at the end)', default: d.evalEvery },
    'checkpoint-every': { type: 'int', min: 1, help: 'steps between checkpoints (and at the end)', default: d.checkpointEvery },
    'keep-checkpoints': { type: 'int', min: 1, help: 'complete checkpoints kept', default: 2 },
    resume: { type: 'string', help: 'continue a run: its directory or one checkpoint directory', metavar: 'DIR' },
    'log-every': { type: 'int', min: 1, help: 'steps between progress lines when stderr is not a terminal', default: 10 },
  };
}

/** TensorBoard event files next to metrics.jsonl (the Trainer's commands: pretrain, finetune). */
export const TENSORBOARD_FLAG: FlagSpec = {
  type: 'string',
  help: 'also write TensorBoard event files (loss, lr, grad norm, tokens/s, validation) into DIR',
  metavar: 'DIR',
};
