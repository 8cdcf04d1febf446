// Reading a file as a byte stream whatever its compression: `.gz` through zlib, `.zst` through fzstd's
// streaming decompressor (pure JavaScript), anything else as is. Chunks are yielded as they are decompressed,
// so memory stays bounded by the chunk size and not by the file.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { DataInputError } from './errors';

export type Compression = 'gzip' | 'zstd' | 'none';

/** The compression a file name says it has (`docs.jsonl.gz`, `docs.jsonl.zst`). */
export function compressionOf(file: string): Compression {
  if (/\.gz$/i.test(file)) return 'gzip';
  if (/\.zst$/i.test(file)) return 'zstd';
  return 'none';
}

/** `docs.jsonl.gz` → `docs.jsonl`: the name that tells what the decompressed bytes are. */
export function withoutCompressionSuffix(file: string): string {
  return file.replace(/\.(gz|zst)$/i, '');
}

async function* gunzipChunks(file: string): AsyncGenerator<Buffer> {
  const gunzip = fs.createReadStream(file).pipe(zlib.createGunzip());
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (e) {
    throw new DataInputError(`${file}: not a valid gzip file (${(e as Error).message})`);
  }
}

async function* zstdChunks(file: string): AsyncGenerator<Buffer> {
  const ready: Buffer[] = [];
  // fzstd may reuse its window buffer between calls: each chunk is copied before it is handed on.
  const dec = new Decompress((data) => ready.push(Buffer.from(data)));
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      dec.push(chunk, final);
    } catch (e) {
      throw new DataInputError(`${file}: not a valid zstd file (${(e as Error).message})`);
    }
  };
  let any = false;
  for await (const chunk of fs.createReadStream(file)) {
    any = true;
    push(chunk as Buffer, false);
    while (ready.length) yield ready.shift()!;
  }
  if (!any) throw new DataInputError(`${file}: not a valid zstd file (empty)`);
  push(new Uint8Array(0), true);
  while (ready.length) yield ready.shift()!;
}

/** The decompressed bytes of `file`, chunk by chunk. */
export function readFileChunks(file: string): AsyncIterable<Buffer> {
  switch (compressionOf(file)) {
    case 'gzip':
      return gunzipChunks(file);
    case 'zstd':
      return zstdChunks(file);
    default:
      return fs.createReadStream(file) as AsyncIterable<Buffer>;
  }
}

/** The whole decompressed file (one-document-per-file text sources). */
export async function readWholeFile(file: string): Promise<Buffer> {
  if (compressionOf(file) === 'none') return fs.readFileSync(file);
  const parts: Buffer[] = [];
  for await (const c of readFileChunks(file)) parts.push(c);
  return Buffer.concat(parts);
}
