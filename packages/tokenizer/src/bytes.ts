// Byte-level alphabet (GPT-2's `bytes_to_unicode`, openai/gpt-2 src/encoder.py): every byte 0..255 is mapped
// to a printable Unicode character so that BPE symbols are strings without whitespace or control characters.
// Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 upwards in byte order.

/** `BYTE_TO_CHAR[b]` is the byte-level character (as a string) of byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
})();

/** Char code → byte for byte-level characters (0..323); -1 elsewhere. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return t;
})();

/** GPT-2's `bytes_to_unicode()` as a Map (byte → character), for users who want the table itself. */
export function bytesToUnicode(): Map<number, string> {
  const m = new Map<number, string>();
  for (let b = 0; b < 256; b++) m.set(b, BYTE_TO_CHAR[b]);
  return m;
}

/** Bytes → byte-level string (e.g. the UTF-8 of " the" → "Ġthe"). */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Byte-level string → bytes, or null when a character is outside the byte-level alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 324 ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

export const textEncoder = new TextEncoder();

/**
 * UTF-8 encodes `text[start, end)` into `out` from index 0 and returns the number of bytes. `out` must hold
 * 3 · (end − start) bytes (a UTF-16 unit never takes more). Lone surrogates become U+FFFD (EF BF BD), exactly as
 * `TextEncoder` does. Used in the encoder's and the trainer's inner loops, where TextEncoder's allocation
 * per piece would dominate.
 */
export function utf8Encode(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          out[n++] = 0xf0 | (cp >> 18);
          out[n++] = 0x80 | ((cp >> 12) & 63);
          out[n++] = 0x80 | ((cp >> 6) & 63);
          out[n++] = 0x80 | (cp & 63);
          i++;
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}
