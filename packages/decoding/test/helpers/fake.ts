// Scripted fake language models for tests: logits are a deterministic function of the (windowed) prefix,
// and each session keeps its own per-row history, so a wrong cache reorder shows up as wrong logits.

import type { LanguageModel, ModelSession } from '../../src/types';
import { logSoftmax } from '../../src/math';

function hashTokens(seed: number, tokens: readonly number[]): number {
  let h = 0x811c9dc5 ^ seed;
  for (const t of tokens) {
    h ^= t & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= t >>> 8;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mulberry(seed: number): () => number {
  let s = seed | 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeStats {
  sessions: number;
  open: number;
  feedCalls: number;
  tokensFed: number;
  maxBatch: number;
}

export interface FakeModel extends LanguageModel {
  /** The logits the model gives after `prefix` (a pure function). */
  logitsOf(prefix: readonly number[]): Float32Array;
  logprobsOf(prefix: readonly number[]): Float64Array;
  stats: FakeStats;
}

export interface FakeOptions {
  vocabSize: number;
  contextLength?: number;
  seed?: number;
  /** Logit scale (bigger → peakier distributions). */
  scale?: number;
  /** Added to one token's logit (e.g. to make EOS likely). */
  boost?: { token: number; by: number };
  /** Override: logits from a function of the prefix. */
  fn?: (prefix: readonly number[]) => ArrayLike<number>;
}

export function fakeModel(o: FakeOptions): FakeModel {
  const V = o.vocabSize;
  const C = o.contextLength ?? 1 << 20;
  const seed = o.seed ?? 0;
  const scale = o.scale ?? 2;
  const stats: FakeStats = { sessions: 0, open: 0, feedCalls: 0, tokensFed: 0, maxBatch: 0 };
  const logitsOf = (prefix: readonly number[]): Float32Array => {
    const window = prefix.slice(Math.max(0, prefix.length - C));
    if (o.fn) return Float32Array.from(o.fn(window));
    const rnd = mulberry(hashTokens(seed, window));
    const out = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      const u1 = Math.max(rnd(), 1e-12);
      const u2 = rnd();
      out[v] = scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    if (o.boost) out[o.boost.token] += o.boost.by;
    return out;
  };
  return {
    vocabSize: V,
    contextLength: C,
    stats,
    logitsOf,
    logprobsOf: (prefix) => logSoftmax(logitsOf(prefix)),
    start(batch: number): ModelSession {
      stats.sessions++;
      stats.open++;
      let rows: number[][] = Array.from({ length: batch }, () => []);
      let disposed = false;
      return {
        async feed(tokens: number[][]) {
          if (disposed) throw new Error('feed after dispose');
          if (tokens.length !== rows.length) throw new Error(`fake: ${tokens.length} rows fed, session has ${rows.length}`);
          const len = tokens[0].length;
          if (len === 0 || tokens.some((t) => t.length !== len)) throw new Error('fake: ragged or empty feed');
          stats.feedCalls++;
          stats.tokensFed += len * tokens.length;
          stats.maxBatch = Math.max(stats.maxBatch, tokens.length);
          tokens.forEach((t, r) => rows[r].push(...t));
          return rows.map((r) => logitsOf(r));
        },
        reorder(idx: number[]) {
          if (disposed) throw new Error('reorder after dispose');
          for (const i of idx) if (!(i >= 0 && i < rows.length)) throw new Error(`fake: bad reorder index ${i}`);
          rows = idx.map((i) => rows[i].slice());
        },
        dispose() {
          if (!disposed) stats.open--;
          disposed = true;
        },
      };
    },
  };
}

/** A model that always puts `by` extra logit on `next(prefix)` over a flat background: greedy follows a script. */
export function scriptedModel(vocabSize: number, next: (prefix: readonly number[]) => number, by = 10): FakeModel {
  return fakeModel({
    vocabSize,
    fn: (prefix) => {
      const out = new Float32Array(vocabSize);
      out[next(prefix)] = by;
      return out;
    },
  });
}

/** A byte-level tokenizer: token id i < 256 is byte i; ids >= 256 are the multi-byte strings in `extra`. */
export function byteTokenizer(extra: (string | number[])[] = [], withBytes = true) {
  const enc = new TextEncoder();
  const table: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) table.push(Uint8Array.of(i));
  for (const s of extra) table.push(typeof s === 'string' ? enc.encode(s) : Uint8Array.from(s));
  const bytesOf = (ids: number[]) => Uint8Array.from(ids.flatMap((i) => [...table[i]]));
  const tok: { vocabSize: number; decode(ids: number[]): string; decodeBytes?(ids: number[]): Uint8Array; encode(s: string): number[] } = {
    vocabSize: table.length,
    decode: (ids) => new TextDecoder().decode(bytesOf(ids)),
    encode: (s) => Array.from(enc.encode(s)),
  };
  if (withBytes) tok.decodeBytes = bytesOf;
  return tok;
}
