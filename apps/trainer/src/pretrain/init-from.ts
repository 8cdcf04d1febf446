// `pretrain --init-from DIR`: continue pretraining a model, or adapt it to new text, from its weights. Unlike
// --resume (which continues one run exactly: its settings, optimizer moments, data position and step count),
// this starts a new run — fresh AdamW state, step 0, a new schedule — from a gptlab checkpoint, a gptlab run
// directory (its newest checkpoint) or a Hugging Face GPT-2 directory such as a local copy of `gpt2`. The model
// configuration and the tokenizer come from the directory; flags that would contradict them are refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '@gptlab/common/node';
import { GPT, loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { saveTokenizerAtomic } from '../corpus';
import { listCheckpoints } from '../train/checkpoint';

/** The settings --init-from decides (what a pretraining config could otherwise set). */
export interface InitFromSettings {
  initFrom?: string;
  preset?: string;
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  nPositions?: number;
  vocabSize?: number;
  tokenizer?: string;
  dropout?: number;
  blockSize: number;
}

export interface InitialModel {
  /** The checkpoint directory the weights came from. */
  dir: string;
  model: GPT;
  tokenizer: BPETokenizer;
  /** The tokenizer as tokenizer.json in the run directory (what checkpoints copy and a --resume reloads). */
  tokenizerFile: string;
}

const hasWeights = (dir: string) =>
  fs.existsSync(path.join(dir, 'model.safetensors')) || fs.existsSync(path.join(dir, 'model.safetensors.index.json'));

/** The model directory of --init-from: the directory itself, or the newest checkpoint of a run directory. */
export function initCheckpointDir(dir: string): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--init-from ${dir}: no such directory`);
  if (hasWeights(dir)) return dir;
  const list = listCheckpoints(dir);
  if (list.length) return list[list.length - 1]!.dir;
  throw new UsageError(
    `--init-from ${dir}: no model here (expected config.json + model.safetensors, or a run directory with checkpoints/)`,
  );
}

/** Shape settings given explicitly that disagree with the checkpoint's configuration → a usage error naming the flag. */
function checkConflicts(given: Partial<InitFromSettings>, model: GPT, tokenizer: BPETokenizer, dir: string): void {
  const c = model.config;
  const from = `--init-from ${dir}`;
  if (given.preset !== undefined)
    throw new UsageError(`--preset conflicts with ${from}: the model configuration comes from the checkpoint`);
  if (given.tokenizer !== undefined) throw new UsageError(`--tokenizer conflicts with ${from}: the tokenizer comes from the checkpoint`);
  const shape: [keyof InitFromSettings, string, number][] = [
    ['nLayer', 'n-layer', c.nLayer],
    ['nHead', 'n-head', c.nHead],
    ['nEmbd', 'n-embd', c.nEmbd],
    ['nPositions', 'n-positions', c.nPositions],
    ['vocabSize', 'vocab-size', tokenizer.vocabSize],
  ];
  for (const [key, flag, actual] of shape) {
    const v = given[key];
    if (v !== undefined && v !== actual)
      throw new UsageError(`--${flag} ${v} conflicts with ${from} (${flag.replace('-', '_')}=${actual})`);
  }
}

/**
 * Loads the model and tokenizer of --init-from and writes the tokenizer as `<runDir>/tokenizer.json`. `given` holds
 * only the settings the user gave (flags or --config). --dropout, a training setting, replaces the checkpoint's
 * dropout rates; without it they are kept.
 */
export async function initialModel(dirGiven: string, given: Partial<InitFromSettings>, runDir: string): Promise<InitialModel> {
  const dir = initCheckpointDir(dirGiven);
  let tokenizer: BPETokenizer;
  try {
    tokenizer = BPETokenizer.fromDir(dir);
  } catch (e) {
    throw new UsageError(`--init-from ${dirGiven}: ${(e as Error).message.replace(/^fromDir: /, '')}`);
  }
  let model = await loadGPT(dir);
  try {
    checkConflicts(given, model, tokenizer, dirGiven);
    const c = model.config;
    if (tokenizer.vocabSize > c.vocabSize) {
      throw new UsageError(`--init-from ${dirGiven}: the tokenizer has ${tokenizer.vocabSize} tokens, the model only ${c.vocabSize}`);
    }
    const blockSize = given.blockSize;
    if (blockSize !== undefined && blockSize > c.nPositions) {
      throw new UsageError(`--block-size ${blockSize} is longer than the context of --init-from ${dirGiven} (n_positions=${c.nPositions})`);
    }
    const d = given.dropout;
    if (d !== undefined && (d !== c.embdDropout || d !== c.attnDropout || d !== c.residDropout)) {
      const weights = model.namedWeights();
      const rebuilt = GPT.fromWeights({ ...c, embdDropout: d, attnDropout: d, residDropout: d }, weights);
      model.dispose();
      model = rebuilt;
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  fs.mkdirSync(runDir, { recursive: true });
  const tokenizerFile = path.join(runDir, 'tokenizer.json');
  saveTokenizerAtomic(tokenizer, tokenizerFile);
  return { dir, model, tokenizer, tokenizerFile };
}

/**
 * The `chat_template` of a model directory's tokenizer_config.json, so that a model continued from a chat model
 * keeps its template (undefined without the file or the key; an unreadable file is the directory's error).
 */
export function readChatTemplate(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  const t = (json as { chat_template?: unknown } | null)?.chat_template;
  return typeof t === 'string' && t.trim() ? t : undefined;
}
