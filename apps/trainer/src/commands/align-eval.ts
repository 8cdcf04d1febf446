// `gptlab-train align-eval --model DIR [--model DIR2 ...] --prompts heldout|FILE [--reward RM] [--reference SFT]`:
// aligned models answer held-out prompts; the judge, the reward model and the KL to the reference score them
// (src/align/evaluate.ts). `--write-pairs FILE` instead writes the WordNet preference pairs `reward` and `dpo`
// train on (the experiment's data step), so the prompts evaluated here stay disjoint from them by construction.
import { UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, seedFlag } from '../cli/flag-groups';
import { alignEvalMarkdown, evaluateAligned } from '../align/evaluate';
import { HELDOUT, loadPrompts, writeWordNetPairs } from '../align/evaluate-prompts';

const FLAGS: FlagSpecs = {
  model: { type: 'list', help: 'checkpoint or run directory to evaluate (repeatable)', metavar: 'DIR' },
  prompts: {
    type: 'string',
    help: `"${HELDOUT}" (WordNet instructions of test synsets whose words no training synset has) or a JSONL file of {"messages", ["task","system","answers"]}`,
    default: HELDOUT,
    metavar: 'heldout|FILE',
  },
  reward: { type: 'string', help: 'reward model directory (from `reward`): its mean score of the answers', metavar: 'DIR' },
  reference: { type: 'string', help: 'reference model (the SFT model): KL to it and the judge win rate against it', metavar: 'DIR' },
  n: { type: 'int', min: 1, help: 'prompts at most', default: 200 },
  'max-new-tokens': { type: 'int', min: 1, help: 'tokens per answer at most (greedy, ends at eos)', default: 48 },
  samples: { type: 'int', min: 0, help: 'answers per model kept in the --json report', default: 5 },
  seed: seedFlag(0, 'seed of the held-out prompt order (and of --write-pairs)'),
  'write-pairs': {
    type: 'string',
    help: 'instead of evaluating: write WordNet preference pairs of the training synsets (TRL JSONL) to FILE',
    metavar: 'FILE',
  },
  examples: { type: 'int', min: 1, help: '--write-pairs: instructions the pairs are made from', default: 2000 },
  json: JSON_FLAG,
};

export const alignEvalCommand: TrainerCommand = {
  name: 'align-eval',
  summary: 'aligned models on held-out prompts: judge score, reward-model score, KL and win rate vs a reference, steerability',
  usage: 'align-eval --model DIR [--model DIR2 ...] [--prompts heldout|FILE] [--reward RM_DIR] [--reference SFT_DIR] [--n N] [--json]',
  details:
    "Answers are greedy through each checkpoint's chat template. KL = mean over prompts of Σ log π − log π_ref over the generated tokens; " +
    'the win rate counts a tie by judge score as half. Without --json: markdown tables.',
  flags: FLAGS,
  async run({ flags: given }, io) {
    const f = withDefaults(FLAGS, given);
    const seed = f.seed as number;
    if (typeof f['write-pairs'] === 'string') {
      const n = writeWordNetPairs(f['write-pairs'], f.examples as number, seed);
      printResult(io, f.json === true, { pairs: n, file: f['write-pairs'] }, () => [`${n} preference pairs → ${f['write-pairs']}`]);
      return 0;
    }
    const models = (f.model as string[] | undefined) ?? [];
    if (models.length === 0) throw new UsageError('missing required flag --model DIR (repeatable)');
    const prompts = loadPrompts(f.prompts as string, f.n as number, seed);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const report = await evaluateAligned(
      {
        models,
        prompts,
        reward: f.reward as string | undefined,
        reference: f.reference as string | undefined,
        maxNewTokens: f['max-new-tokens'] as number,
        samples: f.samples as number,
      },
      (line) => io.stderr(line + '\n'),
    );
    printResult(io, f.json === true, report, () => alignEvalMarkdown(report));
    return 0;
  },
};
