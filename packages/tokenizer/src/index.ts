// @gptlab/tokenizer — byte-level BPE with exact GPT-2 parity: normaliser → pre-tokeniser → BPE model → decoder.
export { BPETokenizer, ENDOFTEXT, type EncodeOptions, type BPETokenizerParts } from './tokenizer';
export type { LoadOptions } from './vocab-files';
export { BPEModel, type BPEModelOptions } from './model';
export { GPT2PreTokenizer, RegexPreTokenizer, GPT2_PATTERN, type PreTokenizer, type WhitespaceMode } from './pretokenizer';
export { IdentityNormalizer, UnicodeNormalizer, type Normalizer, type UnicodeForm } from './normalizer';
export { ByteLevelDecoder, StreamingDecoder, type Decoder, type ByteSource, type ByteTables } from './decoder';
export { trainBPE, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';
export { bytesToUnicode, bytesToByteLevel, byteLevelToBytes } from './bytes';
export { parseMergesText, parseVocabJson, formatMergesText } from './io';
