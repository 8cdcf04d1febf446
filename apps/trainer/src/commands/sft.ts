// `gptlab-train sft --init-from DIR --data FILE|wordnet-instruct`: supervised fine-tuning for alignment on the
// shared Trainer — loss on assistant tokens only, optional --packing; checkpoints carry the chat template. The
// run flags and resume rules are those of `reward` and `dpo` (pairCommandFlags, pairSettings).
import { Rng } from '@gptlab/common';
import { UsageError } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { readChatFile, type ChatMessage } from '../align/chat';
import { SFT_DEFAULTS, trainSft } from '../align/sft';
import { checkpointTemplate } from '../align/template';
import { buildWordNetInstruct, instructConversation } from '../align/wordnet-instruct';
import { pairCommandFlags, pairSettings, type PairSettings } from './reward';

/** --data value that builds the instruction data from the WordNet that ships with gptlab. */
export const WORDNET_INSTRUCT = 'wordnet-instruct';

const PAIR_FLAGS = pairCommandFlags(SFT_DEFAULTS, 'runs/sft');
const FLAGS = {
  ...PAIR_FLAGS,
  'init-from': { ...PAIR_FLAGS['init-from']!, help: 'starting checkpoint (a pretrained model; required unless --resume)' },
  'batch-size': { ...PAIR_FLAGS['batch-size']!, help: 'conversations (with --packing: packed rows) per step' },
  epochs: { ...PAIR_FLAGS.epochs!, help: 'epochs over the training conversations' },
  seed: { ...PAIR_FLAGS.seed!, help: 'seed of the held-out split, the WordNet data, data order and dropout' },
  data: {
    type: 'string' as const,
    help: `chat JSONL ({"messages":[...]} or Alpaca {"instruction","input","output"}), or "${WORDNET_INSTRUCT}"`,
    metavar: 'FILE',
  },
  'eval-fraction': {
    type: 'float' as const,
    min: 0,
    max: 0.99,
    help: `share of a chat file held out for evaluation (${WORDNET_INSTRUCT} holds out its dev synsets)`,
    default: 0.05,
  },
  examples: { type: 'int' as const, min: 1, help: `${WORDNET_INSTRUCT}: training conversations (dev: a tenth)`, default: 4000 },
  packing: { type: 'bool' as const, help: 'pack conversations into full context rows (no padding)', default: false },
};

type SftSettings = PairSettings & { examples: number; packing: boolean };

/** Train and held-out conversations of --data. */
function loadConversations(s: SftSettings): { train: ChatMessage[][]; held: ChatMessage[][] } {
  if (s.data === WORDNET_INSTRUCT) {
    const d = buildWordNetInstruct({ seed: s.seed, limits: { train: s.examples, dev: Math.ceil(s.examples / 10), test: 0 } });
    return { train: d.train.map(instructConversation), held: d.dev.map(instructConversation) };
  }
  const convs = new Rng(s.seed).shuffle(readChatFile(s.data).map((c) => c.messages));
  const nHeld = Math.floor(convs.length * s.evalFraction);
  return { train: convs.slice(nHeld), held: convs.slice(0, nHeld) };
}

export const sftCommand: TrainerCommand = {
  name: 'sft',
  summary: 'supervised fine-tuning on chat data (assistant tokens only), e.g. WordNet instructions; saves the chat template',
  usage: `sft --init-from DIR --data FILE|${WORDNET_INSTRUCT} [--packing] [flags]`,
  details:
    "Conversations are rendered with the checkpoint's chat_template (tokenizer_config.json), or the default one " +
    '("role:\\ncontent<|endoftext|>" turns). Evaluation and checkpoints come once per epoch unless --eval-every / --checkpoint-every say otherwise.',
  flags: FLAGS,
  async run({ flags }, io) {
    if (typeof flags.resume !== 'string' && flags.data === undefined)
      throw new UsageError(`missing required flag --data FILE|${WORDNET_INSTRUCT} (chat JSONL)`);
    const { s, resume } = pairSettings<SftSettings>(flags, FLAGS);
    const data = loadConversations(s);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const dir = resume?.dir ?? s.initFrom; // already resolved by pairSettings
    const tok = BPETokenizer.fromDir(dir);
    const template = checkpointTemplate(dir);
    const model = await loadGPT(dir);
    const interrupt = interruptOnSigint(io);
    try {
      const r = await trainSft(model, tok, template, data, { ...s, config: s as unknown as Record<string, unknown>, resume }, io, {
        shouldStop: interrupt.requested,
      });
      const run = {
        data: s.data,
        train: data.train.length,
        eval: data.held.length,
        packing: s.packing,
        trainSequences: r.trainSequences,
        steps: r.run.step,
        trainLoss: r.run.trainLoss,
        evalLoss: r.evalLoss,
        runDir: r.run.runDir,
        checkpoint: r.run.checkpoint,
        reason: r.run.reason,
        seconds: r.run.seconds,
      };
      printResult(io, flags.json === true, run, () => [
        `sft: ${run.evalLoss !== null ? `eval loss ${run.evalLoss.toFixed(4)} on ${run.eval} held-out conversations; ` : ''}` +
          `${run.steps} steps, ${run.seconds.toFixed(0)} s · ${run.checkpoint ?? run.runDir}`,
      ]);
      return run.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      model.dispose();
    }
  },
};
