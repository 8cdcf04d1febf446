// Loading a checkpoint without a file system: from bytes already in memory (loadGPTFromFiles) or from a base
// URL serving the Hugging Face layout (loadGPTFromURL: config.json, then model.safetensors or the shards
// listed in model.safetensors.index.json). Browser-safe; the Node loader of a folder is loadGPT (checkpoint.ts).
import { gptFromTensors, HF_BUFFER } from './from-tensors';
import type { GPT } from './gpt';
import { parseSafetensors, type SafetensorsTensor } from './safetensors';
import { parseShardIndex, SHARD_INDEX } from './shard-index';

export type FileContents = string | ArrayBuffer | Uint8Array;

export interface GPTFiles {
  /** config.json: its text, bytes, or the parsed object. */
  config: FileContents | Record<string, unknown>;
  /** model.safetensors, or every shard of a sharded checkpoint (tensor names must not repeat across them). */
  safetensors: ArrayBuffer | Uint8Array | (ArrayBuffer | Uint8Array)[];
  /** Names used in error messages (default config.json, model.safetensors / shard-N). */
  configName?: string;
  safetensorsNames?: string[];
}

function parseConfig(config: GPTFiles['config'], name: string): Record<string, unknown> {
  if (typeof config === 'object' && !(config instanceof ArrayBuffer) && !(config instanceof Uint8Array)) return config;
  const text = typeof config === 'string' ? config : new TextDecoder().decode(config);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${name}: not a JSON object`);
  return json as Record<string, unknown>;
}

/** A GPT from config.json and safetensors bytes (the same checks and names as loadGPT(dir)). */
export async function loadGPTFromFiles(files: GPTFiles): Promise<GPT> {
  const configName = files.configName ?? 'config.json';
  const json = parseConfig(files.config, configName);
  const shards = Array.isArray(files.safetensors) ? files.safetensors : [files.safetensors];
  if (shards.length === 0) throw new Error('loadGPTFromFiles: no safetensors given');
  const names = files.safetensorsNames ?? shards.map((_, i) => (shards.length === 1 ? 'model.safetensors' : `shard-${i + 1}`));
  const tensors = new Map<string, SafetensorsTensor>();
  for (let i = 0; i < shards.length; i++) {
    const st = await parseSafetensors(shards[i]!, names[i], { filter: (name) => !HF_BUFFER.test(name) });
    for (const [name, t] of st.tensors) {
      if (tensors.has(name)) throw new Error(`${names[i]}: tensor '${name}' is also in another shard`);
      tensors.set(name, t);
    }
  }
  return gptFromTensors(json, tensors, { configFile: configName, weightsFile: names.join(', ') });
}

export interface URLLoadOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (url: string) => Promise<Response>;
}

/** `base` joined with a file name, whether or not `base` ends with '/'. */
export function fileURL(base: string, name: string): string {
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

/** The body of `url`, null on 404; other failures throw naming the URL. */
export async function fetchBytes(url: string, fetchFn: URLLoadOptions['fetch'] = globalThis.fetch): Promise<ArrayBuffer | null> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new Error(`${url}: fetch failed (${(e as Error).message})`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/**
 * Fetches `base`/config.json and `base`/model.safetensors (or, when that is missing, the shards named by
 * model.safetensors.index.json) and builds the model.
 */
export async function loadGPTFromURL(base: string, options: URLLoadOptions = {}): Promise<GPT> {
  const get = (name: string) => fetchBytes(fileURL(base, name), options.fetch);
  const config = await get('config.json');
  if (!config) throw new Error(`${fileURL(base, 'config.json')}: not found`);
  const single = await get('model.safetensors');
  if (single) return loadGPTFromFiles({ config, safetensors: single, configName: fileURL(base, 'config.json') });
  const index = await get(SHARD_INDEX);
  if (!index) throw new Error(`${fileURL(base, 'model.safetensors')}: not found (nor ${SHARD_INDEX})`);
  const indexURL = fileURL(base, SHARD_INDEX);
  const shardNames = [...parseShardIndex(parseConfig(index, indexURL), indexURL).keys()].sort();
  const shards: ArrayBuffer[] = [];
  for (const name of shardNames) {
    const bytes = await get(name);
    if (!bytes) throw new Error(`${fileURL(base, name)}: not found (listed in ${SHARD_INDEX})`);
    shards.push(bytes);
  }
  return loadGPTFromFiles({
    config,
    safetensors: shards,
    configName: fileURL(base, 'config.json'),
    safetensorsNames: shardNames.map((n) => fileURL(base, n)),
  });
}
