// The rest of a Hugging Face checkpoint directory: generation_config.json, tokenizer_config.json,
// special_tokens_map.json, and sharded safetensors with model.safetensors.index.json (written and read).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPETokenizer } from '@gptlab/tokenizer';
import { GPT, getPreset, loadGPT, parseShardIndex, planShards, readSafetensorsHeader, saveGPT, shardFileName } from '../src';
import { maxAbsDiff, setup, tmpDir } from './helpers';

const root = tmpDir('gptlab-hf-files-');
const readJson = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(...p), 'utf8')) as Record<string, unknown>;

beforeAll(setup);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every weight of `a` equals `b`'s bit for bit. */
function expectSameWeights(a: GPT, b: GPT): void {
  const wb = b.namedWeights();
  expect([...a.namedWeights().keys()].sort()).toEqual([...wb.keys()].sort());
  for (const [name, w] of a.namedWeights())
    expect(maxAbsDiff(w.dataSync() as Float32Array, wb.get(name)!.dataSync() as Float32Array)).toBe(0);
}

describe('generation_config.json, tokenizer_config.json, special_tokens_map.json', () => {
  const template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}";
  let tok: BPETokenizer;
  let model: GPT;
  const dir = path.join(root, 'hf');

  beforeAll(async () => {
    tok = BPETokenizer.train(['the cat sat on the mat', 'the dog sat on the log'], { vocabSize: 270, specialTokens: ['<|endoftext|>'] });
    tok.addSpecialTokens(['<s>', '<e>']);
    model = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 48 }), { seed: 3 });
    await saveGPT(model, dir, { tokenizer: tok, chatTemplate: template, generation: { maxLength: 40 } });
  });
  afterAll(() => model.dispose());

  it('are written as transformers writes them for GPT-2, with the added special tokens and the chat template', () => {
    const eos = tok.eosId!;
    for (const f of ['generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) {
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    expect(readJson(dir, 'generation_config.json')).toEqual({
      _from_model_config: true,
      bos_token_id: eos,
      eos_token_id: eos,
      max_length: 40,
    });
    const tc = readJson(dir, 'tokenizer_config.json');
    expect(tc).toMatchObject({
      tokenizer_class: 'GPT2Tokenizer',
      model_max_length: 48,
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      add_prefix_space: false,
      chat_template: template,
    });
    const special = { lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
    expect(tc.added_tokens_decoder).toEqual({
      [eos]: { content: '<|endoftext|>', ...special },
      [tok.specialTokens.get('<s>')!]: { content: '<s>', ...special },
      [tok.specialTokens.get('<e>')!]: { content: '<e>', ...special },
    });
    expect(readJson(dir, 'special_tokens_map.json')).toEqual({
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      additional_special_tokens: ['<s>', '<e>'],
    });
  });

  it('loadGPT takes the end-of-text id from generation_config.json when config.json has none', async () => {
    const copy = path.join(root, 'eos-from-generation');
    fs.cpSync(dir, copy, { recursive: true });
    const cfg = readJson(copy, 'config.json');
    fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...cfg, eos_token_id: null, bos_token_id: null }));
    const m = await loadGPT(copy);
    expect(m.config.eosTokenId).toBe(tok.eosId);
    m.dispose();
    fs.writeFileSync(path.join(copy, 'generation_config.json'), JSON.stringify({ eos_token_id: 100000 }));
    await expect(loadGPT(copy)).rejects.toThrow(
      `generation_config.json: eos_token_id must be a token id in [0, ${tok.vocabSize}), got 100000`,
    );
  });

  it('refuses a chat template without a tokenizer, and writes no generation_config.json without an end-of-text id', async () => {
    const m = GPT.create(getPreset('nano'), { seed: 1 });
    await expect(saveGPT(m, path.join(root, 'no-tok'), { chatTemplate: template })).rejects.toThrow(/chatTemplate needs the tokenizer/);
    await saveGPT(m, path.join(root, 'no-eos'));
    expect(fs.existsSync(path.join(root, 'no-eos', 'generation_config.json'))).toBe(false);
    m.dispose();
  });
});

describe('sharded safetensors', () => {
  it('plans shards in order as huggingface_hub does: a new shard when the next tensor would overflow, big tensors alone', () => {
    const sizes = [6, 6, 2, 6, 2, 2].map((s, i) => [`t${i}`, s] as const);
    expect(planShards(sizes, 10)).toEqual([['t0'], ['t1', 't2'], ['t3', 't4', 't5']]);
    expect(
      planShards(
        [
          ['big', 50],
          ['small', 1],
        ],
        10,
      ),
    ).toEqual([['big'], ['small']]);
    expect(shardFileName(0, 3)).toBe('model-00001-of-00003.safetensors');
    expect(() => planShards(sizes, 0)).toThrow(/maxShardSize must be a positive number/);
  });

  it('saveGPT with maxShardSize writes shards + index; loadGPT reads them back to the same logits', async () => {
    const dir = path.join(root, 'sharded');
    const m = GPT.create(getPreset('nano'), { seed: 5 });
    await saveGPT(m, dir); // an earlier unsharded save: replaced below, never left to disagree with the shards
    await saveGPT(m, dir, { maxShardSize: 40_000 });
    const files = fs.readdirSync(dir).sort();
    expect(files).not.toContain('model.safetensors');
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    expect(shards[0]).toBe(shardFileName(0, shards.length));
    const index = readJson(dir, 'model.safetensors.index.json') as { metadata: { total_size: number }; weight_map: Record<string, string> };
    let total = 0;
    const named = new Set<string>();
    for (const shard of shards) {
      const h = await readSafetensorsHeader(path.join(dir, shard));
      let bytes = 0;
      for (const [name, e] of h.entries) {
        expect(index.weight_map[name]).toBe(shard);
        named.add(name);
        bytes += e.end - e.begin;
      }
      // Each shard stays under the limit (no single nano tensor is larger than it).
      expect(bytes).toBeLessThanOrEqual(40_000);
      total += bytes;
    }
    expect(index.metadata.total_size).toBe(total);
    expect(named).toEqual(new Set(Object.keys(index.weight_map)));
    const back = await loadGPT(dir);
    expectSameWeights(back, m);
    back.dispose();
    // Saved again unsharded: the index and the shards go, so the directory holds one copy of the weights.
    await saveGPT(m, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    m.dispose();
  });

  it('a broken index is an error naming the index, the tensor and the shard', async () => {
    const dir = path.join(root, 'broken');
    const m = GPT.create(getPreset('nano'), { seed: 6 });
    await saveGPT(m, dir, { maxShardSize: 40_000 });
    m.dispose();
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = readJson(indexFile) as { weight_map: Record<string, string> };
    const [first, second] = [...new Set(Object.values(index.weight_map))];
    expect(second).toBeDefined();
    const moved = Object.keys(index.weight_map).find((n) => index.weight_map[n] === first)!;
    fs.writeFileSync(indexFile, JSON.stringify({ ...index, weight_map: { ...index.weight_map, [moved]: second } }));
    await expect(loadGPT(dir)).rejects.toThrow(`weight_map puts '${moved}' in ${second}, which does not hold it`);
    fs.rmSync(path.join(dir, second!));
    await expect(loadGPT(dir)).rejects.toThrow(`model.safetensors.index.json: shard ${second} (holding`);
    expect(() => parseShardIndex({ weight_map: { w: '../elsewhere.safetensors' } }, 'idx.json')).toThrow(
      /idx\.json: weight_map\["w"\] must be a \.safetensors file name in the same folder/,
    );
    expect(() => parseShardIndex({ weight_map: {} }, 'idx.json')).toThrow(/idx\.json: weight_map is empty/);
  });
});
