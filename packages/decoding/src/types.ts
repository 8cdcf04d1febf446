/**
 * Model access for decoding: next-token logits with an (optional) KV cache.
 *
 * A `LanguageModel` opens sessions; a `ModelSession` holds per-row state (the KV cache) for a batch of rows
 * that all advance together. `feed` appends the same number of tokens to every row and returns the raw
 * next-token logits (length `vocabSize`) for each row. `reorder(rows)` makes new row i a copy of old row
 * `rows[i]`; `rows` may be shorter (drop finished rows) or longer (fan one prompt out to several beams or
 * samples) than the current batch.
 */
export interface LanguageModel {
  readonly vocabSize: number;
  /** Longest sequence the model can attend to (its position table size). */
  readonly contextLength: number;
  start(batch: number): ModelSession;
  /** Optional: a one-row session for beam search, whose reorder (beam parents) copies no model state. */
  startBeams?(): ModelSession;
}

export interface ModelSession {
  /** Append `tokens[r]` to row r (all rows the same length); returns raw next-token logits per row. */
  feed(tokens: number[][]): Promise<Float32Array[]>;
  /** New row i = old row rows[i] (beam reordering / fan-out / dropping finished rows). */
  reorder(rows: number[]): void;
  dispose(): void;
}

/**
 * Turns token ids back into text. With `tokenBytes` (as @gptlab/tokenizer's BPETokenizer has) or
 * `decodeBytes`, streaming decodes bytes incrementally and cuts exactly at UTF-8 boundaries; with `decode`
 * only, trailing U+FFFD characters are held back until the next token completes them.
 */
export interface Detokenizer {
  decode(ids: number[]): string;
  /** Raw bytes of one token. */
  tokenBytes?(id: number): Uint8Array;
  /** Raw bytes of a token sequence (concatenation of the tokens' bytes). */
  decodeBytes?(ids: number[]): Uint8Array;
}

export type FinishReason = 'length' | 'eos' | 'stop';

/** One returned sequence. This is the JSON the playground prints (`resultToJSON` keeps exactly these fields). */
export interface GenerateResult {
  /** New token ids (an EOS token that ended the sequence is included; tokens after a stop string are not). */
  ids: number[];
  /** Decoded new text ('' without a tokenizer); EOS is not decoded and stop strings are trimmed. */
  text: string;
  /** Raw log-prob of each new token under the model's unprocessed distribution (log-softmax of the logits). */
  logprobs: number[];
  /** Sum of `logprobs`: the cumulative raw log-prob of the returned sequence. */
  score: number;
  finishReason: FinishReason;
  /** Beam search only: the score the beams were ranked by (processed log-probs / length^lengthPenalty). */
  beamScore?: number;
}

export interface StreamEvent {
  token: number;
  /** Text delta for this token: never half a UTF-8 character, never part of a stop string. May be ''. */
  text: string;
  logprob: number;
}
