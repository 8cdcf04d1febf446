// `gptlab-train finetune --task cls|entail|sim|mc --model DIR`: GPT-1 supervised fine-tuning of a pretrained
// checkpoint (L2 + λ·L1) on a WordNet task (default) or a user's JSONL task files, on the shared Trainer
// (checkpoints, --resume, metrics.jsonl, loss.svg); reports dev/test accuracy.
import { UsageError, type FlagSpecs } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT, loadGPT, TaskHead } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, MODEL_DIR_FLAG, optimizerFlags, runFlags, seedFlag, TENSORBOARD_FLAG } from '../cli/flag-groups';
import { defaultsOf, settingsOf } from '../cli/settings';
import { finetune, FINETUNE_DEFAULTS, prepareForTasks } from '../finetune/finetune';
import { TASK_KINDS, type TaskKind } from '../finetune/formats';
import { readTaskFile } from '../finetune/jsonl';
import { buildWordNetTask, type TaskDataset } from '../finetune/wordnet-tasks';
import { readTrainerState, resolveCheckpoint, resumedSettings, runDirOf } from '../train/checkpoint';

export interface FinetuneSettings {
  task: TaskKind;
  model: string;
  data?: string;
  dev?: string;
  test?: string;
  labels?: string[];
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
  warmupFraction: number;
  auxLmWeight: number;
  clfDropout: number;
  trainLimit: number;
  evalLimit: number;
  maxSteps?: number;
  fromScratch?: boolean;
  truncate?: boolean;
  seed: number;
  out: string;
  evalEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints: number;
  logEvery: number;
  tensorboard?: string;
}

const d = FINETUNE_DEFAULTS;
const FLAGS: FlagSpecs = {
  task: { type: 'string', choices: TASK_KINDS, help: 'task format (required unless --resume)' },
  model: { ...MODEL_DIR_FLAG, required: false, help: 'pretrained checkpoint directory, e.g. from `pretrain` (required unless --resume)' },
  data: { type: 'string', help: 'training examples (JSONL); default: the built-in WordNet task', metavar: 'FILE' },
  dev: { type: 'string', help: 'dev examples (JSONL)', metavar: 'FILE' },
  test: { type: 'string', help: 'test examples (JSONL)', metavar: 'FILE' },
  labels: { type: 'list', help: 'label names in index order (default: from the training file)' },
  epochs: { type: 'int', min: 1, help: 'epochs over the training set', default: d.epochs },
  'batch-size': { type: 'int', min: 1, help: 'examples per step', default: d.batchSize },
  'max-steps': { type: 'int', min: 1, help: 'stop after this many steps' },
  ...optimizerFlags({ lr: d.lr, weightDecay: d.weightDecay, beta1: d.beta1, beta2: d.beta2, clip: d.clip }),
  'warmup-fraction': {
    type: 'float',
    min: 0,
    max: 1,
    help: 'share of the steps spent warming up (then linear decay to 0)',
    default: d.warmupFraction,
  },
  'aux-lm-weight': { type: 'float', min: 0, help: 'λ of the auxiliary LM loss (0 turns it off)', default: d.auxLmWeight },
  'clf-dropout': { type: 'float', min: 0, max: 0.99, help: 'dropout on the extracted hidden state', default: d.clfDropout },
  'train-limit': { type: 'int', min: 1, help: 'WordNet task: training examples', default: 2000 },
  'eval-limit': { type: 'int', min: 1, help: 'WordNet task: dev and test examples each', default: 300 },
  'from-scratch': { type: 'bool', help: 'same architecture and tokenizer, random weights (the baseline of GPT-1’s claim)' },
  truncate: { type: 'bool', help: 'cut examples longer than the context instead of failing' },
  seed: seedFlag(d.seed, 'seed for data order, dropout and the head'),
  ...runFlags({ out: 'runs/finetune' }),
  tensorboard: TENSORBOARD_FLAG,
  json: JSON_FLAG,
};
const NOT_SETTINGS = ['resume', 'json'];
/** Settings that may change when resuming (the rest comes from the checkpoint). */
const RESUME_CHANGEABLE = ['out', 'evalEvery', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'maxSteps', 'epochs', 'tensorboard'];

/** The built-in WordNet task, or the user's JSONL files (dev and test take the training file's label set). */
function taskDataset(s: FinetuneSettings): TaskDataset {
  if (!s.data) return buildWordNetTask(s.task, { seed: 1234, limits: { train: s.trainLimit, dev: s.evalLimit, test: s.evalLimit } });
  const train = readTaskFile(s.data, s.task, { labels: s.labels });
  const fixed = { labels: train.labels, options: s.task === 'mc' ? train.labels.length : undefined };
  return {
    kind: s.task,
    labels: train.labels,
    train: train.examples,
    dev: s.dev ? readTaskFile(s.dev, s.task, fixed).examples : [],
    test: s.test ? readTaskFile(s.test, s.task, fixed).examples : [],
  };
}

export interface FinetuneRun {
  task: TaskKind;
  source: string;
  fromScratch: boolean;
  auxLmWeight: number;
  steps: number;
  train: number;
  dev: number;
  test: number;
  devAccuracy: number;
  testAccuracy: number;
  runDir: string;
  checkpoint: string | null;
  reason: string;
  seconds: number;
}

export const finetuneCommand: TrainerCommand = {
  name: 'finetune',
  summary: 'GPT-1 fine-tuning (task head + λ·LM loss) on a WordNet task or JSONL files; reports dev/test accuracy',
  usage: 'finetune --task cls|entail|sim|mc --model DIR [--data train.jsonl --dev dev.jsonl --test test.jsonl] [flags]',
  details: 'Evaluation (dev loss and accuracy) and checkpoints come once per epoch unless --eval-every / --checkpoint-every say otherwise.',
  flags: FLAGS,
  async run({ flags }, io) {
    const given = settingsOf(flags, NOT_SETTINGS) as Partial<FinetuneSettings>;
    const resumeDir = typeof flags.resume === 'string' ? resolveCheckpoint(flags.resume) : undefined;
    const state = resumeDir ? readTrainerState(resumeDir) : undefined;
    let s: FinetuneSettings;
    if (resumeDir && state) {
      s = resumedSettings(state.config as unknown as FinetuneSettings, given, RESUME_CHANGEABLE);
      if (given.out === undefined) s.out = runDirOf(resumeDir);
    } else {
      if (!given.task) throw new UsageError('missing required flag --task (cls, entail, sim or mc)');
      if (!given.model)
        throw new UsageError('missing required flag --model DIR (a pretrained checkpoint, e.g. from `gptlab-train pretrain`)');
      s = { ...(defaultsOf(FLAGS) as unknown as FinetuneSettings), ...given };
    }
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const dir = resumeDir ?? s.model;
    const tok = BPETokenizer.fromDir(dir);
    let model = await loadGPT(dir);
    if (s.fromScratch && !resumeDir) {
      const fresh = GPT.create(model.config, { seed: s.seed + 1 });
      model.dispose();
      model = fresh;
    }
    const interrupt = interruptOnSigint(io);
    try {
      const ds = taskDataset(s);
      prepareForTasks(model, tok);
      const resume =
        resumeDir && state
          ? { dir: resumeDir, state, head: TaskHead.fromTensors(model.extraTensors, 'task_head', { dropout: s.clfDropout }) }
          : undefined;
      const r = await finetune(model, ds, tok, { ...s, config: s as unknown as Record<string, unknown>, resume }, io, {
        shouldStop: interrupt.requested,
      });
      r.head.dispose();
      const run: FinetuneRun = {
        task: s.task,
        source: s.data ?? 'wordnet',
        fromScratch: s.fromScratch === true,
        auxLmWeight: s.auxLmWeight,
        steps: r.run.step,
        train: ds.train.length,
        dev: ds.dev.length,
        test: ds.test.length,
        devAccuracy: r.dev,
        testAccuracy: r.test,
        runDir: r.run.runDir,
        checkpoint: r.run.checkpoint,
        reason: r.run.reason,
        seconds: r.run.seconds,
      };
      const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(1) + '%');
      printResult(io, flags.json === true, run, () => [
        `${run.task} (${run.source}${run.fromScratch ? ', from scratch' : ''}, λ=${run.auxLmWeight}): dev ${pct(run.devAccuracy)} (${run.dev}), ` +
          `test ${pct(run.testAccuracy)} (${run.test}) after ${run.steps} steps, ${run.seconds.toFixed(0)} s · ${run.checkpoint ?? run.runDir}`,
      ]);
      return run.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      model.dispose();
    }
  },
};
