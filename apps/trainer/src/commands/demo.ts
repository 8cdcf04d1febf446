// `gptlab-train demo`: the project's main job on the embedded corpus. WordNet glosses → a BPE tokenizer →
// normalise, filter, exact + near-duplicate removal → token shards → pretrain a small GPT for about ten
// minutes on all cores → validation loss and samples with two decoding strategies: greedy, and sampling
// (top-p 0.9, temperature 0.8 unless the decoding flags, made from @gptlab/decoding's schema, say otherwise).
import * as path from 'node:path';
import { withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { strategyField, strategyFlagSpecs, strategyFromFlags, strategyInputFromFlags, type StrategyInput } from '@gptlab/decoding';
import { interruptOnSigint, type CommandIO, type TrainerCommand } from '../cli/command';
import { seedFlag, shapeFlags, vocabSizeFlag, WORKERS_FLAG } from '../cli/flag-groups';
import { settingsOf } from '../cli/settings';
import { sampleText } from '../sample';
import { pretrain, type PretrainConfig, type PretrainHooks, type PretrainResult } from './pretrain';

const DEFAULT_PROMPTS = ['a dog is', 'the act of', 'a person who'];

/** The decoding fields the second sample may set (its length is --sample-tokens, its seed --seed). */
const SAMPLING_FIELDS = [
  'doSample',
  'temperature',
  'topK',
  'topP',
  'minP',
  'typicalP',
  'repetitionPenalty',
  'noRepeatNgramSize',
  'numBeams',
  'lengthPenalty',
  'stopStrings',
];
/** The second sample's strategy; decoding flags override its fields. */
const SAMPLING_DEFAULTS: StrategyInput = { doSample: true, topP: 0.9, temperature: 0.8 };
const DECODING_FLAGS = strategyFlagSpecs(SAMPLING_FIELDS);
// Their help shows the demo's defaults (parseFlags fills none: only the flags given override SAMPLING_DEFAULTS).
for (const [name, value] of Object.entries(SAMPLING_DEFAULTS)) {
  const flag = strategyField(name)!.flag;
  DECODING_FLAGS[flag] = { ...DECODING_FLAGS[flag]!, default: value as number | boolean };
}

const DEMO_SETTINGS: FlagSpecs = {
  minutes: { type: 'float', min: 0.01, help: 'training time budget', default: 10 },
  steps: { type: 'int', min: 1, help: 'train exactly this many steps instead of a time budget (smoke tests)' },
  out: {
    type: 'string',
    help: 'run directory (tokenizer, shards cache, checkpoints, metrics, loss.svg)',
    default: 'runs/demo',
    metavar: 'DIR',
  },
  'vocab-size': vocabSizeFlag(4096),
  // The shape `pnpm experiment:demo-shape` chose for a 10-minute budget on the 2 shared cores (docs/results/
  // demo-shape.json): the size nearest the compute-optimal one for the tokens it processes in 600 s, then the best
  // context × batch at that size. Until then the demo trained 4 layers × 256, context 64 × batch 16: about 12× the
  // compute-optimal number of non-embedding parameters for the tokens 10 minutes give it here.
  ...shapeFlags({ nLayer: 2, nHead: 3, nEmbd: 96, blockSize: 128, batchSize: 8 }),
  lr: { type: 'float', help: 'peak learning rate', default: 2e-3 },
  workers: WORKERS_FLAG,
  seed: seedFlag(1, 'seed of the initialisation, data order, dropout and sampling'),
  prompt: { type: 'list', help: 'prompts for the final samples', metavar: 'TEXT,...', default: DEFAULT_PROMPTS },
  'sample-tokens': { type: 'int', min: 1, help: 'tokens per final sample', default: 32 },
};
export const DEMO_FLAGS: FlagSpecs = { ...DEMO_SETTINGS, ...DECODING_FLAGS };

export interface DemoOptions {
  minutes?: number;
  steps?: number;
  out: string;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
  lr: number;
  workers?: number;
  seed: number;
  prompts: string[];
  sampleTokens: number;
  /** The second sample's decoding strategy (default: sampling, top-p 0.9, temperature 0.8). */
  sampling?: StrategyInput;
}

export interface DemoResult {
  pretrain: Omit<PretrainResult, 'model' | 'tokenizer'>;
  samples: { prompt: string; greedy: string; sampled: string }[];
}

/** "top-p 0.9, T 0.8": the fields of a strategy that differ from greedy, for the sample's label. */
function describeStrategy(s: StrategyInput): string {
  const short: Record<string, string> = { topP: 'top-p', topK: 'top-k', temperature: 'T', minP: 'min-p', numBeams: 'beams' };
  return Object.entries(s)
    .filter(([k]) => k !== 'doSample')
    .map(([k, v]) => `${short[k] ?? k} ${JSON.stringify(v)}`)
    .join(', ');
}

export async function demo(
  o: DemoOptions,
  io: Pick<CommandIO, 'stdout' | 'stderr' | 'isTTY'>,
  hooks: PretrainHooks = {},
): Promise<DemoResult> {
  const say = (s: string) => io.stdout(s + '\n');
  say(
    `gptlab demo: WordNet → BPE tokenizer (${o.vocabSize}) → clean + dedup → shards → GPT pretraining (${o.steps !== undefined ? `${o.steps} steps` : `${o.minutes} min`}) → samples`,
  );
  const steps = o.steps ?? 100000;
  const cfg: Partial<PretrainConfig> = {
    preset: 'gpt2-small',
    nLayer: o.nLayer,
    nHead: o.nHead,
    nEmbd: o.nEmbd,
    blockSize: o.blockSize,
    corpus: ['wordnet'],
    vocabSize: o.vocabSize,
    out: o.out,
    batchSize: o.batchSize,
    steps,
    minutes: o.steps !== undefined ? undefined : o.minutes,
    lr: o.lr,
    warmupSteps: o.steps !== undefined ? Math.max(1, Math.min(50, Math.floor(steps / 10))) : 50,
    evalEvery: o.steps !== undefined ? Math.max(1, Math.floor(steps / 2)) : 100,
    evalBatches: 16,
    checkpointEvery: o.steps !== undefined ? steps : 200,
    workers: o.workers,
    seed: o.seed,
    sampleTokens: 16,
  };
  const res = await pretrain(cfg, io, { ...hooks, keepModel: true });
  const { model, tokenizer, ...summary } = res;
  const sampling = o.sampling ?? SAMPLING_DEFAULTS;
  const labels = ['greedy', describeStrategy(sampling)];
  const width = Math.max(...labels.map((l) => l.length));
  try {
    say('');
    say(
      `validation loss ${res.valLoss?.toFixed(4)} (perplexity ${res.valPerplexity?.toFixed(2)}) after ${res.step} steps, ${res.seconds.toFixed(0)}s`,
    );
    say(
      `throughput ${Math.round(res.tokensPerSec).toLocaleString('en-US')} tokens/s with ${res.workers} worker(s)${res.mfu !== null ? `, MFU ${(100 * res.mfu).toFixed(1)}%` : ''}; ${res.params.toLocaleString('en-US')} parameters`,
    );
    const samples: DemoResult['samples'] = [];
    for (const prompt of o.prompts) {
      const greedy = await sampleText(model, tokenizer, prompt, { maxNewTokens: o.sampleTokens });
      const sampled = await sampleText(model, tokenizer, prompt, { seed: o.seed, ...sampling, maxNewTokens: o.sampleTokens });
      samples.push({ prompt, greedy, sampled });
      say('');
      say(`prompt: ${JSON.stringify(prompt)}`);
      say(`  ${labels[0]!.padEnd(width)} : ${JSON.stringify(prompt + greedy)}`);
      say(`  ${labels[1]!.padEnd(width)} : ${JSON.stringify(prompt + sampled)}`);
    }
    say('');
    say(`run directory: ${path.resolve(o.out)} (metrics.jsonl, loss.svg, checkpoints/)`);
    return { pretrain: summary, samples };
  } finally {
    model.dispose();
  }
}

export const demoCommand: TrainerCommand = {
  name: 'demo',
  summary: 'WordNet → tokenizer → clean + dedup → pretrain a small GPT (~10 min) → validation loss and samples',
  flags: DEMO_FLAGS,
  async run({ flags }, io) {
    // The decoding flags override the default sampling strategy; they are checked now (as the HTTP API
    // checks them), not after ten minutes of training.
    strategyFromFlags(flags, { defaults: SAMPLING_DEFAULTS });
    const sampling = { ...SAMPLING_DEFAULTS, ...strategyInputFromFlags(flags) };
    const { prompt, ...settings } = settingsOf(withDefaults(DEMO_SETTINGS, flags), Object.keys(DECODING_FLAGS));
    // Ctrl-C ends training early (with a checkpoint); the samples still follow.
    const interrupt = interruptOnSigint(io);
    try {
      await demo({ ...(settings as unknown as Omit<DemoOptions, 'prompts'>), prompts: prompt as string[], sampling }, io, {
        shouldStop: interrupt.requested,
      });
    } finally {
      interrupt.dispose();
    }
    return 0;
  },
};
