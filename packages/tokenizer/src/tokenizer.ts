// BPETokenizer: normaliser → pre-tokeniser → BPE model (through a word cache) → decoder, plus special tokens.
// This file is the facade, in the spirit of tiktoken's `Encoding`; the parts live next to it: the merge loop in
// model.ts, the cache in piece-cache.ts, the file formats in vocab-files.ts (GPT-2 / vocab.json + merges.txt)
// and tokenizer-json.ts (Hugging Face tokenizer.json), training in trainer.ts.

import { byteLevelToBytes, textEncoder } from './bytes';
import {
  ByteLevelDecoder,
  StreamingDecoder,
  appendTokenBytes,
  buildByteTables,
  type ByteSource,
  type ByteTables,
  type Decoder,
} from './decoder';
import { fileIO, readText } from './file-io';
import { describe, parseVocabJson } from './io';
import { BPEModel } from './model';
import { IdentityNormalizer, type Normalizer } from './normalizer';
import { IdBuffer, PieceCache } from './piece-cache';
import { GPT2PreTokenizer, type PreTokenizer } from './pretokenizer';
import { SpecialTokens, type AllowedSpecial } from './special-tokens';
import { partsFromTokenizerJson, tokenizerJson } from './tokenizer-json';
import { trainBPE, type TrainOptions, type TrainResult } from './trainer';
import { sha256Hex } from './sha256';
import { partsFromVocabFiles, vocabFilesOf, type LoadOptions, type VocabFileSources } from './vocab-files';

export const ENDOFTEXT = '<|endoftext|>';

/** The vocabulary file pairs fromDir / fromFiles accept, in order of preference (after tokenizer.json). */
const VOCAB_FILE_PAIRS = [
  ['vocab.json', 'merges.txt'],
  ['encoder.json', 'vocab.bpe'],
] as const;
/** Every file name fromDir reads. */
export const TOKENIZER_FILES = ['tokenizer.json', ...VOCAB_FILE_PAIRS.flat(), 'added_tokens.json'] as const;

const textDecoder = new TextDecoder();

function hasTokenizerFiles(files: Record<string, string>): boolean {
  return 'tokenizer.json' in files || VOCAB_FILE_PAIRS.some(([v, m]) => v in files && m in files);
}

export interface EncodeOptions {
  /**
   * Special tokens recognised in the text: 'all', or a set/array of their spellings. By default none: text that
   * merely contains a special token's spelling is encoded as ordinary text (like tiktoken's `encode_ordinary`).
   */
  allowedSpecial?: AllowedSpecial;
}

export interface BPETokenizerParts {
  model: BPEModel;
  normalizer?: Normalizer;
  preTokenizer?: PreTokenizer;
  decoder?: Decoder;
  /** Special token spelling → id (ids may be inside the model's vocabulary, e.g. GPT-2's <|endoftext|>). */
  specialTokens?: ReadonlyMap<string, number> | Record<string, number>;
  /** Word cache capacity in pieces (default 65,536, about 9 MB; 0 disables the cache). Emptied when full. */
  cacheEntries?: number;
}

export class BPETokenizer implements ByteSource {
  readonly model: BPEModel;
  readonly normalizer: Normalizer;
  readonly preTokenizer: PreTokenizer;
  readonly decoderPart: Decoder;
  /** Statistics of the training run that produced this tokenizer (undefined when loaded). */
  trainStats?: TrainResult['stats'];
  private readonly specials: SpecialTokens;
  private size: number;
  private readonly isIdentityNorm: boolean;
  private readonly cache: PieceCache;
  // Encoder scratch: piece boundaries and output ids, grown to the largest text seen and trimmed after it.
  private bounds = new Int32Array(1 << 12);
  private readonly out = new IdBuffer();
  // Derived from the vocabulary and the special tokens; rebuilt after addSpecialTokens.
  private tables: ByteTables | null = null;
  private hashCache: string | null = null;

  constructor(parts: BPETokenizerParts) {
    if (!parts || !(parts.model instanceof BPEModel)) throw new TypeError('BPETokenizer: parts.model must be a BPEModel');
    this.model = parts.model;
    this.normalizer = parts.normalizer ?? new IdentityNormalizer();
    this.isIdentityNorm = this.normalizer instanceof IdentityNormalizer;
    this.preTokenizer = parts.preTokenizer ?? new GPT2PreTokenizer();
    this.decoderPart = parts.decoder ?? new ByteLevelDecoder();
    this.size = this.model.size;
    this.cache = new PieceCache(parts.cacheEntries);
    this.specials = new SpecialTokens(this.model);
    const sp = parts.specialTokens;
    if (sp) {
      for (const [tok, id] of sp instanceof Map ? sp : Object.entries(sp as Record<string, number>)) this.registerSpecial(tok, id);
    }
  }

  private registerSpecial(tok: string, id: number): void {
    this.specials.add(tok, id);
    if (id >= this.size) this.size = id + 1;
    this.tables = null;
    this.hashCache = null;
  }

  // ------------------------------------------------------------------------------------------------ loading

  /**
   * GPT-2's `encoder.json` + `vocab.bpe`, or Hugging Face's `vocab.json` + `merges.txt` (same formats).
   * Vocabulary entries that no merge produces and that are not byte tokens (GPT-2's `<|endoftext|>`, or tokens
   * added with addSpecialTokens before saveGPT2Files) are special tokens.
   */
  static fromGPT2Files(encoderJsonPath: string, vocabBpePath: string, opts: LoadOptions = {}): BPETokenizer {
    if (typeof encoderJsonPath !== 'string')
      throw new TypeError(`fromGPT2Files: encoderJsonPath must be a path string, got ${describe(encoderJsonPath)}`);
    if (typeof vocabBpePath !== 'string')
      throw new TypeError(`fromGPT2Files: vocabBpePath must be a path string, got ${describe(vocabBpePath)}`);
    const vocabText = readText(encoderJsonPath, 'fromGPT2Files');
    const mergesText = readText(vocabBpePath, 'fromGPT2Files');
    return BPETokenizer.fromGPT2Strings(vocabText, mergesText, {
      ...opts,
      vocabSource: fileIO('fromGPT2Files').basename(encoderJsonPath),
      mergesSource: fileIO('fromGPT2Files').basename(vocabBpePath),
    });
  }

  /** Same as fromGPT2Files, from the files' contents. */
  static fromGPT2Strings(vocabJson: string, mergesText: string, opts: LoadOptions & VocabFileSources = {}): BPETokenizer {
    return new BPETokenizer(partsFromVocabFiles(vocabJson, mergesText, opts));
  }

  /**
   * A directory holding tokenizer.json, or vocab.json + merges.txt, or encoder.json + vocab.bpe (first found).
   * With vocab.json, an `added_tokens.json` ({token: id}) next to it is honoured.
   */
  static fromDir(dir: string): BPETokenizer {
    if (typeof dir !== 'string') throw new TypeError(`fromDir: expected a directory path, got ${describe(dir)}`);
    const io = fileIO('fromDir');
    const files: Record<string, string> = {};
    for (const name of TOKENIZER_FILES) {
      const file = io.join(dir, name);
      if (io.exists(file)) files[name] = readText(file, 'fromDir');
    }
    if (!hasTokenizerFiles(files)) {
      throw new Error(`fromDir: ${dir} has none of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe`);
    }
    return BPETokenizer.fromFiles(files);
  }

  /**
   * The same choice as fromDir, from file contents keyed by file name (strings, or bytes as fetched in a
   * browser): tokenizer.json, else vocab.json + merges.txt (+ added_tokens.json), else encoder.json + vocab.bpe.
   */
  static fromFiles(files: Readonly<Record<string, string | ArrayBuffer | Uint8Array>>): BPETokenizer {
    const text = (name: string) => {
      const v = files[name];
      return v === undefined || typeof v === 'string' ? v : textDecoder.decode(v);
    };
    const json = text('tokenizer.json');
    if (json !== undefined) return BPETokenizer.fromJSON(json, 'tokenizer.json');
    for (const [v, m] of VOCAB_FILE_PAIRS) {
      const vocab = text(v);
      const merges = text(m);
      if (vocab === undefined || merges === undefined) continue;
      const tok = BPETokenizer.fromGPT2Strings(vocab, merges, { vocabSource: v, mergesSource: m });
      const added = v === 'vocab.json' ? text('added_tokens.json') : undefined;
      if (added !== undefined) for (const [t, id] of parseVocabJson(added, 'added_tokens.json')) tok.registerSpecial(t, id);
      return tok;
    }
    throw new Error(
      `fromFiles: got ${Object.keys(files).join(', ') || 'no files'}; expected tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe`,
    );
  }

  /** Loads a Hugging Face tokenizer.json (BPE model, ByteLevel pre-tokenizer/decoder), as written by save(). */
  static load(file: string): BPETokenizer {
    if (typeof file !== 'string') throw new TypeError(`load: expected a path string, got ${describe(file)}`);
    return BPETokenizer.fromJSON(readText(file, 'load'), fileIO('load').basename(file));
  }

  /** Parses tokenizer.json content (a string or the parsed object). */
  static fromJSON(json: string | Record<string, unknown>, source = 'tokenizer.json'): BPETokenizer {
    return new BPETokenizer(partsFromTokenizerJson(json, source));
  }

  /** Trains a byte-level BPE tokenizer (GPT-2 pre-tokenisation unless opts.preTokenizer says otherwise). */
  static train(texts: Iterable<string>, opts: TrainOptions): BPETokenizer {
    const r = trainBPE(texts, opts);
    const model = new BPEModel({ vocab: r.vocab, merges: r.merges, vocabSource: 'trained vocab', mergesSource: 'trained merges' });
    const tok = new BPETokenizer({ model, preTokenizer: opts.preTokenizer, normalizer: opts.normalizer, specialTokens: r.specialTokens });
    tok.trainStats = r.stats;
    return tok;
  }

  // ------------------------------------------------------------------------------------------------ encode

  /** Token ids of `text`. Special tokens are only recognised when allowed (see EncodeOptions). */
  encode(text: string, opts?: EncodeOptions): number[] {
    const n = this.encodeToBuffer(text, opts, 'encode');
    const ids = this.out.ids;
    const res: number[] = new Array(n);
    for (let i = 0; i < n; i++) res[i] = ids[i];
    this.out.trim();
    return res;
  }

  /** Like encode, as a Uint32Array (cheaper for large texts; what data pipelines store). */
  encodeToUint32Array(text: string, opts?: EncodeOptions): Uint32Array {
    const n = this.encodeToBuffer(text, opts, 'encodeToUint32Array');
    const res = new Uint32Array(this.out.ids.buffer, 0, n).slice();
    this.out.trim();
    return res;
  }

  /** Encodes ignoring special tokens entirely (same as encode(text) without options). */
  encodeOrdinary(text: string): number[] {
    return this.encode(text);
  }

  /** Number of tokens of `text` (no array is returned). */
  countTokens(text: string, opts?: EncodeOptions): number {
    const n = this.encodeToBuffer(text, opts, 'countTokens');
    this.out.trim();
    return n;
  }

  /** Empties the word cache (it is also emptied automatically when full). */
  clearCache(): void {
    this.cache.clear();
  }

  // Encodes into this.out; returns the number of ids.
  private encodeToBuffer(text: string, opts: EncodeOptions | undefined, fn: string): number {
    if (typeof text !== 'string') throw new TypeError(`${fn}: expected a string, got ${describe(text)}`);
    if (opts !== undefined && (opts === null || typeof opts !== 'object'))
      throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const allowed = opts?.allowedSpecial;
    const re = allowed === undefined ? null : this.specials.matcher(allowed, fn);
    if (!re) return this.encodeSegment(text, 0);
    let last = 0;
    let at = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > last) at = this.encodeSegment(text.slice(last, m.index), at);
      this.out.reserve(at + 1)[at++] = this.specials.ids.get(m[0])!;
      last = m.index + m[0].length;
    }
    if (last < text.length) at = this.encodeSegment(last === 0 ? text : text.slice(last), at);
    return at;
  }

  // Encodes a segment of text without special tokens into this.out from `at`; returns the new end.
  private encodeSegment(text: string, at: number): number {
    if (!this.isIdentityNorm) text = this.normalizer.normalize(text);
    const len = text.length;
    if (len === 0) return at;
    if (this.bounds.length < len + 1) this.bounds = new Int32Array(len + 1024);
    const n = this.preTokenizer.splitRanges(text, 0, len, this.bounds);
    at = this.cache.encodePieces(text, this.bounds, n, this.model, this.out, at);
    if (this.bounds.length > 1 << 22) this.bounds = new Int32Array(1 << 12);
    return at;
  }

  // ------------------------------------------------------------------------------------------------ decode

  /** Text of `ids`. Byte sequences that are not valid UTF-8 (e.g. a cut multi-byte character) become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`decode: expected an array of token ids, got ${describe(ids)}`);
    }
    return this.decoderPart.decode(ids, this);
  }

  /** A decoder for streaming generation: push(id) → completed text, flush() at the end. */
  streamingDecoder(): StreamingDecoder {
    return new StreamingDecoder(this);
  }

  /** ByteSource: appends the bytes of `id` to buf at `at`. */
  bytesInto(id: number, buf: Uint8Array, at: number): [Uint8Array, number] {
    return appendTokenBytes(this.byteTables(), id, buf, at);
  }

  /** ByteSource: the flat byte tables used by the decoder. Special tokens are their spelling in UTF-8. */
  byteTables(): ByteTables {
    return (this.tables ??= buildByteTables(this.size, (id) => {
      const sp = this.specials.spellings.get(id);
      if (sp !== undefined) return textEncoder.encode(sp);
      const t = this.model.tokens[id];
      return t === undefined ? null : (byteLevelToBytes(t) ?? textEncoder.encode(t));
    }));
  }

  /** Bytes of one token (UTF-8 of the spelling for special tokens). */
  tokenBytes(id: number): Uint8Array {
    const [buf, n] = this.bytesInto(id, new Uint8Array(16), 0);
    return buf.slice(0, n);
  }

  // ------------------------------------------------------------------------------------------------ vocabulary

  /** Number of ids (largest id + 1), including special tokens. */
  get vocabSize(): number {
    return this.size;
  }

  /** Id of `<|endoftext|>` when the tokenizer has it. */
  get eosId(): number | undefined {
    return this.specials.ids.get(ENDOFTEXT) ?? this.model.vocab.get(ENDOFTEXT);
  }

  /** Special tokens (spelling → id). */
  get specialTokens(): ReadonlyMap<string, number> {
    return this.specials.ids;
  }

  /**
   * Adds special tokens (e.g. GPT-1's `<s>`, `<$>`, `<e>`); new ones get ids after the current vocabulary, in
   * order. Returns the id of each (existing special tokens keep theirs; a spelling already in the vocabulary
   * becomes special with its id).
   */
  addSpecialTokens(tokens: readonly string[]): number[] {
    if (!Array.isArray(tokens)) throw new TypeError(`addSpecialTokens: expected an array of strings, got ${describe(tokens)}`);
    return tokens.map((t, i) => {
      if (typeof t !== 'string' || t === '')
        throw new TypeError(`addSpecialTokens: tokens[${i}] must be a non-empty string, got ${describe(t)}`);
      const id = this.specials.ids.get(t) ?? this.model.vocab.get(t) ?? this.size;
      this.registerSpecial(t, id);
      return id;
    });
  }

  /** Id of a token spelling: a vocabulary entry in the byte-level alphabet ("Ġthe") or a special token. */
  tokenToId(token: string): number | undefined {
    return this.specials.ids.get(token) ?? this.model.vocab.get(token);
  }

  /** Spelling of an id (byte-level alphabet for ordinary tokens, as in vocab.json), or undefined. */
  idToToken(id: number): string | undefined {
    return this.specials.spellings.get(id) ?? this.model.tokens[id];
  }

  /** Whether `id` is a special token. */
  isSpecial(id: number): boolean {
    return this.specials.spellings.has(id);
  }

  // ------------------------------------------------------------------------------------------------ saving

  /** Hugging Face tokenizer.json object. */
  toJSON(): Record<string, unknown> {
    return tokenizerJson(this);
  }

  /** Writes a Hugging Face tokenizer.json (load it back with BPETokenizer.load). */
  save(file: string): void {
    if (typeof file !== 'string') throw new TypeError(`save: expected a path string, got ${describe(file)}`);
    fileIO('save').writeText(file, JSON.stringify(this.toJSON()));
  }

  /**
   * Writes `vocab.json` + `merges.txt` (GPT-2 / Hugging Face slow-tokenizer format) into `dir`. Special tokens
   * are entries of vocab.json (spelled in the byte-level alphabet), as GPT-2's `<|endoftext|>`; they are read
   * back as special because no merge produces them. Returns the two paths.
   */
  saveGPT2Files(dir: string): { vocab: string; merges: string } {
    if (typeof dir !== 'string') throw new TypeError(`saveGPT2Files: expected a directory path, got ${describe(dir)}`);
    const files = vocabFilesOf(this);
    const io = fileIO('saveGPT2Files');
    const vocab = io.join(dir, 'vocab.json');
    const merges = io.join(dir, 'merges.txt');
    io.writeText(vocab, JSON.stringify(files.vocab));
    io.writeText(merges, files.merges);
    return { vocab, merges };
  }

  /**
   * Stable content hash (sha256 hex) of the vocabulary, merges, special tokens and pre-tokeniser pattern:
   * equal hashes mean identical encodings. Independent of the file format the tokenizer came from.
   */
  hash(): string {
    if (this.hashCache) return this.hashCache;
    // Canonical text: special tokens by id (whether or not the vocabulary file also listed them), the other
    // tokens by id, then the merges in rank order.
    const parts: string[] = [
      'gptlab-bpe-v1',
      `pre\t${JSON.stringify(this.preTokenizer.toJSON())}\t${(this.preTokenizer as { whitespace?: string }).whitespace ?? ''}`,
      `norm\t${JSON.stringify(this.normalizer.toJSON())}`,
    ];
    for (let id = 0; id < this.size; id++) {
      const sp = this.specials.spellings.get(id);
      if (sp !== undefined) parts.push(`s\t${id}\t${sp}`);
      else {
        const t = this.model.tokens[id];
        if (t !== undefined) parts.push(`v\t${id}\t${t}`);
      }
    }
    for (const [a, b] of this.model.merges) parts.push(`m\t${a} ${b}`);
    return (this.hashCache = sha256Hex(parts.join('\n') + '\n'));
  }
}
