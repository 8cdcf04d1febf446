// Corpus → tokenizer → token shards, cached by content hash: the data half of `pretrain --corpus` and `demo`.
// Validation is split by documents when the corpus has enough of them; a corpus of a few long documents
// (nanoGPT's single input.txt) is split by tokens instead: see token-splits.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@gptlab/common/node';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { prepare, readManifest, sourceFromSpec, wordnetDictPath, type ShardManifest } from '@gptlab/data';
import { CommandError } from './cli/command';
import { tokenSplits, type TokenSplits } from './train/token-splits';

/**
 * Fewest validation documents of a document-level split: with fewer, one document's quirks would be the
 * validation loss, so the shards get no validation split and validation is the end of the token stream.
 */
export const MIN_VAL_DOCUMENTS = 10;

/** A hash of a corpus spec's content: file bytes for paths, the dictionary files for `wordnet`. */
export function corpusHash(specs: string[]): string {
  const h = crypto.createHash('sha256');
  const addFile = (f: string) => {
    h.update(f.split(path.sep).slice(-2).join('/'));
    h.update(fs.readFileSync(f));
  };
  for (const spec of specs) {
    h.update('\0spec:' + spec);
    if (spec === 'wordnet' || spec.startsWith('wordnet:')) {
      const dir = wordnetDictPath();
      for (const f of fs
        .readdirSync(dir)
        .filter((n) => n.startsWith('data.'))
        .sort())
        addFile(path.join(dir, f));
      continue;
    }
    const file = spec.replace(/^(jsonl|text|lines|paragraphs):/, '').split('#')[0]!;
    if (!fs.existsSync(file)) throw new CommandError(`--corpus ${spec}: no such file or directory`);
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      const walk = (d: string): string[] =>
        fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
      for (const f of walk(file).sort()) addFile(f);
    } else addFile(file);
  }
  return h.digest('hex').slice(0, 16);
}

/** Writes tokenizer.json so that a crash never leaves half a file (a cache must be complete or absent). */
export function saveTokenizerAtomic(tokenizer: BPETokenizer, file: string): void {
  writeFileAtomic(file, JSON.stringify(tokenizer.toJSON()));
}

/** Documents the corpus specs yield (before filtering and dedup). */
export async function countDocuments(specs: string[]): Promise<number> {
  let n = 0;
  for (const spec of specs) for await (const _ of sourceFromSpec(spec)) n++;
  return n;
}

/** All document texts of the corpus specs (for tokenizer training). */
export async function corpusTexts(specs: string[], opts: { field?: string; skipBad?: boolean } = {}): Promise<string[]> {
  const texts: string[] = [];
  for (const spec of specs) {
    for await (const doc of sourceFromSpec(spec, opts)) texts.push(doc.text);
  }
  if (texts.length === 0) throw new CommandError(`--corpus ${specs.join(' ')}: no documents`);
  return texts;
}

export interface TokenizerOptions {
  vocabSize: number;
  minFrequency?: number;
  log?: (msg: string) => void;
}

/** Trains a byte-level BPE tokenizer with <|endoftext|> (cached in `cacheDir` by corpus hash + size). */
export async function trainedTokenizer(
  specs: string[],
  cacheDir: string,
  o: TokenizerOptions,
): Promise<{ tokenizer: BPETokenizer; file: string; cached: boolean }> {
  const key = `${corpusHash(specs)}-v${o.vocabSize}-f${o.minFrequency ?? 2}`;
  const file = path.join(cacheDir, `tokenizer-${key}.json`);
  if (fs.existsSync(file)) return { tokenizer: BPETokenizer.load(file), file, cached: true };
  const t0 = performance.now();
  const texts = await corpusTexts(specs);
  const tokenizer = BPETokenizer.train(texts, { vocabSize: o.vocabSize, specialTokens: [ENDOFTEXT], minFrequency: o.minFrequency ?? 2 });
  saveTokenizerAtomic(tokenizer, file);
  o.log?.(
    `tokenizer: trained ${tokenizer.vocabSize} tokens on ${texts.length.toLocaleString('en-US')} document${texts.length === 1 ? '' : 's'} in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${file}`,
  );
  return { tokenizer, file, cached: false };
}

export interface ShardOptions {
  valFraction?: number;
  nearDedup?: boolean;
  threshold?: number;
  log?: (msg: string) => void;
}

/** Runs the data pipeline (normalise → filter → exact + near dedup → shards) once per corpus + tokenizer. */
export async function preparedShards(
  specs: string[],
  tokenizer: BPETokenizer,
  cacheDir: string,
  o: ShardOptions = {},
): Promise<{ dir: string; manifest: ShardManifest; cached: boolean }> {
  const valFraction = o.valFraction ?? 0.05;
  // "split-auto": the split rule below is part of what the cached shards are.
  const key = crypto
    .createHash('sha256')
    .update([corpusHash(specs), tokenizer.hash(), valFraction, o.nearDedup ?? true, o.threshold ?? 0.8, 'split-auto'].join('|'))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cacheDir, `shards-${key}`);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return { dir, manifest: readManifest(dir), cached: true };
  const t0 = performance.now();
  const docs = await countDocuments(specs);
  const byDocuments = Math.round(docs * valFraction) >= MIN_VAL_DOCUMENTS;
  if (!byDocuments) {
    o.log?.(
      `data: ${docs} document${docs === 1 ? '' : 's'}, too few for a validation split by documents: validation will be the last ${100 * valFraction}% of the token stream`,
    );
  }
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const res = await prepare({
      sources: specs,
      tokenizer,
      outDir: staging,
      valFraction: byDocuments ? valFraction : 0,
      nearDedup: o.nearDedup === false ? false : { threshold: o.threshold ?? 0.8 },
    });
    tokenizer.save(path.join(staging, 'tokenizer.json')); // inside the staging directory: renamed whole below
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
    const m = res.manifest;
    o.log?.(
      `data: ${m.splits.train.docs.toLocaleString('en-US')} train / ${m.splits.val.docs.toLocaleString('en-US')} val documents, ` +
        `${m.splits.train.tokens.toLocaleString('en-US')} / ${m.splits.val.tokens.toLocaleString('en-US')} tokens ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)}s; report ${path.join(dir, 'report.json')})`,
    );
    return { dir, manifest: readManifest(dir), cached: false };
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Loads a shard directory's tokenizer (or `tokenizerPath`) and checks it made the shards. */
export function shardTokenizer(
  dataDir: string,
  manifest: ShardManifest,
  tokenizerPath?: string,
): { tokenizer: BPETokenizer; file: string } {
  const file = tokenizerPath ?? path.join(dataDir, 'tokenizer.json');
  if (!fs.existsSync(file)) {
    throw new CommandError(`${dataDir}: no tokenizer.json next to the shards; pass --tokenizer FILE (the tokenizer that made them)`);
  }
  const tokenizer = BPETokenizer.load(file);
  const h = tokenizer.hash();
  if (h !== manifest.tokenizerHash) {
    throw new CommandError(
      `the shards in ${dataDir} were made with another tokenizer (manifest tokenizerHash ${manifest.tokenizerHash}, ${file} hashes to ${h}); ` +
        `use the tokenizer that prepared them or re-run \`gptlab-train data prepare\``,
    );
  }
  if (tokenizer.vocabSize !== manifest.vocabSize) {
    throw new CommandError(`${file} has ${tokenizer.vocabSize} tokens but the shards in ${dataDir} were written for ${manifest.vocabSize}`);
  }
  return { tokenizer, file };
}

/** Where a run's tokens come from (a part of pretrain's settings). */
export interface DataSettings {
  /** Shard directory from `data prepare`. */
  data?: string;
  /** Corpus specs (wordnet, files, JSONL) to make shards from, cached. */
  corpus?: string[];
  tokenizer?: string;
  vocabSize: number;
  cacheDir?: string;
  valFraction: number;
  /** Training context T: validation needs at least one window of T + 1 tokens. */
  blockSize: number;
}

export interface TrainingData extends TokenSplits {
  tokenizer: BPETokenizer;
  /** The tokenizer.json copied into every checkpoint. */
  tokenizerFile: string;
  dataDir: string;
}

/** The tokenizer and the token streams of a run: shards given by --data, or made (cached) from --corpus. */
export async function trainingData(s: DataSettings, runDir: string, log: (msg: string) => void): Promise<TrainingData> {
  let dataDir: string;
  let tokenizer: BPETokenizer;
  let tokenizerFile: string;
  if (s.data) {
    dataDir = path.resolve(s.data);
    let manifest: ShardManifest;
    try {
      manifest = readManifest(dataDir);
    } catch (e) {
      throw new CommandError(`--data ${s.data}: ${(e as Error).message}`);
    }
    ({ tokenizer, file: tokenizerFile } = shardTokenizer(dataDir, manifest, s.tokenizer));
  } else {
    const cacheDir = path.resolve(s.cacheDir ?? path.join(runDir, 'cache'));
    if (s.tokenizer) {
      tokenizer = BPETokenizer.load(s.tokenizer);
      tokenizerFile = path.resolve(s.tokenizer);
    } else {
      ({ tokenizer, file: tokenizerFile } = await trainedTokenizer(s.corpus!, cacheDir, { vocabSize: s.vocabSize, log }));
    }
    ({ dir: dataDir } = await preparedShards(s.corpus!, tokenizer, cacheDir, { valFraction: s.valFraction, log }));
  }
  return { tokenizer, tokenizerFile, dataDir, ...tokenSplits(dataDir, s.valFraction, s.blockSize) };
}
