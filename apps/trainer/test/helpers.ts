import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { prepare } from '@gptlab/data';
import { Rng } from '@gptlab/common';
import type { PretrainConfig } from '../src/commands/pretrain';

export const CLI = path.resolve(__dirname, '..', 'dist', 'cli.js');

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gptlab-trainer-${name}-`));
}

const WORDS =
  'the a dog cat bird runs jumps sleeps eats small large red blue green quickly slowly house tree river stone plant animal person water fire light dark over under near far with'.split(
    ' ',
  );

/** A small synthetic corpus of distinct sentences (JSONL). */
export function writeCorpus(dir: string, docs = 300, seed = 7): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < docs; i++) {
    const n = 8 + rng.int(12);
    const words = Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]!);
    lines.push(JSON.stringify({ id: `d${i}`, text: `${words.join(' ')} number ${i}.` }));
  }
  const file = path.join(dir, 'corpus.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Tokenizer + shard directory for the synthetic corpus (tokenizer.json next to the shards). */
export async function makeShards(dir: string, vocabSize = 300): Promise<{ data: string; tokenizer: string }> {
  const corpus = writeCorpus(dir);
  const texts = fs
    .readFileSync(corpus, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const tok = BPETokenizer.train(texts, { vocabSize, specialTokens: [ENDOFTEXT], minFrequency: 2 });
  const data = path.join(dir, 'shards');
  await prepare({ sources: [corpus], tokenizer: tok, outDir: data, valFraction: 0.1, nearDedup: false, report: false });
  const tokenizer = path.join(data, 'tokenizer.json');
  tok.save(tokenizer);
  return { data, tokenizer };
}

export function runCliSync(args: string[], opts: { input?: string; env?: Record<string, string>; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: opts.timeout ?? 120000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function readMetrics(runDir: string): { type: string; step: number; loss?: number; val_loss?: number }[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/** Flags of a tiny, fast model. */
export const TINY =
  '--n-layer 1 --n-head 2 --n-embd 32 --block-size 16 --batch-size 4 --eval-batches 2 --sample-tokens 4 --workers 1'.split(' ');

/** Settings of a tiny, fast pretraining run into `out` (8 steps, evaluations and checkpoints every 4). */
export const tinyPretrain = (out: string): Partial<PretrainConfig> => ({
  preset: 'gpt2-small',
  nLayer: 1,
  nHead: 2,
  nEmbd: 32,
  blockSize: 16,
  batchSize: 4,
  evalBatches: 2,
  sampleTokens: 4,
  workers: 1,
  steps: 8,
  warmupSteps: 2,
  lr: 3e-3,
  evalEvery: 4,
  checkpointEvery: 4,
  out,
});

/**
 * Runs a gptlab-train command line in this process (fast; the bin itself is covered by cli.test.ts) and
 * returns its exit code and output. The command registry is imported on first use only.
 */
export async function trainInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../src/commands');
  const written = { stdout: [] as string[], stderr: [] as string[] };
  const io = {
    stdin: process.stdin,
    isTTY: false,
    stdout: (t: string) => void written.stdout.push(t),
    stderr: (t: string) => void written.stderr.push(t),
  };
  const code = await main(args, io);
  return { code, stdout: written.stdout.join(''), stderr: written.stderr.join('') };
}

/** Writes preference pairs as JSONL {"prompt","chosen","rejected"} to `file`. */
export function writePairs(file: string, pairs: { prompt: string; chosen: string; rejected: string }[]): string {
  fs.writeFileSync(file, pairs.map((p) => JSON.stringify({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected })).join('\n') + '\n');
  return file;
}
