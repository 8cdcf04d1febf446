// `gptlab-train demo`: the project's main job on the embedded corpus. WordNet glosses → a BPE tokenizer →
// normalise, filter, exact + near-duplicate removal → token shards → pretrain a small GPT for about ten
// minutes on all cores → validation loss and samples with two decoding strategies (greedy and top-p).
import * as path from 'node:path';
import { parseFlags, UsageError, type FlagSpecs } from '../cli/flags';
import type { Command, CommandIO } from '../cli/router';
import { pretrain, sampleText, type PretrainConfig, type PretrainResult } from './pretrain';

export const DEMO_FLAGS: FlagSpecs = {
  minutes: { type: 'float', help: 'training time budget', default: 10 },
  steps: { type: 'int', help: 'train exactly this many steps instead of a time budget (smoke tests)' },
  out: { type: 'string', help: 'run directory (tokenizer, shards cache, checkpoints, metrics, loss.svg)', default: 'runs/demo', metavar: 'DIR' },
  'vocab-size': { type: 'int', help: 'tokenizer vocabulary', default: 4096 },
  'n-layer': { type: 'int', help: 'transformer blocks', default: 4 },
  'n-head': { type: 'int', help: 'attention heads', default: 4 },
  'n-embd': { type: 'int', help: 'width', default: 256 },
  'block-size': { type: 'int', help: 'context', default: 64 },
  'batch-size': { type: 'int', help: 'sequences per step', default: 16 },
  lr: { type: 'float', help: 'peak learning rate', default: 2e-3 },
  workers: { type: 'int', help: 'gradient worker threads (default: all cores on plain wasm)' },
  seed: { type: 'int', help: 'seed', default: 1 },
  prompt: { type: 'list', help: 'prompts for the final samples', metavar: 'TEXT...' },
  'sample-tokens': { type: 'int', help: 'tokens per final sample', default: 32 },
};

const DEFAULT_PROMPTS = ['a dog is', 'the act of', 'a person who'];

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
}

export interface DemoResult {
  pretrain: Omit<PretrainResult, 'model' | 'tokenizer'>;
  samples: { prompt: string; greedy: string; topP: string }[];
}

export async function demo(o: DemoOptions, io: Pick<CommandIO, 'stdout' | 'stderr' | 'isTTY'>): Promise<DemoResult> {
  const say = (s: string) => io.stdout(s + '\n');
  say(`gptlab demo: WordNet → BPE tokenizer (${o.vocabSize}) → clean + dedup → shards → GPT pretraining (${o.steps !== undefined ? `${o.steps} steps` : `${o.minutes} min`}) → samples`);
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
  const res = await pretrain(cfg, io, {});
  const { model, tokenizer, ...summary } = res;
  try {
    say('');
    say(`validation loss ${res.valLoss?.toFixed(4)} (perplexity ${res.valPerplexity?.toFixed(2)}) after ${res.step} steps, ${res.seconds.toFixed(0)}s`);
    say(`throughput ${Math.round(res.tokensPerSec).toLocaleString('en-US')} tokens/s with ${res.workers} worker(s)${res.mfu !== null ? `, MFU ${(100 * res.mfu).toFixed(1)}%` : ''}; ${res.params.toLocaleString('en-US')} parameters`);
    const samples: DemoResult['samples'] = [];
    for (const prompt of o.prompts) {
      const greedy = await sampleText(model, tokenizer, prompt, { maxNewTokens: o.sampleTokens });
      const topP = await sampleText(model, tokenizer, prompt, { maxNewTokens: o.sampleTokens, doSample: true, topP: 0.9, temperature: 0.8, seed: o.seed });
      samples.push({ prompt, greedy, topP });
      say('');
      say(`prompt: ${JSON.stringify(prompt)}`);
      say(`  greedy           : ${JSON.stringify(prompt + greedy)}`);
      say(`  top-p 0.9, T 0.8 : ${JSON.stringify(prompt + topP)}`);
    }
    say('');
    say(`run directory: ${path.resolve(o.out)} (metrics.jsonl, loss.svg, checkpoints/)`);
    return { pretrain: summary, samples };
  } finally {
    model.dispose();
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'WordNet → tokenizer → clean + dedup → pretrain a small GPT (~10 min) → validation loss and samples',
  flags: DEMO_FLAGS,
  async run(argv, io) {
    const { flags } = parseFlags(argv, DEMO_FLAGS, 'demo');
    const n = <T>(k: string, d: T) => (flags[k] as T | undefined) ?? d;
    const minutes = n<number>('minutes', 10);
    if (!(minutes > 0)) throw new UsageError(`--minutes must be > 0, got ${minutes}`);
    await demo(
      {
        minutes,
        steps: flags.steps as number | undefined,
        out: n('out', 'runs/demo'),
        vocabSize: n('vocab-size', 4096),
        nLayer: n('n-layer', 4),
        nHead: n('n-head', 4),
        nEmbd: n('n-embd', 256),
        blockSize: n('block-size', 64),
        batchSize: n('batch-size', 16),
        lr: n('lr', 2e-3),
        workers: flags.workers as number | undefined,
        seed: n('seed', 1),
        prompts: n<string[]>('prompt', DEFAULT_PROMPTS),
        sampleTokens: n('sample-tokens', 32),
      },
      io,
    );
    return 0;
  },
};
