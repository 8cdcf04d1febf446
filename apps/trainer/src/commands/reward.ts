// `gptlab-train reward --init-from DIR --data FILE`: a reward model (scalar head on the last token, Bradley–Terry
// loss) trained on preference JSONL on the shared Trainer; reports eval_accuracy and eval_loss on held-out pairs.
// The flags and the resume rules here are shared with `dpo` (pairCommandFlags, pairSettings).
import type { FlagSpecs, FlagValue, ParsedFlags } from '@gptlab/common/node';
import { UsageError } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT, TaskHead } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, optimizerFlags, runFlags, seedFlag, TENSORBOARD_FLAG } from '../cli/flag-groups';
import { defaultsOf, settingsOf } from '../cli/settings';
import { initCheckpointDir } from '../pretrain/init-from';
import { readTrainerState, resolveCheckpoint, resumedSettings, runDirOf, type TrainerState } from '../train/checkpoint';
import type { PairRunOptions } from '../align/logprobs';
import { readPreferenceFile, splitPairs } from '../align/preference';
import { checkpointTemplate } from '../align/template';
import { newRewardHead, REWARD_DEFAULTS, REWARD_HEAD, trainRewardModel } from '../align/reward';

/** The settings of a pair run as the CLI holds them (saved in checkpoints for --resume). */
export interface PairSettings extends Omit<PairRunOptions, 'config' | 'resume'> {
  initFrom: string;
  data: string;
  evalFraction: number;
}

/** Flags of a run on preference pairs: reward and dpo, each with its defaults. */
export function pairCommandFlags(d: typeof REWARD_DEFAULTS, out: string): FlagSpecs {
  return {
    'init-from': { type: 'string', help: 'starting checkpoint (an SFT model; required unless --resume)', metavar: 'DIR' },
    data: { type: 'string', help: 'preference pairs (JSONL {"prompt","chosen","rejected"}: strings or message lists)', metavar: 'FILE' },
    'eval-fraction': { type: 'float', min: 0, max: 0.99, help: 'share of the pairs held out for evaluation', default: 0.1 },
    'batch-size': { type: 'int', min: 1, help: 'pairs per step', default: d.batchSize },
    ...optimizerFlags(d),
    'warmup-fraction': {
      type: 'float',
      min: 0,
      max: 1,
      help: 'share of the steps warming up (then linear decay)',
      default: d.warmupFraction,
    },
    epochs: { type: 'int', min: 1, help: 'epochs over the training pairs', default: d.epochs },
    'max-steps': { type: 'int', min: 1, help: 'stop after this many steps' },
    seed: seedFlag(d.seed, 'seed of the held-out split, data order, dropout and the head'),
    ...runFlags({ out }),
    tensorboard: TENSORBOARD_FLAG,
    json: JSON_FLAG,
  };
}

const NOT_SETTINGS = ['resume', 'json'];
/** Settings that may change when resuming (the rest comes from the checkpoint). */
const RESUME_CHANGEABLE = ['out', 'evalEvery', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'maxSteps', 'epochs', 'tensorboard'];

/** The run's settings: the flags over the defaults, or over the checkpoint's settings with --resume. */
export function pairSettings<S extends PairSettings>(
  flags: ParsedFlags,
  specs: FlagSpecs,
): { s: S; resume?: { dir: string; state: TrainerState } } {
  const given = settingsOf(flags, NOT_SETTINGS) as Partial<S>;
  if (typeof flags.resume === 'string') {
    const dir = resolveCheckpoint(flags.resume);
    const state = readTrainerState(dir);
    const s = resumedSettings(state.config as unknown as S, given, RESUME_CHANGEABLE);
    if (given.out === undefined) s.out = runDirOf(dir);
    return { s, resume: { dir, state } };
  }
  if (!given.initFrom) throw new UsageError('missing required flag --init-from DIR (e.g. an SFT checkpoint)');
  if (!given.data) throw new UsageError('missing required flag --data FILE (preference JSONL)');
  // A run directory stands for its newest checkpoint, as with pretrain --init-from. The run records the resolved
  // checkpoint, so a resumed DPO run reloads exactly the model it started from as its reference.
  const initFrom = initCheckpointDir(given.initFrom);
  return { s: { ...(defaultsOf(specs) as Record<string, FlagValue>), ...given, initFrom } as unknown as S };
}

const FLAGS = pairCommandFlags(REWARD_DEFAULTS, 'runs/reward');

export interface RewardRun {
  data: string;
  train: number;
  eval: number;
  steps: number;
  evalLoss: number;
  evalAccuracy: number;
  evalMargin: number;
  trainLoss: number;
  runDir: string;
  checkpoint: string | null;
  reason: string;
  seconds: number;
}

export const rewardCommand: TrainerCommand = {
  name: 'reward',
  summary: 'reward model: scalar head on the last token, Bradley–Terry loss on preference pairs; eval accuracy/loss',
  usage: 'reward --init-from DIR --data pairs.jsonl [--eval-fraction 0.1] [flags]',
  details:
    'The checkpoint is a GPT directory with reward_head.weight/bias in model.safetensors and reward_config.json naming the head; ' +
    'evaluation (held-out loss, accuracy, margin) and checkpoints come once per epoch unless --eval-every / --checkpoint-every say otherwise.',
  flags: FLAGS,
  async run({ flags }, io) {
    const { s, resume } = pairSettings<PairSettings>(flags, FLAGS);
    const pairs = splitPairs(readPreferenceFile(s.data, checkpointTemplate(s.initFrom)), s.evalFraction, s.seed);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const dir = resume?.dir ?? s.initFrom;
    const tok = BPETokenizer.fromDir(dir);
    const model = await loadGPT(dir);
    const head = resume ? TaskHead.fromTensors(model.extraTensors, REWARD_HEAD, { dropout: 0 }) : newRewardHead(model, s.seed + 17);
    const interrupt = interruptOnSigint(io);
    try {
      const r = await trainRewardModel(model, head, tok, pairs, { ...s, config: s as unknown as Record<string, unknown>, resume }, io, {
        shouldStop: interrupt.requested,
      });
      const run: RewardRun = {
        data: s.data,
        train: pairs.train.length,
        eval: pairs.held.length,
        steps: r.run.step,
        evalLoss: r.eval.loss,
        evalAccuracy: r.eval.accuracy,
        evalMargin: r.eval.margin,
        trainLoss: r.run.trainLoss,
        runDir: r.run.runDir,
        checkpoint: r.run.checkpoint,
        reason: r.run.reason,
        seconds: r.run.seconds,
      };
      printResult(io, flags.json === true, run, () => [
        `reward model: eval accuracy ${(100 * run.evalAccuracy).toFixed(1)}%, eval loss ${run.evalLoss.toFixed(4)} on ${run.eval} held-out pairs ` +
          `(${run.train} trained, ${run.steps} steps, ${run.seconds.toFixed(0)} s) · ${run.checkpoint ?? run.runDir}`,
      ]);
      return run.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      head.dispose();
      model.dispose();
    }
  },
};
