// The two-file format of GPT-2 (`encoder.json` + `vocab.bpe`), which Hugging Face's slow tokenizers also use
// (`vocab.json` + `merges.txt`): a {token: id} object in the byte-level alphabet, and the merges in rank order.
// The format has no field for special tokens: they are vocabulary entries that no merge produces (GPT-2's
// `<|endoftext|>`), which is how they are told apart when reading and how they are written.

import { byteLevelToBytes, bytesToByteLevel, textEncoder } from './bytes';
import { describe, formatMergesText, isByteLevel, parseMergesText, parseVocabJson } from './io';
import { BPEModel } from './model';
import { GPT2PreTokenizer, type WhitespaceMode } from './pretokenizer';
import type { BPETokenizer, BPETokenizerParts } from './tokenizer';

export interface LoadOptions {
  /** Extra tokens of the vocabulary to treat as special (besides unreachable ones, see fromGPT2Files). */
  specialTokens?: string[];
  /** `\s` semantics of the GPT-2 pre-tokeniser (default 'unicode' = GPT-2/tiktoken; 'ecmascript' = js-tiktoken). */
  whitespace?: WhitespaceMode;
}

export interface VocabFileSources {
  /** File names used in error messages. */
  vocabSource?: string;
  mergesSource?: string;
}

/** Content of a special token stored in a vocabulary file: the byte-level spelling decoded when possible. */
export function specialContent(tok: string): string {
  const b = byteLevelToBytes(tok);
  if (!b) return tok;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return tok;
  }
}

/** The parts of a tokenizer described by the contents of a vocabulary file and a merges file. */
export function partsFromVocabFiles(vocabJson: string, mergesText: string, opts: LoadOptions & VocabFileSources = {}): BPETokenizerParts {
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
  return { model, specialTokens: specials, preTokenizer: new GPT2PreTokenizer({ whitespace: opts.whitespace }) };
}

/**
 * The vocab.json object and merges.txt text of `tok`. Special tokens become vocabulary entries spelled in the
 * byte-level alphabet; one that BPE can also produce could not be read back as special, so it is refused.
 */
export function vocabFilesOf(tok: BPETokenizer): { vocab: Record<string, number>; merges: string } {
  const { model } = tok;
  const vocab: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) {
    const t = tok.idToToken(id);
    if (t === undefined) continue;
    if (!tok.isSpecial(id)) {
      vocab[t] = id;
      continue;
    }
    const spelled = isByteLevel(t) ? t : bytesToByteLevel(textEncoder.encode(t));
    if (model.vocab.has(spelled) && model.vocab.get(spelled) !== id) {
      throw new Error(
        `saveGPT2Files: special token ${JSON.stringify(t)} collides with an ordinary token spelled ${JSON.stringify(spelled)}`,
      );
    }
    if (model.reachable[id]) {
      throw new Error(
        `saveGPT2Files: special token ${JSON.stringify(t)} (id ${id}) is also a token BPE produces; vocab.json cannot mark it special — use save() (tokenizer.json)`,
      );
    }
    vocab[spelled] = id;
  }
  return { vocab, merges: formatMergesText(model.merges) };
}
