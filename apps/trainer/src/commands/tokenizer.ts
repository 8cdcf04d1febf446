// `gptlab-train tokenizer train|encode`: thin wrappers over @gptlab/tokenizer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import type { CommandGroup, TrainerCommand } from '../cli/command';
import { corpusFlag, TEXT_FIELD_FLAGS, vocabSizeFlag } from '../cli/flag-groups';
import { corpusTexts, saveTokenizerAtomic } from '../corpus';

const TRAIN_FLAGS: FlagSpecs = {
  corpus: { ...corpusFlag('wordnet, text files, directories or JSONL (file.jsonl#field)'), required: true },
  'vocab-size': vocabSizeFlag(8192, 'vocabulary size including the 256 bytes and special tokens'),
  'min-frequency': { type: 'int', min: 1, help: 'a pair must occur this often to merge', default: 2 },
  special: { type: 'list', help: 'special tokens', default: [ENDOFTEXT], metavar: 'TOKEN,...' },
  ...TEXT_FIELD_FLAGS,
  out: { type: 'string', required: true, help: 'output tokenizer.json', metavar: 'FILE' },
};

const ENCODE_FLAGS: FlagSpecs = {
  tokenizer: { type: 'string', help: 'tokenizer.json', metavar: 'FILE' },
  gpt2: { type: 'string', help: 'directory with encoder.json + vocab.bpe (or vocab.json + merges.txt)', metavar: 'DIR' },
  'allow-special': { type: 'bool', help: 'encode special-token spellings as special tokens' },
  json: { type: 'bool', help: 'print a JSON array instead of space-separated ids' },
};

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const train: TrainerCommand = {
  name: 'train',
  summary: 'learn a byte-level BPE vocabulary from a corpus',
  flags: TRAIN_FLAGS,
  async run({ flags }, io) {
    const f = withDefaults(TRAIN_FLAGS, flags);
    const t0 = performance.now();
    const texts = await corpusTexts(f.corpus as string[], { field: f.field as string, skipBad: f['skip-bad'] === true });
    const tok = BPETokenizer.train(texts, {
      vocabSize: f['vocab-size'] as number,
      specialTokens: f.special as string[],
      minFrequency: f['min-frequency'] as number,
    });
    const out = f.out as string;
    saveTokenizerAtomic(tok, out);
    const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    io.stderr(
      `trained ${tok.vocabSize} tokens on ${texts.length.toLocaleString('en-US')} documents (${(bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${out} (hash ${tok.hash().slice(0, 12)})\n`,
    );
    return 0;
  },
};

/** The GPT-2 vocabulary files in `dir`: encoder.json + vocab.bpe (OpenAI) or vocab.json + merges.txt (Hugging Face). */
function gpt2Tokenizer(dir: string): BPETokenizer {
  for (const [vocab, merges] of [
    ['encoder.json', 'vocab.bpe'],
    ['vocab.json', 'merges.txt'],
  ] as const) {
    if (fs.existsSync(path.join(dir, vocab)) && fs.existsSync(path.join(dir, merges))) {
      return BPETokenizer.fromGPT2Files(path.join(dir, vocab), path.join(dir, merges));
    }
  }
  throw new Error(`--gpt2 ${dir}: expected encoder.json + vocab.bpe or vocab.json + merges.txt in it`);
}

const encode: TrainerCommand = {
  name: 'encode',
  summary: 'encode stdin to token ids',
  usage: 'encode (--tokenizer FILE | --gpt2 DIR) [flags] < text',
  flags: ENCODE_FLAGS,
  async run({ flags }, io) {
    const { tokenizer, gpt2 } = flags as { tokenizer?: string; gpt2?: string };
    if (tokenizer && gpt2) throw new UsageError('give --tokenizer or --gpt2, not both');
    if (!tokenizer && !gpt2) throw new UsageError('needs --tokenizer FILE or --gpt2 DIR');
    const tok = tokenizer ? BPETokenizer.load(tokenizer) : gpt2Tokenizer(gpt2!);
    const ids = tok.encode(await readStdin(io.stdin), flags['allow-special'] ? { allowedSpecial: 'all' } : undefined);
    io.stdout(flags.json ? JSON.stringify(ids) + '\n' : ids.join(' ') + '\n');
    return 0;
  },
};

export const tokenizerGroup: CommandGroup = {
  name: 'tokenizer',
  summary: 'train a BPE tokenizer (train) or encode text (encode)',
  commands: [train, encode],
};
