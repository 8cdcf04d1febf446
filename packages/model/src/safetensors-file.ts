// safetensors files on disk (Node only): atomic writes, and reads through a file handle, tensor by tensor, so
// checkpoints larger than one Node buffer load too. The format itself is safetensors.ts (browser-safe).
import { promises as fsp } from 'node:fs';
import { writeFileAtomicAsync } from '@gptlab/common/node';
import {
  SafetensorsError,
  encodeSafetensors,
  readHeader,
  readTensors,
  type ByteReader,
  type ReadOptions,
  type SafetensorsFile,
  type SafetensorsHeader,
  type SafetensorsInput,
} from './safetensors';

/** Writes a safetensors file atomically (a temporary file in the same folder, fsync'ed, then renamed). */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomicAsync(file, encodeSafetensors(tensors, metadata));
}

/** Runs `use` on the file as a ByteReader, closing it afterwards; a missing file is a SafetensorsError. */
async function withFile<T>(file: string, use: (reader: ByteReader) => Promise<T>): Promise<T> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SafetensorsError(`${file}: no such file`);
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    return await use({
      size,
      read: async (buf, position) => {
        let done = 0;
        while (done < buf.byteLength) {
          const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      },
    });
  } finally {
    await fh.close();
  }
}

/** Reads and checks the header: every entry's dtype, shape and offsets, and that the file holds them all. */
export function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  return withFile(file, (reader) => readHeader(reader, file));
}

/** Reads a safetensors file; throws SafetensorsError naming the file (and the tensor) when it is malformed. */
export function readSafetensors(file: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  return withFile(file, (reader) => readTensors(reader, file, options));
}
