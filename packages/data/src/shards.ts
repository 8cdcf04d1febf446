import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Doc, DocStream } from './types';
import { Rng } from '@gptlab/common';
import { AtomicWriter, writeFileAtomic } from '@gptlab/common/node';
import { utf8Length } from './util';

/** What shard writing needs from a tokenizer (BPETokenizer from @gptlab/tokenizer satisfies it). */
export interface ShardTokenizer {
  encode(text: string): ArrayLike<number>;
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`, written after every document (required: a tokenizer without one is rejected). */
  readonly eosId: number | undefined;
  /** A stable fingerprint of the tokenizer (stored in the manifest). */
  hash(): string;
}

export type ShardDtype = 'uint16' | 'uint32';

export interface ShardFileInfo {
  file: string;
  tokens: number;
  bytes: number;
}

export interface SplitManifest {
  docs: number;
  tokens: number;
  /** UTF-8 bytes of the documents' text. */
  textBytes: number;
  shards: ShardFileInfo[];
}

export interface ShardManifest {
  format: 'gptlab-token-shards';
  version: 1;
  dtype: ShardDtype;
  vocabSize: number;
  eosId: number;
  tokenizerHash: string;
  valFraction: number;
  shardTokens: number;
  createdAt: string;
  splits: { train: SplitManifest; val: SplitManifest };
  /** Anything the caller adds (e.g. the pipeline summary). */
  extra?: Record<string, unknown>;
}

export const MANIFEST_NAME = 'manifest.json';

/** The smallest shard dtype that holds every id of a vocabulary. */
export function dtypeForVocab(vocabSize: number): ShardDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export interface WriteShardsOptions {
  tokenizer: ShardTokenizer;
  outDir: string;
  /** Fraction of documents that go to the validation split (default 0.01); documents are assigned by position so
   * that exactly round(n·valFraction) of them land in val. */
  valFraction?: number;
  /** Tokens per shard file (default 2^26 = 64M). */
  shardTokens?: number;
  /** Force a dtype; default: uint16 when the vocabulary fits, else uint32. */
  dtype?: ShardDtype;
  /** Extra manifest fields. */
  extra?: Record<string, unknown>;
  /** Called after each document with the running totals, the document and its tokens (end-of-text included). */
  onProgress?: (p: { docs: number; tokens: number; doc: Doc; docTokens: number }) => void;
}

/** Writes one split as numbered shard files, each under a temporary name until it is complete. */
class SplitWriter {
  readonly info: SplitManifest = { docs: 0, tokens: 0, textBytes: 0, shards: [] };
  private buf: Uint16Array | Uint32Array;
  private bufLen = 0;
  private shard: AtomicWriter | null = null;
  private shardIndex = 0;
  private inShard = 0;
  /** Completed shard files (removed again by abort). */
  private readonly written: string[] = [];
  constructor(
    private readonly dir: string,
    private readonly split: string,
    private readonly dtype: ShardDtype,
    private readonly shardTokens: number,
  ) {
    this.buf = dtype === 'uint16' ? new Uint16Array(1 << 16) : new Uint32Array(1 << 16);
  }
  private fileName(i: number): string {
    return `${this.split}_${String(i).padStart(6, '0')}.bin`;
  }
  private flush(): void {
    if (this.bufLen === 0) return;
    this.shard!.write(new Uint8Array(this.buf.buffer, 0, this.bufLen * this.buf.BYTES_PER_ELEMENT));
    this.bufLen = 0;
  }
  private closeShard(): void {
    if (this.shard === null) return;
    this.flush();
    this.shard.commit();
    this.written.push(this.shard.target);
    this.shard = null;
    this.info.shards.push({ file: this.fileName(this.shardIndex), tokens: this.inShard, bytes: this.inShard * this.buf.BYTES_PER_ELEMENT });
    this.shardIndex++;
  }
  push(tok: number): void {
    if (this.shard === null) {
      this.shard = new AtomicWriter(path.join(this.dir, this.fileName(this.shardIndex)));
      this.inShard = 0;
    }
    this.buf[this.bufLen++] = tok;
    this.inShard++;
    this.info.tokens++;
    if (this.bufLen === this.buf.length) this.flush();
    if (this.inShard >= this.shardTokens) this.closeShard();
  }
  finish(): void {
    this.closeShard();
  }
  /** Removes the shard being written and every completed one. */
  abort(): void {
    this.shard?.abort();
    this.shard = null;
    for (const w of this.written) fs.rmSync(w, { force: true });
  }
}

/**
 * Tokenises a document stream into binary shards: `train_000000.bin`, `val_000000.bin`, ... (little-endian
 * uint16/uint32 token ids, each document followed by eos), then `manifest.json`. Every file is written under a
 * temporary name and renamed when complete; the manifest is written last, and an existing manifest is removed
 * first, so a failed run never leaves a directory that looks complete.
 */
export async function writeShards(stream: DocStream, opts: WriteShardsOptions): Promise<ShardManifest> {
  const tok = opts.tokenizer;
  const vocab = tok.vocabSize;
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`tokenizer vocabSize must be a positive integer, got ${vocab}`);
  const dtype = opts.dtype ?? dtypeForVocab(vocab);
  if (dtype === 'uint16' && vocab > 65536)
    throw new Error(`tokenizer vocabulary (${vocab} ids) does not fit uint16 shards (at most 65,536 ids); use dtype uint32`);
  if (dtype !== 'uint16' && dtype !== 'uint32') throw new Error(`unknown shard dtype ${dtype} (uint16 or uint32)`);
  const eosId = tok.eosId;
  if (eosId === undefined || eosId === null)
    throw new Error('tokenizer has no end-of-text id (eosId): train it with specialTokens ["<|endoftext|>"]');
  if (!(Number.isInteger(eosId) && eosId >= 0 && eosId < vocab))
    throw new Error(`tokenizer eosId ${eosId} is outside the vocabulary [0, ${vocab})`);
  const valFraction = opts.valFraction ?? 0.01;
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  const shardTokens = opts.shardTokens ?? 1 << 26;
  if (!(Number.isInteger(shardTokens) && shardTokens > 0)) throw new Error(`shardTokens must be a positive integer, got ${shardTokens}`);
  fs.mkdirSync(opts.outDir, { recursive: true });
  const manifestPath = path.join(opts.outDir, MANIFEST_NAME);
  fs.rmSync(manifestPath, { force: true });
  const train = new SplitWriter(opts.outDir, 'train', dtype, shardTokens);
  const val = new SplitWriter(opts.outDir, 'val', dtype, shardTokens);
  let n = 0;
  try {
    for await (const doc of stream) {
      const isVal = Math.floor((n + 1) * valFraction + 0.5) > Math.floor(n * valFraction + 0.5);
      n++;
      const w = isVal ? val : train;
      const ids = tok.encode(doc.text);
      for (let i = 0; i < ids.length; i++) {
        const t = ids[i]!;
        if (!(t >= 0 && t < vocab && Number.isInteger(t)))
          throw new Error(`token id ${t} of document ${doc.id} is outside the vocabulary [0, ${vocab})`);
        w.push(t);
      }
      w.push(eosId);
      w.info.docs++;
      w.info.textBytes += utf8Length(doc.text);
      opts.onProgress?.({ docs: n, tokens: train.info.tokens + val.info.tokens, doc, docTokens: ids.length + 1 });
    }
    if (n === 0) throw new Error('empty corpus: no documents reached the tokeniser (check the sources and the filter/dedup reports)');
    if (valFraction > 0 && val.info.docs === 0)
      throw new Error(
        `validation split is empty: ${n} documents × valFraction ${valFraction} rounds to 0; use more documents or a larger valFraction`,
      );
    train.finish();
    val.finish();
    const manifest: ShardManifest = {
      format: 'gptlab-token-shards',
      version: 1,
      dtype,
      vocabSize: vocab,
      eosId,
      tokenizerHash: tok.hash(),
      valFraction,
      shardTokens,
      createdAt: new Date().toISOString(),
      splits: { train: train.info, val: val.info },
      ...(opts.extra ? { extra: opts.extra } : {}),
    };
    writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2));
    return manifest;
  } catch (e) {
    train.abort();
    val.abort();
    throw e;
  }
}

/** Reads a shard directory written by writeShards. */
export function readManifest(dir: string): ShardManifest {
  const p = path.join(dir, MANIFEST_NAME);
  if (!fs.existsSync(p))
    throw new Error(`no ${MANIFEST_NAME} in ${dir}: not a complete shard directory (was the prepare run interrupted?)`);
  const m = JSON.parse(fs.readFileSync(p, 'utf8')) as ShardManifest;
  if (m.format !== 'gptlab-token-shards') throw new Error(`${p}: not a gptlab token shard manifest`);
  return m;
}

/** Random-access reader of one split, seen as one concatenated token stream across its shards. */
export class SplitReader {
  readonly tokens: number;
  private readonly starts: number[] = [];
  private readonly fds: number[] = [];
  private readonly bpe: number;
  private scratch: Buffer;
  constructor(
    readonly dir: string,
    readonly manifest: ShardManifest,
    readonly split: 'train' | 'val',
  ) {
    this.bpe = manifest.dtype === 'uint16' ? 2 : 4;
    let acc = 0;
    for (const s of manifest.splits[split].shards) {
      const p = path.join(dir, s.file);
      let size: number;
      try {
        size = fs.statSync(p).size;
      } catch {
        throw new Error(`shard ${p} listed in the manifest is missing`);
      }
      if (size !== s.tokens * this.bpe) throw new Error(`shard ${p} has ${size} bytes, the manifest says ${s.tokens * this.bpe}`);
      this.starts.push(acc);
      this.fds.push(fs.openSync(p, 'r'));
      acc += s.tokens;
    }
    this.tokens = acc;
    this.scratch = Buffer.alloc(1 << 16);
  }
  /** Copies tokens [start, start + len) into out[outOff ..]. */
  read(start: number, len: number, out: Int32Array, outOff = 0): void {
    if (start < 0 || start + len > this.tokens)
      throw new Error(`read [${start}, ${start + len}) outside the ${this.split} split (${this.tokens} tokens)`);
    let pos = start;
    let o = outOff;
    let remaining = len;
    // binary search the shard holding `pos`
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    let s = lo;
    while (remaining > 0) {
      const shardTokens = this.manifest.splits[this.split].shards[s]!.tokens;
      const inShard = pos - this.starts[s]!;
      const take = Math.min(remaining, shardTokens - inShard);
      const nbytes = take * this.bpe;
      if (this.scratch.length < nbytes) this.scratch = Buffer.alloc(nbytes);
      const got = fs.readSync(this.fds[s]!, this.scratch, 0, nbytes, inShard * this.bpe);
      if (got !== nbytes) throw new Error(`short read from ${this.manifest.splits[this.split].shards[s]!.file}`);
      if (this.bpe === 2) for (let i = 0; i < take; i++) out[o + i] = this.scratch.readUInt16LE(i * 2);
      else for (let i = 0; i < take; i++) out[o + i] = this.scratch.readUInt32LE(i * 4);
      o += take;
      pos += take;
      remaining -= take;
      s++;
    }
  }
  close(): void {
    for (const fd of this.fds) fs.closeSync(fd);
    this.fds.length = 0;
  }
}

/** A batch of B windows of T + 1 consecutive tokens, row-major [B, T + 1]. */
export interface TokenBatch {
  tokens: Int32Array;
  batchSize: number;
  /** T: inputs are columns 0..T-1, targets columns 1..T. */
  blockSize: number;
}

/** Splits a [B, T+1] batch into inputs x [B, T] and next-token targets y [B, T]. */
export function inputsAndTargets(b: TokenBatch): { x: Int32Array; y: Int32Array } {
  const T = b.blockSize;
  const x = new Int32Array(b.batchSize * T);
  const y = new Int32Array(b.batchSize * T);
  for (let r = 0; r < b.batchSize; r++) {
    x.set(b.tokens.subarray(r * (T + 1), r * (T + 1) + T), r * T);
    y.set(b.tokens.subarray(r * (T + 1) + 1, (r + 1) * (T + 1)), r * T);
  }
  return { x, y };
}

export interface TokenDatasetOptions {
  /** Context length T (each window has T + 1 tokens). */
  blockSize: number;
  batchSize: number;
  seed?: number;
}

/**
 * Training/validation batches from a shard directory: random (seeded) windows of the train split, and a
 * sequential pass over the validation split. Shards are read with positioned reads, so memory stays O(B·T).
 */
export class TokenDataset {
  readonly manifest: ShardManifest;
  readonly train: SplitReader;
  readonly val: SplitReader;
  private rng: Rng;
  constructor(
    readonly dir: string,
    readonly opts: TokenDatasetOptions,
  ) {
    if (!(Number.isInteger(opts.blockSize) && opts.blockSize >= 1))
      throw new Error(`blockSize must be a positive integer, got ${opts.blockSize}`);
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    this.manifest = readManifest(dir);
    this.train = new SplitReader(dir, this.manifest, 'train');
    this.val = new SplitReader(dir, this.manifest, 'val');
    this.rng = new Rng(opts.seed ?? 1);
  }
  get vocabSize(): number {
    return this.manifest.vocabSize;
  }
  /** One random batch from a split (default train). */
  nextBatch(split: 'train' | 'val' = 'train'): TokenBatch {
    const r = split === 'train' ? this.train : this.val;
    const T = this.opts.blockSize;
    const B = this.opts.batchSize;
    if (r.tokens < T + 1) throw new Error(`the ${split} split has ${r.tokens} tokens, fewer than blockSize + 1 = ${T + 1}`);
    const out = new Int32Array(B * (T + 1));
    // 53-bit uniforms: a split can hold more than 2^32 tokens, which Rng.int's 32-bit draw could not all reach.
    for (let b = 0; b < B; b++) r.read(Math.floor(this.rng.next53() * (r.tokens - T)), T + 1, out, b * (T + 1));
    return { tokens: out, batchSize: B, blockSize: T };
  }
  /** Sequential batches over a split (default val): windows start at 0, T, 2T, ... so every token after the first
   * is a target exactly once; the last batch may have fewer rows. */
  *sequential(split: 'train' | 'val' = 'val', maxBatches = Infinity): Generator<TokenBatch> {
    const r = split === 'train' ? this.train : this.val;
    const T = this.opts.blockSize;
    const B = this.opts.batchSize;
    const windows = r.tokens >= T + 1 ? Math.floor((r.tokens - 1) / T) : 0;
    if (windows === 0) throw new Error(`the ${split} split has ${r.tokens} tokens, fewer than blockSize + 1 = ${T + 1}`);
    let w = 0;
    let batches = 0;
    while (w < windows && batches < maxBatches) {
      const rows = Math.min(B, windows - w);
      const out = new Int32Array(rows * (T + 1));
      for (let b = 0; b < rows; b++) r.read((w + b) * T, T + 1, out, b * (T + 1));
      w += rows;
      batches++;
      yield { tokens: out, batchSize: rows, blockSize: T };
    }
  }
  close(): void {
    this.train.close();
    this.val.close();
  }
}

/** Opens the splits of a shard directory for random access (TokenDataset builds batches on top of it). */
export class ShardReader {
  readonly manifest: ShardManifest;
  private readers = new Map<string, SplitReader>();
  constructor(readonly dir: string) {
    this.manifest = readManifest(dir);
  }
  split(name: 'train' | 'val'): SplitReader {
    let r = this.readers.get(name);
    if (!r) {
      r = new SplitReader(this.dir, this.manifest, name);
      this.readers.set(name, r);
    }
    return r;
  }
  /** All tokens of a split (small splits only). */
  readAll(name: 'train' | 'val'): Int32Array {
    const r = this.split(name);
    const out = new Int32Array(r.tokens);
    if (r.tokens) r.read(0, r.tokens, out);
    return out;
  }
  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}
