// Corpus → tokenizer → token shards, cached by content hash: the data half of `pretrain --corpus` and `demo`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { prepare, readManifest, sourceFromSpec, wordnetDictPath, type ShardManifest } from '@gptlab/data';
import { CommandError } from '../cli/router';

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
      for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('data.')).sort()) addFile(path.join(dir, f));
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
export async function trainedTokenizer(specs: string[], cacheDir: string, o: TokenizerOptions): Promise<{ tokenizer: BPETokenizer; file: string; cached: boolean }> {
  const key = `${corpusHash(specs)}-v${o.vocabSize}-f${o.minFrequency ?? 2}`;
  const file = path.join(cacheDir, `tokenizer-${key}.json`);
  if (fs.existsSync(file)) return { tokenizer: BPETokenizer.load(file), file, cached: true };
  const t0 = performance.now();
  const texts = await corpusTexts(specs);
  const tokenizer = BPETokenizer.train(texts, { vocabSize: o.vocabSize, specialTokens: [ENDOFTEXT], minFrequency: o.minFrequency ?? 2 });
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  tokenizer.save(tmp);
  fs.renameSync(tmp, file);
  o.log?.(`tokenizer: trained ${tokenizer.vocabSize} tokens on ${texts.length.toLocaleString('en-US')} documents in ${((performance.now() - t0) / 1000).toFixed(1)}s → ${file}`);
  return { tokenizer, file, cached: false };
}

export interface ShardOptions {
  valFraction?: number;
  nearDedup?: boolean;
  threshold?: number;
  log?: (msg: string) => void;
}

/** Runs the data pipeline (normalise → filter → exact + near dedup → shards) once per corpus + tokenizer. */
export async function preparedShards(specs: string[], tokenizer: BPETokenizer, cacheDir: string, o: ShardOptions = {}): Promise<{ dir: string; manifest: ShardManifest; cached: boolean }> {
  const key = crypto
    .createHash('sha256')
    .update([corpusHash(specs), tokenizer.hash(), o.valFraction ?? 0.05, o.nearDedup ?? true, o.threshold ?? 0.8].join('|'))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cacheDir, `shards-${key}`);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return { dir, manifest: readManifest(dir), cached: true };
  const t0 = performance.now();
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const res = await prepare({
      sources: specs,
      tokenizer,
      outDir: staging,
      valFraction: o.valFraction ?? 0.05,
      nearDedup: o.nearDedup === false ? false : { threshold: o.threshold ?? 0.8 },
    });
    tokenizer.save(path.join(staging, 'tokenizer.json'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
    const f = res.report.funnel as unknown as { name?: string; stage?: string; docsOut?: number; docs?: number }[] | undefined;
    const m = res.manifest;
    o.log?.(
      `data: ${m.splits.train.docs.toLocaleString('en-US')} train / ${m.splits.val.docs.toLocaleString('en-US')} val documents, ` +
        `${m.splits.train.tokens.toLocaleString('en-US')} / ${m.splits.val.tokens.toLocaleString('en-US')} tokens ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)}s; report ${path.join(dir, 'report.json')})` +
        (Array.isArray(f) ? '' : ''),
    );
    return { dir, manifest: readManifest(dir), cached: false };
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Loads a shard directory's tokenizer (or `tokenizerPath`) and checks it made the shards. */
export function shardTokenizer(dataDir: string, manifest: ShardManifest, tokenizerPath?: string): { tokenizer: BPETokenizer; file: string } {
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
