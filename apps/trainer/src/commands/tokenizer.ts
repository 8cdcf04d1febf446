// `gptlab-train tokenizer train|encode`: thin wrappers over @gptlab/tokenizer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { parseFlags, UsageError, type FlagSpecs } from '../cli/flags';
import { CommandError, dispatch, type Command } from '../cli/router';
import { corpusTexts } from './corpus';

const TRAIN_FLAGS: FlagSpecs = {
  corpus: { type: 'list', help: 'wordnet, text files, directories or JSONL (file.jsonl#field)', metavar: 'SPEC...' },
  'vocab-size': { type: 'int', help: 'vocabulary size including the 256 bytes and special tokens', default: 8192 },
  'min-frequency': { type: 'int', help: 'a pair must occur this often to merge', default: 2 },
  special: { type: 'list', help: 'special tokens (default <|endoftext|>)', metavar: 'TOKEN...' },
  field: { type: 'string', help: 'JSONL text field', default: 'text' },
  out: { type: 'string', help: 'output tokenizer.json', metavar: 'FILE' },
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

const train: Command = {
  name: 'train',
  summary: 'learn a byte-level BPE vocabulary from a corpus',
  flags: TRAIN_FLAGS,
  async run(argv, io) {
    const { flags } = parseFlags(argv, TRAIN_FLAGS, 'tokenizer train');
    const corpus = (flags.corpus as string[] | undefined) ?? [];
    if (!corpus.length) throw new UsageError('tokenizer train needs --corpus wordnet|PATH...');
    if (!flags.out) throw new UsageError('tokenizer train needs --out FILE');
    const vocabSize = (flags['vocab-size'] as number | undefined) ?? 8192;
    if (vocabSize < 257) throw new UsageError(`--vocab-size must be at least 257 (256 bytes + <|endoftext|>), got ${vocabSize}`);
    const t0 = performance.now();
    const texts = await corpusTexts(corpus, { field: flags.field as string | undefined });
    const tok = BPETokenizer.train(texts, {
      vocabSize,
      specialTokens: (flags.special as string[] | undefined) ?? [ENDOFTEXT],
      minFrequency: (flags['min-frequency'] as number | undefined) ?? 2,
    });
    const out = flags.out as string;
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    tok.save(tmp);
    fs.renameSync(tmp, out);
    const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    io.stderr(
      `trained ${tok.vocabSize} tokens on ${texts.length.toLocaleString('en-US')} documents (${(bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${out} (hash ${tok.hash().slice(0, 12)})\n`,
    );
    return 0;
  },
};

const encode: Command = {
  name: 'encode',
  summary: 'encode stdin to token ids',
  flags: ENCODE_FLAGS,
  async run(argv, io) {
    const { flags } = parseFlags(argv, ENCODE_FLAGS, 'tokenizer encode');
    let tok: BPETokenizer;
    if (flags.tokenizer && flags.gpt2) throw new UsageError('give --tokenizer or --gpt2, not both');
    if (typeof flags.tokenizer === 'string') tok = BPETokenizer.load(flags.tokenizer);
    else if (typeof flags.gpt2 === 'string') {
      const dir = flags.gpt2;
      const pairs: [string, string][] = [
        ['encoder.json', 'vocab.bpe'],
        ['vocab.json', 'merges.txt'],
      ];
      const found = pairs.find(([a, b]) => fs.existsSync(path.join(dir, a)) && fs.existsSync(path.join(dir, b)));
      if (!found) throw new CommandError(`--gpt2 ${dir}: expected encoder.json + vocab.bpe or vocab.json + merges.txt in it`);
      tok = BPETokenizer.fromGPT2Files(path.join(dir, found[0]), path.join(dir, found[1]));
    } else throw new UsageError('tokenizer encode needs --tokenizer FILE or --gpt2 DIR');
    const text = await readStdin(io.stdin);
    const ids = tok.encode(text, flags['allow-special'] ? { allowedSpecial: 'all' } : undefined);
    io.stdout(flags.json ? JSON.stringify(ids) + '\n' : ids.join(' ') + '\n');
    return 0;
  },
};

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'train a BPE tokenizer (train) or encode text (encode)',
  usage: 'tokenizer train|encode [flags]',
  run: (argv, io) => dispatch([train, encode], argv, io, 'tokenizer '),
};
