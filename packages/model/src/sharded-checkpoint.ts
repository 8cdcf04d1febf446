// The weights of a checkpoint directory on disk: one model.safetensors, or shards listed by
// model.safetensors.index.json (the index wins when both are present, as in transformers). Saving switches to
// shards when `maxShardSize` is given and the tensors exceed it, and removes the files of the other layout that a
// previous save left behind, so a directory never holds two disagreeing copies of the weights.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicAsync } from '@gptlab/common/node';
import { DTYPE_BYTES, type ReadOptions, type SafetensorsDtype, type SafetensorsInput, type SafetensorsTensor } from './safetensors';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors-file';
import { parseShardIndex, planShards, SHARD_INDEX, shardFileName, shardIndexJSON } from './shard-index';

const SINGLE = 'model.safetensors';
const SHARD_FILE = /^model-\d{5}-of-\d{5}\.safetensors$/;

export interface CheckpointTensors {
  tensors: Map<string, SafetensorsTensor>;
  /** The file errors should name: model.safetensors or the index. */
  source: string;
}

const exists = (file: string) =>
  fsp.access(file).then(
    () => true,
    () => false,
  );

/** Reads the weights of `dir` (sharded or not); `filter` as readSafetensors'. */
export async function readCheckpointTensors(dir: string, filter?: ReadOptions['filter']): Promise<CheckpointTensors> {
  const indexFile = path.join(dir, SHARD_INDEX);
  if (await exists(indexFile)) return readSharded(dir, indexFile, filter);
  const file = path.join(dir, SINGLE);
  if (!(await exists(file))) {
    const hasBin = await exists(path.join(dir, 'pytorch_model.bin'));
    throw new Error(`${file}: not found${hasBin ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : ''}`);
  }
  const st = await readSafetensors(file, { filter });
  return { tensors: st.tensors, source: file };
}

async function readSharded(dir: string, indexFile: string, filter?: ReadOptions['filter']): Promise<CheckpointTensors> {
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(indexFile, 'utf8'));
  } catch (e) {
    throw new Error(`${indexFile}: ${(e as Error).message}`);
  }
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [shard, names] of parseShardIndex(json, indexFile)) {
    const listed = new Set(names);
    const file = path.join(dir, shard);
    if (!(await exists(file))) throw new Error(`${indexFile}: shard ${shard} (holding '${names[0]}') is missing`);
    // A listed name the shard does not hold is a broken index; tensors the index does not assign to this shard
    // are ignored (a stray copy elsewhere would be ambiguous).
    const header = await readSafetensorsHeader(file);
    const absent = names.find((n) => !header.entries.has(n));
    if (absent !== undefined) throw new Error(`${indexFile}: weight_map puts '${absent}' in ${shard}, which does not hold it`);
    const st = await readSafetensors(file, { filter: (name, e) => listed.has(name) && (!filter || filter(name, e)) });
    for (const [name, t] of st.tensors) tensors.set(name, t);
  }
  return { tensors, source: indexFile };
}

/** Bytes a tensor takes in the file (F16/BF16 given as float32 are stored in 2 bytes). */
function storedBytes(t: SafetensorsInput): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype as SafetensorsDtype];
}

/**
 * Writes the tensors as model.safetensors, or — when `maxShardSize` (bytes) is given and they exceed it — as
 * shards plus model.safetensors.index.json. Every file is written atomically; the layout not written is removed
 * afterwards (for shards, after the index is in place), so a reader always finds one complete copy.
 */
export async function writeCheckpointTensors(
  dir: string,
  tensors: Record<string, SafetensorsInput>,
  metadata: Record<string, string>,
  maxShardSize?: number,
): Promise<string[]> {
  const names = Object.keys(tensors).sort();
  const sizes = names.map((n) => [n, storedBytes(tensors[n]!)] as const);
  const shards = maxShardSize === undefined ? [names] : planShards(sizes, maxShardSize);
  const before = await fsp.readdir(dir);
  if (shards.length <= 1) {
    await writeSafetensors(path.join(dir, SINGLE), tensors, metadata);
    await removeStale(dir, before, (f) => f === SHARD_INDEX || SHARD_FILE.test(f));
    return [SINGLE];
  }
  const written: string[] = [];
  for (let i = 0; i < shards.length; i++) {
    const part = Object.fromEntries(shards[i]!.map((n) => [n, tensors[n]!]));
    const file = shardFileName(i, shards.length);
    await writeSafetensors(path.join(dir, file), part, metadata);
    written.push(file);
  }
  const total = sizes.reduce((a, [, s]) => a + s, 0);
  await writeFileAtomicAsync(path.join(dir, SHARD_INDEX), JSON.stringify(shardIndexJSON(shards, total), null, 2) + '\n');
  await removeStale(dir, before, (f) => f === SINGLE || (SHARD_FILE.test(f) && !written.includes(f)));
  return [...written, SHARD_INDEX];
}

async function removeStale(dir: string, files: string[], stale: (f: string) => boolean): Promise<void> {
  for (const f of files) if (stale(f)) await fsp.rm(path.join(dir, f), { force: true });
}
