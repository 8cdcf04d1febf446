// Where a queued run keeps its intermediate files: a directory every worker can read. A shared path (NFS, a
// mounted volume, or one machine's disk for local workers) is what ships; S3-compatible object storage is the
// production path and only needs this interface (keys are '/'-separated, written once, read many times).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@gptlab/common/node';

export interface TaskStorage {
  /** What tasks carry so that any worker opens the same storage (a directory path here). */
  readonly location: string;
  /** Writes a whole object; a reader never sees a partial one (a retried task rewrites the same bytes). */
  write(key: string, data: Uint8Array | string): Promise<void>;
  read(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Keys under `prefix` ('dir/' lists that directory), sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Storage on a directory every worker mounts at the same path. */
export class SharedDirStorage implements TaskStorage {
  readonly location: string;
  constructor(root: string) {
    this.location = path.resolve(root);
  }
  private file(key: string): string {
    if (key.split('/').some((p) => p === '..' || p === '')) throw new Error(`bad storage key "${key}"`);
    return path.join(this.location, key);
  }
  async write(key: string, data: Uint8Array | string): Promise<void> {
    const f = this.file(key);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    writeFileAtomic(f, data);
  }
  async read(key: string): Promise<Buffer> {
    try {
      return fs.readFileSync(this.file(key));
    } catch (e) {
      throw new Error(
        `intermediate file ${this.file(key)} is missing (is ${this.location} shared with every worker?): ${(e as Error).message}`,
      );
    }
  }
  async exists(key: string): Promise<boolean> {
    return fs.existsSync(this.file(key));
  }
  async list(prefix: string): Promise<string[]> {
    const dir = this.file(prefix.replace(/\/$/, ''));
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort()
      .map((n) => `${prefix.replace(/\/$/, '')}/${n}`);
  }
}

/** Opens the storage a task names. */
export function openStorage(location: string): TaskStorage {
  return new SharedDirStorage(location);
}

/** Little-endian uint32 array of a stored object (copied: Buffers from the pool are not 4-byte aligned). */
export function u32(buf: Buffer): Uint32Array {
  const out = new Uint32Array(buf.length >>> 2);
  new Uint8Array(out.buffer).set(buf.subarray(0, out.length * 4));
  return out;
}

export function bytesOf(a: Uint32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
