// Atomic file output: write a temp file in the target's directory, then rename over the target. A crash or
// Ctrl-C leaves either the old file or the new one, never half of one.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A unique temporary path next to `target` (same directory, so the rename is atomic). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

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

/** Async version; `parts` are written in order (e.g. a header and a large tensor buffer) and fsync'ed. */
export async function writeFileAtomicAsync(target: string, parts: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  await fsp.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tempPathFor(target);
  const list = typeof parts === 'string' ? [Buffer.from(parts, 'utf8')] : parts instanceof Uint8Array ? [parts] : parts;
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const p of list) {
      let done = 0;
      while (done < p.byteLength) {
        const { bytesWritten } = await fh.write(p, done, p.byteLength - done);
        done += bytesWritten;
      }
    }
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, target);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Streams text to a temp file that becomes `target` only on commit(); abort() removes it. */
export class AtomicWriter {
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
  write(s: string | Uint8Array): void {
    if (typeof s !== 'string') {
      this.flush();
      fs.writeSync(this.fd, s);
      return;
    }
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
