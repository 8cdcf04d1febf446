// Hugging Face `tokenizer.json`, the subset that describes a byte-level BPE tokenizer: a BPE model, a ByteLevel
// (or Split + ByteLevel) pre-tokenizer, no normalizer or a Unicode one, a ByteLevel decoder. Anything else is
// refused with an error naming the field, rather than loaded as a tokenizer that would encode differently.

import { describe, vocabFromObject } from './io';
import { BPEModel } from './model';
import { IdentityNormalizer, UnicodeNormalizer, type Normalizer, type UnicodeForm } from './normalizer';
import { GPT2PreTokenizer, RegexPreTokenizer, type PreTokenizer } from './pretokenizer';
import type { BPETokenizer, BPETokenizerParts } from './tokenizer';

/** The parts of a tokenizer described by tokenizer.json content (a string or the parsed object). */
export function partsFromTokenizerJson(json: string | Record<string, unknown>, source: string): BPETokenizerParts {
  let obj: any = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new Error(`${source}: expected a JSON object, got ${describe(obj)}`);
  const dec = obj.decoder;
  if (dec !== undefined && dec !== null && dec.type !== 'ByteLevel') {
    throw new Error(`${source}: decoder.type ${JSON.stringify(dec.type)} is not supported (only "ByteLevel")`);
  }
  return {
    model: parseModel(obj.model, source),
    preTokenizer: parsePreTokenizer(obj.pre_tokenizer, source),
    normalizer: parseNormalizer(obj.normalizer, source),
    specialTokens: parseAddedTokens(obj.added_tokens, source),
  };
}

function parseModel(m: any, source: string): BPEModel {
  if (m === null || typeof m !== 'object') throw new Error(`${source}: missing "model" object`);
  if (m.type !== undefined && m.type !== 'BPE')
    throw new Error(`${source}: model.type is ${JSON.stringify(m.type)}; only "BPE" is supported`);
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0)
    throw new Error(`${source}: model.dropout ${m.dropout} is not supported (only null)`);
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (m[k] !== undefined && m[k] !== null && m[k] !== '')
      throw new Error(`${source}: model.${k} ${JSON.stringify(m[k])} is not supported by byte-level BPE`);
  }
  if (m.vocab === null || typeof m.vocab !== 'object' || Array.isArray(m.vocab))
    throw new Error(`${source}: model.vocab must be an object {token: id}, got ${describe(m.vocab)}`);
  const vocab = vocabFromObject(m.vocab, `${source}: model.vocab`);
  if (!Array.isArray(m.merges)) throw new Error(`${source}: model.merges must be an array, got ${describe(m.merges)}`);
  // Two spellings of a merge: "left right" (tokenizers < 0.20) and ["left", "right"].
  const merges: Array<[string, string]> = m.merges.map((x: unknown, i: number): [string, string] => {
    if (typeof x === 'string') {
      const sp = x.indexOf(' ');
      if (sp > 0 && sp < x.length - 1 && x.indexOf(' ', sp + 1) < 0) return [x.slice(0, sp), x.slice(sp + 1)];
    } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return [x[0], x[1]];
    throw new Error(`${source}: model.merges[${i}] must be "left right" or ["left", "right"], got ${describe(x)}`);
  });
  return new BPEModel({ vocab, merges, vocabSource: `${source} model.vocab`, mergeLocation: (r) => `${source}: model.merges[${r}]` });
}

function parseAddedTokens(added: any, source: string): Map<string, number> {
  const specials = new Map<string, number>();
  if (added === undefined || added === null) return specials;
  if (!Array.isArray(added)) throw new Error(`${source}: added_tokens must be an array`);
  added.forEach((t: any, i: number) => {
    if (!t || typeof t.content !== 'string' || !Number.isInteger(t.id) || t.id < 0) {
      throw new Error(`${source}: added_tokens[${i}] must have a string "content" and an integer "id"`);
    }
    specials.set(t.content, t.id);
  });
  return specials;
}

function parsePreTokenizer(pt: any, source: string): PreTokenizer {
  const noPrefixSpace = (x: any, where: string) => {
    if (x.add_prefix_space) throw new Error(`${source}: ${where}.add_prefix_space true is not supported`);
  };
  if (pt && pt.type === 'ByteLevel') {
    noPrefixSpace(pt, 'pre_tokenizer');
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
      noPrefixSpace(byteLevel, 'pre_tokenizer.pretokenizers[1]');
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

/** The tokenizer.json object of `tok` (what BPETokenizer.save writes). */
export function tokenizerJson(tok: BPETokenizer): Record<string, unknown> {
  const { model } = tok;
  // Every id once: ordinary tokens, then special tokens that are not also vocabulary entries, in id order.
  const entries: Array<[string, number]> = [];
  model.tokens.forEach((t, id) => {
    if (t !== undefined) entries.push([t, id]);
  });
  for (const [t, id] of tok.specialTokens) if (model.tokens[id] === undefined) entries.push([t, id]);
  entries.sort((a, b) => a[1] - b[1]);
  const vocab: Record<string, number> = {};
  for (const [t, id] of entries) vocab[t] = id;
  const added = [...tok.specialTokens]
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: tok.normalizer.toJSON(),
    pre_tokenizer: tok.preTokenizer.toJSON(),
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: tok.decoderPart.toJSON(),
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
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
