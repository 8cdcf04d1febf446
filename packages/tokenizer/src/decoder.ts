// Decoders turn ids back into text. Byte-level BPE tokens are byte strings, so a token boundary can fall inside
// a multi-byte UTF-8 character: `decode` joins all bytes before decoding, and `StreamingDecoder` holds the
// incomplete tail of a character until the bytes that complete it arrive.

import { describe } from './io';

/** Flat byte tables of a vocabulary: the bytes of id are pool[off[id], off[id + 1]); hole[id] = 1 where id is no token. */
export interface ByteTables {
  pool: Uint8Array;
  off: Int32Array;
  hole: Uint8Array;
}

/** Source of the bytes of each id (implemented by BPETokenizer). */
export interface ByteSource {
  /** Appends the bytes of `id` to buf at `at` (growing it when needed); returns [buffer, new length]. */
  bytesInto(id: number, buf: Uint8Array, at: number): [Uint8Array, number];
  /** The flat tables, when the source has them (the fast path of ByteLevelDecoder). */
  byteTables?(): ByteTables;
}

/** Byte tables of ids [0, size), from the bytes of each id (null for ids that are not tokens). */
export function buildByteTables(size: number, bytesOf: (id: number) => Uint8Array | null): ByteTables {
  const parts: (Uint8Array | null)[] = new Array(size);
  let total = 0;
  for (let id = 0; id < size; id++) {
    const b = bytesOf(id);
    parts[id] = b;
    if (b) total += b.length;
  }
  const pool = new Uint8Array(total);
  const off = new Int32Array(size + 1);
  const hole = new Uint8Array(size);
  let at = 0;
  for (let id = 0; id < size; id++) {
    off[id] = at;
    const b = parts[id];
    if (b) {
      pool.set(b, at);
      at += b.length;
    } else hole[id] = 1;
  }
  off[size] = at;
  return { pool, off, hole };
}

/** ByteSource.bytesInto on byte tables: appends the bytes of `id`, or throws a RangeError naming the bad id. */
export function appendTokenBytes(t: ByteTables, id: number, buf: Uint8Array, at: number): [Uint8Array, number] {
  const size = t.hole.length;
  if (!(id >= 0 && id < size) || !Number.isInteger(id) || t.hole[id]) {
    throw new RangeError(`decode: ${describe(id)} is not a token id of this tokenizer (vocabSize ${size})`);
  }
  const s = t.off[id];
  const e = t.off[id + 1];
  const need = at + (e - s);
  if (need > buf.length) {
    const grown = new Uint8Array(Math.max(need, buf.length * 2));
    grown.set(buf.subarray(0, at));
    buf = grown;
  }
  if (e - s === 1) buf[at] = t.pool[s];
  else buf.set(t.pool.subarray(s, e), at);
  return [buf, need];
}

export interface Decoder {
  decode(ids: ArrayLike<number>, src: ByteSource): string;
  /** Hugging Face tokenizer.json `decoder` value. */
  toJSON(): unknown;
}

/**
 * Byte-level decoder (GPT-2's `decode` with errors="replace"): invalid or truncated UTF-8 becomes U+FFFD
 * (WHATWG TextDecoder rules). A leading byte order mark is kept, not stripped.
 */
export class ByteLevelDecoder implements Decoder {
  private readonly td = new TextDecoder('utf-8', { ignoreBOM: true });
  private buf: Uint8Array = new Uint8Array(4096);

  decode(ids: ArrayLike<number>, src: ByteSource): string {
    let buf = this.buf;
    let n = 0;
    const t = src.byteTables?.();
    if (t) {
      const { pool, off, hole } = t;
      const size = hole.length;
      const len = ids.length;
      for (let i = 0; i < len; i++) {
        const id = ids[i];
        if (!(id >= 0 && id < size) || hole[id] || id !== Math.floor(id)) {
          [buf, n] = src.bytesInto(id, buf, n); // throws the descriptive error
          continue;
        }
        const s = off[id];
        const e = off[id + 1];
        if (n + (e - s) > buf.length) {
          const nb = new Uint8Array(Math.max(n + (e - s), buf.length * 2, (len - i) * 4));
          nb.set(buf.subarray(0, n));
          buf = nb;
        }
        for (let k = s; k < e; k++) buf[n++] = pool[k];
      }
    } else for (let i = 0; i < ids.length; i++) [buf, n] = src.bytesInto(ids[i], buf, n);
    if (buf.length <= 1 << 20) this.buf = buf;
    return this.td.decode(buf.subarray(0, n));
  }

  toJSON(): unknown {
    return { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  }
}

/**
 * Incremental decoding for generation: `push(id)` returns the text that is complete so far and keeps the bytes
 * of an unfinished UTF-8 character for later; it never returns half a character (nor half a surrogate pair).
 * `flush()` returns what is left (an unfinished character becomes U+FFFD) and resets the decoder.
 * The concatenation of all outputs equals `tok.decode(allIds)`.
 */
export class StreamingDecoder {
  private td = new TextDecoder('utf-8', { ignoreBOM: true });
  private buf: Uint8Array = new Uint8Array(64);

  constructor(private readonly src: ByteSource) {}

  push(id: number): string {
    const [buf, n] = this.src.bytesInto(id, this.buf, 0);
    this.buf = buf;
    return this.td.decode(buf.subarray(0, n), { stream: true });
  }

  /** Pushes several ids; returns the completed text. */
  pushAll(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.push(ids[i]);
    return s;
  }

  flush(): string {
    const s = this.td.decode();
    this.td = new TextDecoder('utf-8', { ignoreBOM: true });
    return s;
  }
}
