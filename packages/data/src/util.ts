// Small helpers the pipeline's modules share: 32-bit hashing, content fingerprints, UTF-8 decoding that counts
// invalid bytes, and a byte-level line reader (so that a bad line is reported, not silently re-decoded).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** murmur3 32-bit finaliser: a bijective mixer of a 32-bit integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, finalised with fmix32. */
export function hashString32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return fmix32(h);
}

/** Stable 128-bit content fingerprint (hex) used for exact dedup. */
export function contentHash(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** UTF-8 byte length of a string without allocating. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
const lossyDecoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Decodes UTF-8, replacing invalid sequences with U+FFFD (WHATWG "maximal subpart" rule) and counting how many
 * replacements were made (U+FFFD characters that were already validly encoded in the input are not counted).
 */
export function decodeUtf8(buf: Uint8Array): { text: string; invalid: number } {
  try {
    return { text: fatalDecoder.decode(buf), invalid: 0 };
  } catch {
    const text = lossyDecoder.decode(buf);
    let replaced = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) replaced++;
    let genuine = 0; // EF BF BD = a real U+FFFD in the input
    for (let i = 0; i + 2 < buf.length; i++) if (buf[i] === 0xef && buf[i + 1] === 0xbf && buf[i + 2] === 0xbd) genuine++;
    return { text, invalid: replaced - genuine };
  }
}

/** Yields the lines (without the trailing \n or \r\n) of a byte stream as raw bytes, with 1-based line numbers. */
export async function* readLines(stream: Readable | AsyncIterable<Buffer | string>): AsyncGenerator<{ line: Buffer; lineNo: number }> {
  let pending: Buffer[] = [];
  let lineNo = 0;
  for await (const chunk0 of stream as AsyncIterable<Buffer | string>) {
    const chunk = typeof chunk0 === 'string' ? Buffer.from(chunk0, 'utf8') : chunk0;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      if (pending.length) {
        pending.push(line);
        line = Buffer.concat(pending);
        pending = [];
      }
      if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      yield { line, lineNo: ++lineNo };
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  }
  if (pending.length) {
    let line = Buffer.concat(pending);
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length) yield { line, lineNo: ++lineNo };
  }
}

/** `s` cut to `n` characters with an ellipsis (for examples in reports and error messages). */
export function truncate(s: string, n = 200): string {
  return s.length <= n ? s : s.slice(0, n) + '…';
}
