// `gptlab-train finetune --task cls|entail|sim|mc --model DIR`: GPT-1 supervised fine-tuning of a pretrained
// checkpoint (L2 + λ·L1), on a WordNet task (default) or a user's JSONL task files; reports dev/test accuracy.
import * as path from 'node:path';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { parseFlags, getFlag, type FlagSpecs } from '../cli/flags';
import { CommandError, type Command } from '../cli/router';
import { finetune, prepareForTasks } from '../finetune/finetune';
import { TASK_KINDS, type TaskKind } from '../finetune/formats';
import { readTaskFile } from '../finetune/jsonl';
import { buildWordNetTask, type TaskDataset } from '../finetune/wordnet-tasks';

const flags: FlagSpecs = {
  task: { type: 'string', choices: TASK_KINDS, help: 'task format: cls, entail, sim or mc' },
  model: { type: 'string', help: 'pretrained checkpoint directory (HF GPT-2 layout with tokenizer files)', metavar: 'DIR' },
  data: { type: 'string', help: 'training examples (JSONL); default: the built-in WordNet task', metavar: 'FILE' },
  dev: { type: 'string', help: 'dev examples (JSONL)', metavar: 'FILE' },
  test: { type: 'string', help: 'test examples (JSONL)', metavar: 'FILE' },
  labels: { type: 'list', help: 'label names in index order (default: from the training file)' },
  epochs: { type: 'int', help: 'epochs over the training set', default: 3 },
  'batch-size': { type: 'int', help: 'examples per step', default: 8 },
  lr: { type: 'float', help: 'peak learning rate (GPT-1: 6.25e-5)', default: 6.25e-5 },
  'aux-lm-weight': { type: 'float', help: 'λ of the auxiliary LM loss (0 turns it off)', default: 0.5 },
  'clf-dropout': { type: 'float', help: 'dropout on the extracted hidden state', default: 0.1 },
  'train-limit': { type: 'int', help: 'WordNet task: training examples', default: 2000 },
  'eval-limit': { type: 'int', help: 'WordNet task: dev and test examples each', default: 300 },
  'max-steps': { type: 'int', help: 'stop after this many steps' },
  'from-scratch': { type: 'bool', help: 'same architecture and tokenizer, random weights (the baseline of GPT-1’s claim)' },
  truncate: { type: 'bool', help: 'cut examples longer than the context instead of failing' },
  seed: { type: 'int', help: 'seed for data order, dropout and the head', default: 0 },
  out: { type: 'string', help: 'save the fine-tuned model and head here', metavar: 'DIR' },
  json: { type: 'bool', help: 'print the result as one JSON line' },
};

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
  seconds: number;
}

export async function runFinetune(argv: string[], io: { stdout(t: string): void; stderr(t: string): void }): Promise<FinetuneRun> {
  const { flags: f } = parseFlags(argv, flags, 'finetune');
  const task = getFlag<string>(f, 'task') as TaskKind | undefined;
  if (!task) throw new CommandError('--task is required (cls, entail, sim or mc)');
  const modelDir = getFlag<string>(f, 'model');
  if (!modelDir) throw new CommandError('--model DIR is required: a pretrained checkpoint (e.g. from `gptlab-train pretrain`)');
  const info = await initBackendInfo();
  io.stderr(describeBackend(info) + '\n');
  const tok = BPETokenizer.fromDir(modelDir);
  const pretrained = await GPT.fromPretrained(modelDir);
  const fromScratch = getFlag<boolean>(f, 'from-scratch') === true;
  const seed = getFlag<number>(f, 'seed') ?? 0;
  let model = pretrained;
  if (fromScratch) {
    model = GPT.create(pretrained.config, { seed: seed + 1 });
    pretrained.dispose();
  }
  let ds: TaskDataset;
  const data = getFlag<string>(f, 'data');
  if (data) {
    const train = readTaskFile(data, task, { labels: getFlag<string[]>(f, 'labels') });
    const fixed = { labels: train.labels, options: task === 'mc' ? train.labels.length : undefined };
    const dev = getFlag<string>(f, 'dev');
    const test = getFlag<string>(f, 'test');
    ds = {
      kind: task,
      labels: train.labels,
      train: train.examples,
      dev: dev ? readTaskFile(dev, task, fixed).examples : [],
      test: test ? readTaskFile(test, task, fixed).examples : [],
    };
  } else {
    const evalLimit = getFlag<number>(f, 'eval-limit') ?? 300;
    ds = buildWordNetTask(task, { seed: 1234, limits: { train: getFlag<number>(f, 'train-limit') ?? 2000, dev: evalLimit, test: evalLimit } });
  }
  prepareForTasks(model, tok);
  const t0 = performance.now();
  const auxLmWeight = getFlag<number>(f, 'aux-lm-weight') ?? 0.5;
  const r = await finetune(model, ds, tok, {
    epochs: getFlag<number>(f, 'epochs'),
    batchSize: getFlag<number>(f, 'batch-size'),
    lr: getFlag<number>(f, 'lr'),
    auxLmWeight,
    clfDropout: getFlag<number>(f, 'clf-dropout'),
    maxSteps: getFlag<number>(f, 'max-steps'),
    truncate: getFlag<boolean>(f, 'truncate'),
    seed,
    onStep: (s) => {
      if (s.step % 10 === 0 || s.step + 1 === s.total) {
        io.stderr(`step ${s.step + 1}/${s.total}  loss ${s.loss.toFixed(4)}  task ${s.taskLoss.toFixed(4)}  lm ${s.lmLoss.toFixed(4)}  lr ${s.lr.toExponential(2)}\n`);
      }
    },
  });
  const out = getFlag<string>(f, 'out');
  if (out) await model.save(path.resolve(out), { extraTensors: r.head.tensors(), tokenizer: tok, metadata: { task, labels: JSON.stringify(ds.labels) } });
  const run: FinetuneRun = {
    task,
    source: data ?? 'wordnet',
    fromScratch,
    auxLmWeight,
    steps: r.steps,
    train: ds.train.length,
    dev: ds.dev.length,
    test: ds.test.length,
    devAccuracy: r.dev,
    testAccuracy: r.test,
    seconds: (performance.now() - t0) / 1000,
  };
  r.head.dispose();
  model.dispose();
  return run;
}

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'GPT-1 fine-tuning (task head + λ·LM loss) on a WordNet task or JSONL files; reports dev/test accuracy',
  flags,
  usage: 'finetune --task cls|entail|sim|mc --model DIR [--data train.jsonl --dev dev.jsonl --test test.jsonl] [flags]',
  async run(argv, io) {
    const run = await runFinetune(argv, io);
    if (argv.includes('--json')) io.stdout(JSON.stringify(run) + '\n');
    else {
      const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(1) + '%');
      io.stdout(
        `${run.task} (${run.source}${run.fromScratch ? ', from scratch' : ''}, λ=${run.auxLmWeight}): dev ${pct(run.devAccuracy)} (${run.dev}), test ${pct(run.testAccuracy)} (${run.test}) after ${run.steps} steps, ${run.seconds.toFixed(0)} s\n`,
      );
    }
    return 0;
  },
};
