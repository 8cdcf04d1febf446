// Incremental detokenization for stop strings and streaming.
//
// Streaming must never emit half a UTF-8 character and never emit text that a stop string will later trim.
// With a tokenizer that can return raw bytes (`tokenBytes` / `decodeBytes`), text is decoded incrementally
// with a streaming TextDecoder, which holds back an incomplete trailing UTF-8 sequence exactly. With `decode`
// only, the whole sequence is re-decoded each token and trailing U+FFFD replacement characters are held back
// until the next token completes them (or the sequence ends).

import type { Detokenizer } from './types';

export interface StopMatch {
  /** Index in the text where the earliest stop string starts. */
  index: number;
  stop: string;
}

/** Earliest occurrence of any stop string in `text` (ties: the longer stop string). */
export function findStop(text: string, stops: readonly string[], from = 0): StopMatch | null {
  let best: StopMatch | null = null;
  for (const stop of stops) {
    const i = text.indexOf(stop, Math.max(0, from - stop.length + 1));
    if (i >= 0 && (best === null || i < best.index || (i === best.index && stop.length > best.stop.length))) {
      best = { index: i, stop };
    }
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string (text to hold back). */
export function stopPrefixHold(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const stop of stops) {
    const max = Math.min(stop.length - 1, text.length);
    for (let k = max; k > hold; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/**
 * Tracks one sequence's text as tokens arrive. `push` returns the safe delta to emit; `finish` returns the
 * final delta (flushing anything held back, trimming a stop string).
 */
export class TextStream {
  private ids: number[] = [];
  private emitted = 0;
  private searched = 0;
  private readonly bytesOf: ((id: number) => Uint8Array) | null;
  private readonly td: TextDecoder | null;
  private decodedText = ''; // byte mode: everything the streaming TextDecoder has released
  /** Full text so far (trimmed at the stop string once one matched). */
  text = '';
  stopped: StopMatch | null = null;

  constructor(
    private readonly tok: Detokenizer | undefined,
    private readonly stops: readonly string[],
  ) {
    const t = tok;
    this.bytesOf = t?.tokenBytes ? (id) => t.tokenBytes!(id) : t?.decodeBytes ? (id) => t.decodeBytes!([id]) : null;
    this.td = this.bytesOf ? new TextDecoder('utf-8') : null;
  }

  /** Current text and the length of its prefix that later tokens cannot change. */
  private decodeStable(final: boolean): { text: string; stable: number } {
    if (this.td) {
      if (final) this.decodedText += this.td.decode();
      return { text: this.decodedText, stable: this.decodedText.length };
    }
    const text = this.tok!.decode(this.ids);
    if (final) return { text, stable: text.length };
    let stable = text.length;
    while (stable > 0 && text.charCodeAt(stable - 1) === 0xfffd) stable--;
    return { text, stable };
  }

  /** Add a text-bearing token (not EOS). Returns the delta that is now safe to emit. */
  push(id: number, final: boolean): string {
    this.ids.push(id);
    if (!this.tok || this.stopped) return '';
    if (this.td) this.decodedText += this.td.decode(this.bytesOf!(id), { stream: true });
    const { text, stable } = this.decodeStable(final);
    if (this.stops.length > 0) {
      const m = findStop(text, this.stops, this.searched);
      this.searched = Math.max(0, stable);
      if (m) {
        this.stopped = m;
        this.text = text.slice(0, m.index);
        return this.flush(m.index);
      }
    }
    this.text = text;
    if (final) return this.flush(text.length);
    const safe = this.stops.length > 0 ? stable - stopPrefixHold(text.slice(0, stable), this.stops) : stable;
    return this.flush(safe);
  }

  /** The sequence ended (EOS or length) without another text token: flush what was held back. */
  finish(): string {
    if (!this.tok || this.stopped) return '';
    if (this.ids.length > 0) this.text = this.decodeStable(true).text;
    return this.flush(this.text.length);
  }

  private flush(upTo: number): string {
    if (upTo <= this.emitted) return '';
    const delta = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return delta;
  }
}
