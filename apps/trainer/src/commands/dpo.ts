// `gptlab-train dpo --init-from SFT_DIR --data FILE --beta B`: Direct Preference Optimization on the shared
// Trainer, with the reference log-probs computed once from the starting model (from --init-from again when
// resuming); logs TRL's rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins.
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { DPO_DEFAULTS, trainDpo } from '../align/dpo';
import { readPreferenceFile, splitPairs } from '../align/preference';
import { checkpointTemplate } from '../align/template';
import { pairCommandFlags, pairSettings, type PairSettings } from './reward';

const FLAGS = {
  ...pairCommandFlags(DPO_DEFAULTS, 'runs/dpo'),
  beta: {
    type: 'float' as const,
    min: 0,
    help: 'β: strength of the implicit KL penalty to the reference (> 0)',
    default: DPO_DEFAULTS.beta,
  },
};

export const dpoCommand: TrainerCommand = {
  name: 'dpo',
  summary: 'DPO on preference pairs from an SFT checkpoint (reference log-probs computed once); TRL reward metrics',
  usage: 'dpo --init-from SFT_DIR --data pairs.jsonl [--beta 0.1] [flags]',
  details: 'Evaluation on the held-out pairs and checkpoints come once per epoch unless --eval-every / --checkpoint-every say otherwise.',
  flags: FLAGS,
  async run({ flags }, io) {
    const { s, resume } = pairSettings<PairSettings & { beta: number }>(flags, FLAGS);
    if (!(s.beta > 0)) throw new Error(`--beta must be > 0, got ${s.beta}`);
    const pairs = splitPairs(readPreferenceFile(s.data, checkpointTemplate(s.initFrom)), s.evalFraction, s.seed);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const dir = resume?.dir ?? s.initFrom;
    const tok = BPETokenizer.fromDir(dir);
    const model = await loadGPT(dir);
    // The reference is the starting model: the model itself in a fresh run, the --init-from one when resuming.
    const reference = resume ? await loadGPT(s.initFrom) : model;
    const interrupt = interruptOnSigint(io);
    try {
      const r = await trainDpo(model, reference, tok, pairs, { ...s, config: s as unknown as Record<string, unknown>, resume }, io, {
        shouldStop: interrupt.requested,
      });
      const m = r.eval;
      const run = {
        data: s.data,
        beta: s.beta,
        train: pairs.train.length,
        eval: pairs.held.length,
        steps: r.run.step,
        trainLoss: r.run.trainLoss,
        evalLoss: m?.loss ?? null,
        evalRewardsChosen: m?.chosen ?? null,
        evalRewardsRejected: m?.rejected ?? null,
        evalAccuracy: m?.accuracy ?? null,
        evalMargin: m?.margin ?? null,
        runDir: r.run.runDir,
        checkpoint: r.run.checkpoint,
        reason: r.run.reason,
        seconds: r.run.seconds,
      };
      printResult(io, flags.json === true, run, () => [
        `dpo (β ${run.beta}): ` +
          (m
            ? `eval loss ${m.loss.toFixed(4)}, accuracy ${(100 * m.accuracy).toFixed(1)}%, margin ${m.margin.toFixed(4)} on ${run.eval} held-out pairs; `
            : '') +
          `${run.steps} steps, ${run.seconds.toFixed(0)} s · ${run.checkpoint ?? run.runDir}`,
      ]);
      return run.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      model.dispose();
    }
  },
};
