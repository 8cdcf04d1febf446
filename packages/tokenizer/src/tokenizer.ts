// BPETokenizer: normaliser → pre-tokeniser → BPE model → decoder, plus special tokens, a word cache, file
// formats (GPT-2 encoder.json + vocab.bpe, Hugging Face vocab.json + merges.txt and tokenizer.json) and training.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { byteLevelToBytes, bytesToByteLevel, textEncoder } from './bytes';
import { ByteLevelDecoder, StreamingDecoder, type ByteSource, type Decoder } from './decoder';
import { describe, formatMergesText, isByteLevel, parseMergesText, parseVocabJson, vocabFromObject } from './io';
import { BPEModel } from './model';
import { IdentityNormalizer, UnicodeNormalizer, type Normalizer, type UnicodeForm } from './normalizer';
import { GPT2PreTokenizer, RegexPreTokenizer, type PreTokenizer, type WhitespaceMode } from './pretokenizer';
import { trainBPE, type TrainOptions, type TrainResult } from './trainer';

export const ENDOFTEXT = '<|endoftext|>';

export interface EncodeOptions {
  /**
   * Special tokens recognised in the text: 'all', or a set/array of their spellings. By default none: text that
   * merely contains a special token's spelling is encoded as ordinary text (like tiktoken's `encode_ordinary`).
   */
  allowedSpecial?: 'all' | ReadonlySet<string> | readonly string[];
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

export interface LoadOptions {
  /** Extra tokens of the vocabulary to treat as special (besides unreachable ones, see fromGPT2Files). */
  specialTokens?: string[];
  /** `\s` semantics of the GPT-2 pre-tokeniser (default 'unicode' = GPT-2/tiktoken; 'ecmascript' = js-tiktoken). */
  whitespace?: WhitespaceMode;
}

// Piece cache: open addressing over (hash of the piece's UTF-16 code units) → token ids, with keys and values
// in typed-array pools, so that a cache hit allocates nothing (no substring, no array).
const DEFAULT_CACHE_ENTRIES = 1 << 16;
const CACHE_MAX_KEY = 48;
const EMPTY_I32 = new Int32Array(0);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${what}: cannot read ${file} (${err.code ?? err.message})`);
  }
}

export class BPETokenizer implements ByteSource {
  readonly model: BPEModel;
  readonly normalizer: Normalizer;
  readonly preTokenizer: PreTokenizer;
  readonly decoderPart: Decoder;
  private readonly specials = new Map<string, number>();
  private readonly specialById = new Map<number, string>();
  private size: number;
  private readonly isIdentityNorm: boolean;

  // decode tables (built lazily, rebuilt after addSpecialTokens)
  private bytePool: Uint8Array | null = null;
  private byteOff: Int32Array | null = null;
  private hashCache: string | null = null;
  private specialRegexCache = new Map<string, RegExp>();

  // encode scratch + cache
  private bounds = new Int32Array(1 << 12);
  // allocated on first use (about 9 MB)
  private cHash = EMPTY_I32;
  private cKeyOff = EMPTY_I32;
  private cKeyLen = EMPTY_I32; // 0 = empty slot
  private cValOff = EMPTY_I32;
  private cValLen = EMPTY_I32;
  private cChars = new Uint16Array(0);
  private cToks = EMPTY_I32;
  private readonly cSlots: number;
  private readonly cMaxEntries: number;
  private readonly cCharPool: number;
  private readonly cTokPool: number;
  private cCharTop = 0;
  private cTokTop = 0;
  private cEntries = 0;

  constructor(parts: BPETokenizerParts) {
    if (!parts || !(parts.model instanceof BPEModel)) throw new TypeError('BPETokenizer: parts.model must be a BPEModel');
    this.model = parts.model;
    this.normalizer = parts.normalizer ?? new IdentityNormalizer();
    this.isIdentityNorm = this.normalizer instanceof IdentityNormalizer;
    this.preTokenizer = parts.preTokenizer ?? new GPT2PreTokenizer();
    this.decoderPart = parts.decoder ?? new ByteLevelDecoder();
    this.size = this.model.size;
    const ce = parts.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    if (!Number.isInteger(ce) || ce < 0 || ce > 1 << 24) throw new RangeError(`BPETokenizer: cacheEntries must be an integer in [0, 2^24], got ${describe(ce)}`);
    let slots = 2;
    while (slots < ce * 2) slots *= 2;
    this.cSlots = slots;
    this.cMaxEntries = ce;
    this.cCharPool = Math.max(CACHE_MAX_KEY, ce * 32);
    this.cTokPool = Math.max(3 * CACHE_MAX_KEY, ce * 8); // a piece has at most 3 ids per UTF-16 unit
    const sp = parts.specialTokens;
    if (sp) {
      for (const [tok, id] of sp instanceof Map ? sp : Object.entries(sp as Record<string, number>)) this.registerSpecial(tok, id);
    }
  }

  private registerSpecial(tok: string, id: number): void {
    if (typeof tok !== 'string' || tok === '') throw new TypeError(`special token must be a non-empty string, got ${describe(tok)}`);
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`special token ${JSON.stringify(tok)}: id must be a non-negative integer, got ${describe(id)}`);
    const other = this.specialById.get(id);
    if (other !== undefined && other !== tok) {
      throw new Error(`special tokens ${JSON.stringify(other)} and ${JSON.stringify(tok)} share id ${id}`);
    }
    const had = this.specials.get(tok);
    if (had !== undefined && had !== id) throw new Error(`special token ${JSON.stringify(tok)} already has id ${had}, cannot also have id ${id}`);
    const ordinary = this.model.tokens[id];
    if (ordinary !== undefined && id < this.model.reachable.length && this.model.reachable[id] && specialContent(ordinary) !== tok) {
      throw new Error(`special token ${JSON.stringify(tok)} has id ${id}, which is the ordinary token ${JSON.stringify(ordinary)}`);
    }
    this.specials.set(tok, id);
    this.specialById.set(id, tok);
    if (id >= this.size) this.size = id + 1;
    this.bytePool = null;
    this.hashCache = null;
    this.specialRegexCache.clear();
  }

  // ------------------------------------------------------------------------------------------------ loading

  /**
   * GPT-2's `encoder.json` + `vocab.bpe`, or Hugging Face's `vocab.json` + `merges.txt` (same formats).
   * Vocabulary entries that no merge produces and that are not byte tokens (GPT-2's `<|endoftext|>`, or tokens
   * added with addSpecialTokens before saveGPT2Files) are special tokens.
   */
  static fromGPT2Files(encoderJsonPath: string, vocabBpePath: string, opts: LoadOptions = {}): BPETokenizer {
    if (typeof encoderJsonPath !== 'string') throw new TypeError(`fromGPT2Files: encoderJsonPath must be a path string, got ${describe(encoderJsonPath)}`);
    if (typeof vocabBpePath !== 'string') throw new TypeError(`fromGPT2Files: vocabBpePath must be a path string, got ${describe(vocabBpePath)}`);
    const vocabText = readText(encoderJsonPath, 'fromGPT2Files');
    const mergesText = readText(vocabBpePath, 'fromGPT2Files');
    return BPETokenizer.fromGPT2Strings(vocabText, mergesText, {
      ...opts,
      vocabSource: path.basename(encoderJsonPath),
      mergesSource: path.basename(vocabBpePath),
    });
  }

  /** Same as fromGPT2Files, from the files' contents. */
  static fromGPT2Strings(
    vocabJson: string,
    mergesText: string,
    opts: LoadOptions & { vocabSource?: string; mergesSource?: string } = {},
  ): BPETokenizer {
    const vs = opts.vocabSource ?? 'encoder.json';
    const ms = opts.mergesSource ?? 'vocab.bpe';
    if (typeof vocabJson !== 'string') throw new TypeError(`${vs}: expected the file's text, got ${describe(vocabJson)}`);
    if (typeof mergesText !== 'string') throw new TypeError(`${ms}: expected the file's text, got ${describe(mergesText)}`);
    const vocab = parseVocabJson(vocabJson, vs);
    const { merges, lines } = parseMergesText(mergesText, ms);
    const model = new BPEModel({ vocab, merges, vocabSource: vs, mergesSource: ms, mergeLines: lines });
    const specials = new Map<string, number>();
    for (const [tok, id] of vocab) {
      if (!model.reachable[id]) specials.set(specialContent(tok), id);
    }
    for (const s of opts.specialTokens ?? []) {
      const id = vocab.get(s);
      if (id === undefined) throw new Error(`${vs}: special token ${JSON.stringify(s)} is not in the vocabulary`);
      specials.set(s, id);
    }
    return new BPETokenizer({ model, specialTokens: specials, preTokenizer: new GPT2PreTokenizer({ whitespace: opts.whitespace }) });
  }

  /**
   * A directory holding tokenizer.json, or vocab.json + merges.txt, or encoder.json + vocab.bpe (first found).
   * With vocab.json, an `added_tokens.json` ({token: id}) next to it is honoured.
   */
  static fromDir(dir: string): BPETokenizer {
    if (typeof dir !== 'string') throw new TypeError(`fromDir: expected a directory path, got ${describe(dir)}`);
    const f = (n: string) => path.join(dir, n);
    if (fs.existsSync(f('tokenizer.json'))) return BPETokenizer.load(f('tokenizer.json'));
    for (const [v, m] of [
      ['vocab.json', 'merges.txt'],
      ['encoder.json', 'vocab.bpe'],
    ]) {
      if (fs.existsSync(f(v)) && fs.existsSync(f(m))) {
        const tok = BPETokenizer.fromGPT2Files(f(v), f(m));
        if (fs.existsSync(f('added_tokens.json'))) {
          const added = parseVocabJson(readText(f('added_tokens.json'), 'fromDir'), 'added_tokens.json');
          for (const [t, id] of added) tok.registerSpecial(t, id);
        }
        return tok;
      }
    }
    throw new Error(`fromDir: ${dir} has none of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe`);
  }

  /** Loads a Hugging Face tokenizer.json (BPE model, ByteLevel pre-tokenizer/decoder), as written by save(). */
  static load(file: string): BPETokenizer {
    if (typeof file !== 'string') throw new TypeError(`load: expected a path string, got ${describe(file)}`);
    return BPETokenizer.fromJSON(readText(file, 'load'), path.basename(file));
  }

  /** Parses tokenizer.json content (a string or the parsed object). */
  static fromJSON(json: string | Record<string, unknown>, source = 'tokenizer.json'): BPETokenizer {
    let obj: any = json;
    if (typeof json === 'string') {
      try {
        obj = JSON.parse(json);
      } catch (e) {
        throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
      }
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${source}: expected a JSON object, got ${describe(obj)}`);
    const m = obj.model;
    if (m === null || typeof m !== 'object') throw new Error(`${source}: missing "model" object`);
    if (m.type !== undefined && m.type !== 'BPE') throw new Error(`${source}: model.type is ${JSON.stringify(m.type)}; only "BPE" is supported`);
    if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) throw new Error(`${source}: model.dropout ${m.dropout} is not supported (only null)`);
    for (const k of ['continuing_subword_prefix', 'end_of_word_suffix']) {
      if (m[k] !== undefined && m[k] !== null && m[k] !== '') throw new Error(`${source}: model.${k} ${JSON.stringify(m[k])} is not supported by byte-level BPE`);
    }
    if (m.vocab === null || typeof m.vocab !== 'object' || Array.isArray(m.vocab)) throw new Error(`${source}: model.vocab must be an object {token: id}, got ${describe(m.vocab)}`);
    const vocab = vocabFromObject(m.vocab, `${source}: model.vocab`);
    if (!Array.isArray(m.merges)) throw new Error(`${source}: model.merges must be an array, got ${describe(m.merges)}`);
    const merges: Array<[string, string]> = m.merges.map((x: unknown, i: number): [string, string] => {
      if (typeof x === 'string') {
        const sp = x.indexOf(' ');
        if (sp > 0 && sp < x.length - 1 && x.indexOf(' ', sp + 1) < 0) return [x.slice(0, sp), x.slice(sp + 1)];
      } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return [x[0], x[1]];
      throw new Error(`${source}: model.merges[${i}] must be "left right" or ["left", "right"], got ${describe(x)}`);
    });
    const model = new BPEModel({ vocab, merges, vocabSource: `${source} model.vocab`, mergeLocation: (r) => `${source}: model.merges[${r}]` });
    const specials = new Map<string, number>();
    if (obj.added_tokens !== undefined && obj.added_tokens !== null) {
      if (!Array.isArray(obj.added_tokens)) throw new Error(`${source}: added_tokens must be an array`);
      obj.added_tokens.forEach((t: any, i: number) => {
        if (!t || typeof t.content !== 'string' || !Number.isInteger(t.id) || t.id < 0) {
          throw new Error(`${source}: added_tokens[${i}] must have a string "content" and an integer "id"`);
        }
        specials.set(t.content, t.id);
      });
    }
    const pre = parsePreTokenizer(obj.pre_tokenizer, source);
    const normalizer = parseNormalizer(obj.normalizer, source);
    const dec = obj.decoder;
    if (dec !== undefined && dec !== null && dec.type !== 'ByteLevel') {
      throw new Error(`${source}: decoder.type ${JSON.stringify(dec.type)} is not supported (only "ByteLevel")`);
    }
    return new BPETokenizer({ model, preTokenizer: pre, normalizer, specialTokens: specials });
  }

  /** Trains a byte-level BPE tokenizer (GPT-2 pre-tokenisation unless opts.preTokenizer says otherwise). */
  static train(texts: Iterable<string>, opts: TrainOptions): BPETokenizer {
    const r: TrainResult = trainBPE(texts, opts);
    const model = new BPEModel({ vocab: r.vocab, merges: r.merges, vocabSource: 'trained vocab', mergesSource: 'trained merges' });
    const tok = new BPETokenizer({
      model,
      preTokenizer: opts.preTokenizer,
      normalizer: opts.normalizer,
      specialTokens: r.specialTokens,
    });
    tok.trainStats = r.stats;
    return tok;
  }

  /** Statistics of the training run that produced this tokenizer (undefined when loaded). */
  trainStats?: TrainResult['stats'];

  // ------------------------------------------------------------------------------------------------ encode

  /** Token ids of `text`. Special tokens are only recognised when allowed (see EncodeOptions). */
  encode(text: string, opts?: EncodeOptions): number[] {
    const n = this.encodeToBuffer(text, opts, 'encode');
    const buf = this.outBuf;
    const res: number[] = new Array(n);
    for (let i = 0; i < n; i++) res[i] = buf[i];
    this.trimScratch();
    return res;
  }

  // Scratch buffers grow to the largest text seen; keep at most 4M entries (16 MB) each between calls.
  private trimScratch(): void {
    if (this.outBuf.length > 1 << 22) this.outBuf = new Int32Array(1 << 14);
    if (this.bounds.length > 1 << 22) this.bounds = new Int32Array(1 << 12);
  }

  /** Like encode, as a Uint32Array (cheaper for large texts; what data pipelines store). */
  encodeToUint32Array(text: string, opts?: EncodeOptions): Uint32Array {
    const n = this.encodeToBuffer(text, opts, 'encodeToUint32Array');
    const res = new Uint32Array(this.outBuf.buffer, 0, n).slice();
    this.trimScratch();
    return res;
  }

  /** Encodes ignoring special tokens entirely (same as encode(text) without options). */
  encodeOrdinary(text: string): number[] {
    return this.encode(text);
  }

  /** Number of tokens of `text` (no array is returned). */
  countTokens(text: string, opts?: EncodeOptions): number {
    const n = this.encodeToBuffer(text, opts, 'countTokens');
    this.trimScratch();
    return n;
  }

  // Encodes into this.outBuf; returns the number of ids.
  private encodeToBuffer(text: string, opts: EncodeOptions | undefined, fn: string): number {
    if (typeof text !== 'string') throw new TypeError(`${fn}: expected a string, got ${describe(text)}`);
    if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const allowed = opts?.allowedSpecial;
    const re = allowed === undefined ? null : this.specialRegex(allowed, fn);
    if (!re) return this.encodeSegment(text, 0);
    let last = 0;
    let at = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > last) at = this.encodeSegment(text.slice(last, m.index), at);
      this.ensureOut(at + 1);
      this.outBuf[at++] = this.specials.get(m[0])!;
      last = m.index + m[0].length;
    }
    if (last < text.length) at = this.encodeSegment(last === 0 ? text : text.slice(last), at);
    return at;
  }

  private outBuf = new Int32Array(1 << 14);
  private ensureOut(n: number): void {
    if (n > this.outBuf.length) {
      const nb = new Int32Array(Math.max(n, this.outBuf.length * 2));
      nb.set(this.outBuf);
      this.outBuf = nb;
    }
  }

  private specialRegex(allowed: NonNullable<EncodeOptions['allowedSpecial']>, fn: string): RegExp | null {
    let list: string[];
    if (allowed === 'all') list = [...this.specials.keys()];
    else if (allowed instanceof Set || Array.isArray(allowed)) {
      list = [...(allowed as Iterable<string>)];
      for (const s of list) {
        if (!this.specials.has(s)) throw new Error(`${fn}: allowedSpecial contains ${describe(s)}, which is not a special token of this tokenizer`);
      }
    } else throw new TypeError(`${fn}: allowedSpecial must be 'all', a Set or an array of strings, got ${describe(allowed)}`);
    if (list.length === 0) return null;
    list.sort((a, b) => b.length - a.length || (a < b ? -1 : 1)); // longest first
    const key = list.join('\u0000');
    let re = this.specialRegexCache.get(key);
    if (!re) {
      re = new RegExp(list.map(escapeRegExp).join('|'), 'g');
      if (this.specialRegexCache.size > 64) this.specialRegexCache.clear();
      this.specialRegexCache.set(key, re);
    }
    return re;
  }

  // Encodes ordinary text into this.outBuf from `at`; returns the new end.
  private encodeSegment(text: string, at: number): number {
    if (!this.isIdentityNorm) text = this.normalizer.normalize(text);
    const len = text.length;
    if (len === 0) return at;
    if (this.bounds.length < len + 1) this.bounds = new Int32Array(len + 1024);
    const bounds = this.bounds;
    const n = this.preTokenizer.splitRanges(text, 0, len, bounds);
    if (this.cHash.length === 0) this.allocCache();
    const model = this.model;
    const cHash = this.cHash;
    const cKeyOff = this.cKeyOff;
    const cKeyLen = this.cKeyLen;
    const cValOff = this.cValOff;
    const cValLen = this.cValLen;
    const cChars = this.cChars;
    const cToks = this.cToks;
    const mask = this.cSlots - 1;
    const useCache = this.cMaxEntries > 0;
    let out = this.outBuf;
    let cap = out.length;
    for (let k = 0; k < n; k++) {
      const s = bounds[k];
      const e = bounds[k + 1];
      const plen = e - s;
      if (at + 3 * plen > cap) {
        this.ensureOut(at + 3 * plen + (len - e) + 1024);
        out = this.outBuf;
        cap = out.length;
      }
      if (plen > CACHE_MAX_KEY || !useCache) {
        at = model.encodePiece(text, s, e, out, at);
        continue;
      }
      let h = 0x811c9dc5 ^ plen;
      for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      h ^= h >>> 16;
      let slot = h & mask;
      let found = false;
      for (;;) {
        const kl = cKeyLen[slot];
        if (kl === 0) break;
        if (kl === plen && cHash[slot] === h) {
          const ko = cKeyOff[slot] - s;
          let i = s;
          while (i < e && cChars[ko + i] === text.charCodeAt(i)) i++;
          if (i === e) {
            found = true;
            break;
          }
        }
        slot = (slot + 1) & mask;
      }
      if (found) {
        const vo = cValOff[slot];
        const vl = cValLen[slot];
        if (vl === 1) out[at++] = cToks[vo];
        else for (let i = 0; i < vl; i++) out[at++] = cToks[vo + i];
        continue;
      }
      const t0 = at;
      at = model.encodePiece(text, s, e, out, at);
      const vl = at - t0;
      if (this.cEntries >= this.cMaxEntries || this.cCharTop + plen > this.cCharPool || this.cTokTop + vl > this.cTokPool) {
        this.clearCache();
        slot = h & mask; // the table is empty now
      }
      cHash[slot] = h;
      cKeyOff[slot] = this.cCharTop;
      cKeyLen[slot] = plen;
      for (let i = 0; i < plen; i++) cChars[this.cCharTop + i] = text.charCodeAt(s + i);
      this.cCharTop += plen;
      cValOff[slot] = this.cTokTop;
      cValLen[slot] = vl;
      for (let i = 0; i < vl; i++) cToks[this.cTokTop + i] = out[t0 + i];
      this.cTokTop += vl;
      this.cEntries++;
    }
    return at;
  }

  private allocCache(): void {
    this.cHash = new Int32Array(this.cSlots);
    this.cKeyOff = new Int32Array(this.cSlots);
    this.cKeyLen = new Int32Array(this.cSlots);
    this.cValOff = new Int32Array(this.cSlots);
    this.cValLen = new Int32Array(this.cSlots);
    this.cChars = new Uint16Array(this.cCharPool);
    this.cToks = new Int32Array(this.cTokPool);
  }

  /** Empties the word cache (it is also emptied automatically when full). */
  clearCache(): void {
    this.cKeyLen.fill(0);
    this.cCharTop = 0;
    this.cTokTop = 0;
    this.cEntries = 0;
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
    if (!this.bytePool) this.buildByteTables();
    const off = this.byteOff!;
    if (!(id >= 0 && id < this.size) || !Number.isInteger(id) || this.holes![id]) {
      throw new RangeError(`decode: ${describe(id)} is not a token id of this tokenizer (vocabSize ${this.size})`);
    }
    const s = off[id];
    const e = off[id + 1];
    const need = at + (e - s);
    if (need > buf.length) {
      const nb = new Uint8Array(Math.max(need, buf.length * 2));
      nb.set(buf.subarray(0, at));
      buf = nb;
    }
    const pool = this.bytePool!;
    if (e - s === 1) buf[at] = pool[s];
    else buf.set(pool.subarray(s, e), at);
    return [buf, need];
  }

  /** ByteSource: the flat byte tables used by the decoder. */
  byteTables(): { pool: Uint8Array; off: Int32Array; hole: Uint8Array } {
    if (!this.bytePool) this.buildByteTables();
    return { pool: this.bytePool!, off: this.byteOff!, hole: this.holes! };
  }

  /** Bytes of one token (UTF-8 of the spelling for special tokens). */
  tokenBytes(id: number): Uint8Array {
    const [buf, n] = this.bytesInto(id, new Uint8Array(16), 0);
    return buf.slice(0, n);
  }

  private buildByteTables(): void {
    const parts: Uint8Array[] = new Array(this.size);
    let total = 0;
    for (let id = 0; id < this.size; id++) {
      const sp = this.specialById.get(id);
      let b: Uint8Array | null = null;
      if (sp !== undefined) b = textEncoder.encode(sp);
      else {
        const t = this.model.tokens[id];
        if (t !== undefined) b = byteLevelToBytes(t) ?? textEncoder.encode(t);
      }
      if (b) {
        parts[id] = b;
        total += b.length;
      }
    }
    const pool = new Uint8Array(total);
    const off = new Int32Array(this.size + 1);
    const holes = new Uint8Array(this.size);
    let at = 0;
    for (let id = 0; id < this.size; id++) {
      off[id] = at;
      const b = parts[id];
      if (b) {
        pool.set(b, at);
        at += b.length;
      } else holes[id] = 1;
    }
    off[this.size] = at;
    this.holes = holes;
    this.bytePool = pool;
    this.byteOff = off;
  }
  private holes: Uint8Array | null = null;

  // ------------------------------------------------------------------------------------------------ vocabulary

  /** Number of ids (largest id + 1), including special tokens. */
  get vocabSize(): number {
    return this.size;
  }

  /** Id of `<|endoftext|>` when the tokenizer has it. */
  get eosId(): number | undefined {
    return this.specials.get(ENDOFTEXT) ?? this.model.vocab.get(ENDOFTEXT);
  }

  /** Special tokens (spelling → id). */
  get specialTokens(): ReadonlyMap<string, number> {
    return this.specials;
  }

  /**
   * Adds special tokens (e.g. GPT-1's `<s>`, `<$>`, `<e>`); new ones get ids after the current vocabulary, in
   * order. Returns the id of each (existing special tokens keep theirs; a spelling already in the vocabulary
   * becomes special with its id).
   */
  addSpecialTokens(tokens: readonly string[]): number[] {
    if (!Array.isArray(tokens)) throw new TypeError(`addSpecialTokens: expected an array of strings, got ${describe(tokens)}`);
    return tokens.map((t, i) => {
      if (typeof t !== 'string' || t === '') throw new TypeError(`addSpecialTokens: tokens[${i}] must be a non-empty string, got ${describe(t)}`);
      const have = this.specials.get(t) ?? this.model.vocab.get(t);
      const id = have ?? this.size;
      this.registerSpecial(t, id);
      return id;
    });
  }

  /** Id of a token spelling: a vocabulary entry in the byte-level alphabet ("Ġthe") or a special token. */
  tokenToId(token: string): number | undefined {
    return this.specials.get(token) ?? this.model.vocab.get(token);
  }

  /** Spelling of an id (byte-level alphabet for ordinary tokens, as in vocab.json), or undefined. */
  idToToken(id: number): string | undefined {
    return this.specialById.get(id) ?? this.model.tokens[id];
  }

  /** Whether `id` is a special token. */
  isSpecial(id: number): boolean {
    return this.specialById.has(id);
  }

  // ------------------------------------------------------------------------------------------------ saving

  /** Hugging Face tokenizer.json object. */
  toJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    const entries: Array<[string, number]> = [];
    this.model.tokens.forEach((t, id) => {
      if (t !== undefined) entries.push([t, id]);
    });
    for (const [t, id] of this.specials) if (this.model.tokens[id] === undefined) entries.push([t, id]);
    entries.sort((a, b) => a[1] - b[1]);
    for (const [t, id] of entries) vocab[t] = id;
    const added = [...this.specialById.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([id, content]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: this.normalizer.toJSON(),
      pre_tokenizer: this.preTokenizer.toJSON(),
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: this.decoderPart.toJSON(),
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.model.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  /** Writes a Hugging Face tokenizer.json (load it back with BPETokenizer.load). */
  save(file: string): void {
    if (typeof file !== 'string') throw new TypeError(`save: expected a path string, got ${describe(file)}`);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(this.toJSON()));
  }

  /**
   * Writes `vocab.json` + `merges.txt` (GPT-2 / Hugging Face slow-tokenizer format) into `dir`. Special tokens
   * are entries of vocab.json (spelled in the byte-level alphabet), as GPT-2's `<|endoftext|>`; they are read
   * back as special because no merge produces them. Returns the two paths.
   */
  saveGPT2Files(dir: string): { vocab: string; merges: string } {
    if (typeof dir !== 'string') throw new TypeError(`saveGPT2Files: expected a directory path, got ${describe(dir)}`);
    fs.mkdirSync(dir, { recursive: true });
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.size; id++) {
      const sp = this.specialById.get(id);
      if (sp !== undefined) {
        const spelled = isByteLevel(sp) ? sp : bytesToByteLevel(textEncoder.encode(sp));
        if (this.model.vocab.has(spelled) && this.model.vocab.get(spelled) !== id) {
          throw new Error(`saveGPT2Files: special token ${JSON.stringify(sp)} collides with an ordinary token spelled ${JSON.stringify(spelled)}`);
        }
        if (this.model.reachable[id]) {
          throw new Error(`saveGPT2Files: special token ${JSON.stringify(sp)} (id ${id}) is also a token BPE produces; vocab.json cannot mark it special — use save() (tokenizer.json)`);
        }
        vocab[spelled] = id;
      } else {
        const t = this.model.tokens[id];
        if (t !== undefined) vocab[t] = id;
      }
    }
    const v = path.join(dir, 'vocab.json');
    const m = path.join(dir, 'merges.txt');
    fs.writeFileSync(v, JSON.stringify(vocab));
    fs.writeFileSync(m, formatMergesText(this.model.merges));
    return { vocab: v, merges: m };
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
      const sp = this.specialById.get(id);
      if (sp !== undefined) parts.push(`s\t${id}\t${sp}`);
      else {
        const t = this.model.tokens[id];
        if (t !== undefined) parts.push(`v\t${id}\t${t}`);
      }
    }
    for (const [a, b] of this.model.merges) parts.push(`m\t${a} ${b}`);
    const h = createHash('sha256').update(parts.join('\n') + '\n');
    return (this.hashCache = h.digest('hex'));
  }
}

/** Content of a special token stored in a vocabulary file: the byte-level spelling decoded when possible. */
function specialContent(tok: string): string {
  const b = byteLevelToBytes(tok);
  if (!b) return tok;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return tok;
  }
}

function parsePreTokenizer(pt: any, source: string): PreTokenizer {
  const bl = (x: any, where: string) => {
    if (x.add_prefix_space) throw new Error(`${source}: ${where}.add_prefix_space true is not supported`);
  };
  if (pt && pt.type === 'ByteLevel') {
    bl(pt, 'pre_tokenizer');
    if (pt.use_regex === false) throw new Error(`${source}: pre_tokenizer ByteLevel with use_regex false needs a Split before it`);
    return new GPT2PreTokenizer();
  }
  if (pt && pt.type === 'Sequence' && Array.isArray(pt.pretokenizers) && pt.pretokenizers.length === 2) {
    const [split, byteLevel] = pt.pretokenizers;
    if (
      split?.type === 'Split' &&
      typeof split.pattern?.Regex === 'string' &&
      (split.behavior ?? 'Isolated') === 'Isolated' &&
      !split.invert &&
      byteLevel?.type === 'ByteLevel' &&
      byteLevel.use_regex === false
    ) {
      bl(byteLevel, 'pre_tokenizer.pretokenizers[1]');
      return new RegexPreTokenizer(split.pattern.Regex);
    }
  }
  throw new Error(
    `${source}: pre_tokenizer ${JSON.stringify(pt)?.slice(0, 120)} is not supported (ByteLevel, or Sequence[Split(Regex, Isolated), ByteLevel(use_regex false)])`,
  );
}

function parseNormalizer(n: any, source: string): Normalizer {
  if (n === undefined || n === null) return new IdentityNormalizer();
  if (n.type === 'Sequence' && Array.isArray(n.normalizers) && n.normalizers.length === 0) return new IdentityNormalizer();
  if (['NFC', 'NFD', 'NFKC', 'NFKD'].includes(n.type)) return new UnicodeNormalizer(n.type as UnicodeForm);
  throw new Error(`${source}: normalizer ${JSON.stringify(n.type)} is not supported (null, NFC, NFD, NFKC, NFKD)`);
}
