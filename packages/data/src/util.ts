import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
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

/** Seeded PRNG (splitmix32 state step + xorshift-multiply output); uniform floats in [0, 1). */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /**
   * numpy.random.pareto(a): a Lomax (Pareto II) draw, X = U^(-1/a) - 1, so P(X > x) = (1 + x)^-a.
   * GPT-3 keeps a document when pareto(9) > 1 - score.
   */
  pareto(alpha: number): number {
    const u = 1 - this.next(); // (0, 1]
    return Math.pow(u, -1 / alpha) - 1;
  }
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

/** A unique temporary path next to `target` (same directory, so rename is atomic). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file atomically: temp file in the same directory, then rename. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Line-oriented writer to a temp file that becomes `target` only on commit(); abort() removes it. */
export class AtomicLineWriter {
  private readonly tmp: string;
  private fd: number;
  private buf: string[] = [];
  private bufLen = 0;
  private done = false;
  constructor(readonly target: string) {
    fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
    this.tmp = tempPathFor(target);
    this.fd = fs.openSync(this.tmp, 'w');
  }
  write(s: string): void {
    this.buf.push(s);
    this.bufLen += s.length;
    if (this.bufLen > 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.buf.length) fs.writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bufLen = 0;
  }
  commit(): void {
    if (this.done) return;
    this.flush();
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.target);
    this.done = true;
  }
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

export function truncate(s: string, n = 200): string {
  return s.length <= n ? s : s.slice(0, n) + '…';
}
