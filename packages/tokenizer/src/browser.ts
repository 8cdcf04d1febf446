// @gptlab/tokenizer without file access: what a browser bundle gets (the `browser` export condition). Load
// from contents with BPETokenizer.fromFiles / fromJSON / fromGPT2Strings; the path-taking methods explain
// that they need Node (or an I/O installed with setTokenizerFileIO).
export { BPETokenizer, ENDOFTEXT, TOKENIZER_FILES, type EncodeOptions, type BPETokenizerParts } from './tokenizer';
export { setTokenizerFileIO, type TokenizerFileIO } from './file-io';
export type { LoadOptions } from './vocab-files';
export { BPEModel, type BPEModelOptions } from './model';
export { GPT2PreTokenizer, RegexPreTokenizer, GPT2_PATTERN, type PreTokenizer, type WhitespaceMode } from './pretokenizer';
export { IdentityNormalizer, UnicodeNormalizer, type Normalizer, type UnicodeForm } from './normalizer';
export { ByteLevelDecoder, StreamingDecoder, type Decoder, type ByteSource, type ByteTables } from './decoder';
export { trainBPE, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';
export { bytesToUnicode, bytesToByteLevel, byteLevelToBytes } from './bytes';
export { parseMergesText, parseVocabJson, formatMergesText } from './io';
