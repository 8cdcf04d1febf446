// Sharded safetensors checkpoints, as transformers and huggingface_hub write them (split_state_dict_into_shards):
//   model-00001-of-00003.safetensors, …   each a complete safetensors file holding some of the tensors
//   model.safetensors.index.json          {"metadata": {"total_size": bytes of all tensor data},
//                                          "weight_map": {tensor name: shard file}}
// Tensors are packed in order; a shard is closed when the next tensor would push it past the size limit, and a
// tensor larger than the limit gets a shard of its own. Pure functions: the browser loader can use them too.

export const SHARD_INDEX = 'model.safetensors.index.json';

/** The file name of shard `i` (0-based) of `n`: `model-00001-of-00003.safetensors`. */
export function shardFileName(i: number, n: number): string {
  const five = (k: number) => String(k).padStart(5, '0');
  return `model-${five(i + 1)}-of-${five(n)}.safetensors`;
}

/** Groups tensors (name → byte size, in order) into shards of at most `maxShardSize` bytes each. */
export function planShards(sizes: ReadonlyArray<readonly [string, number]>, maxShardSize: number): string[][] {
  if (!(Number.isFinite(maxShardSize) && maxShardSize > 0)) {
    throw new Error(`maxShardSize must be a positive number of bytes, got ${maxShardSize}`);
  }
  const shards: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const [name, size] of sizes) {
    if (current.length && bytes + size > maxShardSize) {
      shards.push(current);
      current = [];
      bytes = 0;
    }
    current.push(name);
    bytes += size;
  }
  if (current.length) shards.push(current);
  return shards;
}

/** model.safetensors.index.json for the planned shards. */
export function shardIndexJSON(
  shards: string[][],
  totalSize: number,
): { metadata: { total_size: number }; weight_map: Record<string, string> } {
  const weightMap: Record<string, string> = {};
  shards.forEach((names, i) => {
    for (const name of names) weightMap[name] = shardFileName(i, shards.length);
  });
  return { metadata: { total_size: totalSize }, weight_map: weightMap };
}

/** Shard file → the tensors the index puts in it, in the index's order of files. */
export type ShardMap = Map<string, string[]>;

/**
 * Parses an index file's JSON: every weight_map value must be a plain file name ending in .safetensors (no
 * folders: a shard outside the checkpoint directory is refused). Errors name `file` and the field.
 */
export function parseShardIndex(json: unknown, file = SHARD_INDEX): ShardMap {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
  const map = (json as Record<string, unknown>).weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map))
    throw new Error(`${file}: weight_map must be an object {tensor: file}`);
  const byFile: ShardMap = new Map();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
      throw new Error(`${file}: weight_map["${name}"] must be a .safetensors file name in the same folder, got ${JSON.stringify(shard)}`);
    }
    const names = byFile.get(shard) ?? [];
    names.push(name);
    byFile.set(shard, names);
  }
  if (byFile.size === 0) throw new Error(`${file}: weight_map is empty`);
  return byFile;
}
