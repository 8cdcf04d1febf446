// Decoders turn ids back into text. Byte-level BPE tokens are byte strings, so a token boundary can fall inside
// a multi-byte UTF-8 character: `decode` joins all bytes before decoding, and `StreamingDecoder` holds the
// incomplete tail of a character until the bytes that complete it arrive.

/** Source of the bytes of each id (implemented by BPETokenizer). */
export interface ByteSource {
  /** Appends the bytes of `id` to buf at `at` (growing it when needed); returns [buffer, new length]. */
  bytesInto(id: number, buf: Uint8Array, at: number): [Uint8Array, number];
  /** Flat tables: bytes of id are pool[off[id], off[id + 1]); ids with hole[id] = 1 are not tokens. */
  byteTables?(): { pool: Uint8Array; off: Int32Array; hole: Uint8Array };
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
