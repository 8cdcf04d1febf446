// Loading without a file system: loadGPTFromFiles (bytes in memory) and loadGPTFromURL (a base URL, through a
// fetch; single-file and sharded checkpoints) build the same model as loadGPT(dir), with errors naming the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  encodeSafetensors,
  loadGPT,
  loadGPTFromFiles,
  loadGPTFromURL,
  parseSafetensors,
  readSafetensors,
  type GPT,
  type SafetensorsInput,
} from '../src';
import { FIXTURES, ids2d, setup, tf, tmpDir } from './helpers';

const TINY = path.join(FIXTURES, 'tiny');
const root = tmpDir();
let reference: GPT;

beforeAll(async () => {
  await setup();
  reference = await loadGPT(TINY);
});
afterAll(() => {
  reference.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

function logits(m: GPT): Float32Array {
  const ids = ids2d([[1, 5, 9, 2, 7]]);
  const { logits: l } = m.forward(ids);
  const out = l.dataSync() as Float32Array;
  tf.dispose([ids, l]);
  return out;
}

/** A fetch over a folder, as a static file server answers (404 for missing files). */
function folderFetch(dir: string, seen: string[] = []) {
  return async (url: string): Promise<Response> => {
    seen.push(url);
    const file = path.join(dir, url.slice('https://models.test/tiny/'.length));
    if (!fs.existsSync(file)) return new Response('not found', { status: 404 });
    return new Response(fs.readFileSync(file));
  };
}

it('loadGPTFromFiles builds the model loadGPT(dir) builds, bit for bit', async () => {
  const want = logits(reference); // first forward: fills the causal-mask cache before counting tensors
  const before = tf.memory().numTensors;
  const m = await loadGPTFromFiles({
    config: fs.readFileSync(path.join(TINY, 'config.json'), 'utf8'),
    safetensors: fs.readFileSync(path.join(TINY, 'model.safetensors')),
  });
  expect(m.config).toEqual(reference.config);
  expect(logits(m)).toEqual(want);
  m.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

it('parseSafetensors reads the same tensors as readSafetensors', async () => {
  const file = path.join(TINY, 'model.safetensors');
  const fromBytes = await parseSafetensors(new Uint8Array(fs.readFileSync(file)).buffer);
  const fromFile = await readSafetensors(file);
  expect([...fromBytes.tensors.keys()]).toEqual([...fromFile.tensors.keys()]);
  for (const [name, t] of fromFile.tensors) expect(fromBytes.tensors.get(name)).toEqual(t);
});

it('loadGPTFromURL fetches config.json and model.safetensors', async () => {
  const seen: string[] = [];
  const m = await loadGPTFromURL('https://models.test/tiny', { fetch: folderFetch(TINY, seen) });
  expect(seen).toEqual(['https://models.test/tiny/config.json', 'https://models.test/tiny/model.safetensors']);
  expect(logits(m)).toEqual(logits(reference));
  m.dispose();
});

it('loadGPTFromURL reads a sharded checkpoint through model.safetensors.index.json', async () => {
  const dir = path.join(root, 'sharded');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(TINY, 'config.json'), path.join(dir, 'config.json'));
  const st = await readSafetensors(path.join(TINY, 'model.safetensors'));
  const names = [...st.tensors.keys()];
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => {
    const shard = i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
    weightMap[n] = shard;
  });
  for (const shard of new Set(Object.values(weightMap))) {
    const tensors: Record<string, SafetensorsInput> = {};
    for (const n of names.filter((name) => weightMap[name] === shard)) {
      const t = st.tensors.get(n)!;
      tensors[n] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
    }
    fs.writeFileSync(path.join(dir, shard), Buffer.concat(encodeSafetensors(tensors)));
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const m = await loadGPTFromURL('https://models.test/tiny/', { fetch: folderFetch(dir) });
  expect(logits(m)).toEqual(logits(reference));
  m.dispose();
});

it('names the file that is missing or broken', async () => {
  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  await expect(loadGPTFromURL('https://models.test/tiny', { fetch: folderFetch(empty) })).rejects.toThrow(
    'https://models.test/tiny/config.json: not found',
  );
  fs.copyFileSync(path.join(TINY, 'config.json'), path.join(empty, 'config.json'));
  await expect(loadGPTFromURL('https://models.test/tiny', { fetch: folderFetch(empty) })).rejects.toThrow(
    'https://models.test/tiny/model.safetensors: not found (nor model.safetensors.index.json)',
  );
  await expect(loadGPTFromFiles({ config: '{"n_layer": ', safetensors: new Uint8Array(8) })).rejects.toThrow(/^config\.json: invalid JSON/);
  const config = fs.readFileSync(path.join(TINY, 'config.json'));
  await expect(loadGPTFromFiles({ config, safetensors: new Uint8Array(4) })).rejects.toThrow(/^model\.safetensors: truncated file/);
  const fetchFails = async (): Promise<Response> => new Response('', { status: 500 });
  await expect(loadGPTFromURL('https://models.test/tiny', { fetch: fetchFails })).rejects.toThrow(
    'https://models.test/tiny/config.json: HTTP 500',
  );
});
