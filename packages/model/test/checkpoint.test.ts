// saveGPT / loadGPT: round trips, half-precision saves, extra tensors, tokenizer files, atomic
// writes, and clear errors for broken checkpoints (naming the tensor and the file).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPT, getPreset, loadGPT, readSafetensors, readSafetensorsHeader, saveGPT, writeSafetensors, type SafetensorsInput } from '../src';
import { FIXTURES, ids2d, maxAbsDiff, randomIds, setup, tf, tmpDir } from './helpers';

const root = tmpDir();
let tiny: GPT;

beforeAll(async () => {
  await setup();
  tiny = await loadGPT(path.join(FIXTURES, 'tiny'));
});
afterAll(() => {
  tiny.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

function logits(m: GPT, rows: number[][]): Float32Array {
  const ids = ids2d(rows);
  const { logits: l } = m.forward(ids);
  const out = l.dataSync() as Float32Array;
  tf.dispose([ids, l]);
  return out;
}

describe.each([
  ['pre-LN (GPT-2 layout)', false, 'gpt2', 'transformer.wte.weight'],
  ['post-LN (openai-gpt layout)', true, 'openai-gpt', 'transformer.tokens_embed.weight'],
] as const)('%s', (_name, postLN, modelType, embedding) => {
  it('saveGPT → loadGPT reproduces every weight bit for bit, the config (sparse layers included) and the logits', async () => {
    const dir = path.join(root, `rt-${modelType}`);
    const m = GPT.create(getPreset('nano', { postLN, attention: [{ type: 'dense' }, { type: 'local', window: 8 }] }), { seed: 4 });
    await saveGPT(m, dir, { metadata: { step: '17' } });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: modelType, n_layer: 2, n_embd: 32, gptlab_attention_layers: ['dense', 'local:8'] });
    expect(cfg).not.toHaveProperty('post_ln');
    const st = await readSafetensors(path.join(dir, 'model.safetensors'));
    expect(st.metadata).toMatchObject({ format: 'pt', step: '17' });
    expect(st.tensors.has('lm_head.weight')).toBe(false);
    expect(st.tensors.get(embedding)!.shape).toEqual([128, 32]);
    expect(st.tensors.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([32, 96]);
    expect(st.tensors.size).toBe(m.trainableVariables().length);
    const back = await loadGPT(dir);
    expect(back.config).toEqual(m.config);
    expect(back.config.attention).toEqual([{ type: 'dense' }, { type: 'local', window: 8 }]);
    for (const [name, v] of m.namedWeights()) {
      expect(maxAbsDiff(back.namedWeights().get(name)!.dataSync(), v.dataSync())).toBe(0);
    }
    const rows = [randomIds(20, 128, 3)];
    expect(maxAbsDiff(logits(back, rows), logits(m, rows))).toBe(0);
    m.dispose();
    back.dispose();
  });
});

it('writes a GPT-1 (post-LN) model with Hugging Face openai-gpt names: tokens_embed, positions_embed, no ln_f', async () => {
  const dir = path.join(root, 'openai-names');
  const m = GPT.create(getPreset('gpt1', { nLayer: 2, nEmbd: 32, nHead: 2, vocabSize: 64, nPositions: 16 }), { seed: 9 });
  await saveGPT(m, dir);
  const names = [...(await readSafetensorsHeader(path.join(dir, 'model.safetensors'))).entries.keys()].sort();
  const block = (i: number) =>
    [
      'attn.c_attn.bias',
      'attn.c_attn.weight',
      'attn.c_proj.bias',
      'attn.c_proj.weight',
      'ln_1.bias',
      'ln_1.weight',
      'ln_2.bias',
      'ln_2.weight',
      'mlp.c_fc.bias',
      'mlp.c_fc.weight',
      'mlp.c_proj.bias',
      'mlp.c_proj.weight',
    ].map((n) => `transformer.h.${i}.${n}`);
  expect(names).toEqual(['transformer.positions_embed.weight', 'transformer.tokens_embed.weight', ...block(0), ...block(1)].sort());
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  expect(cfg).toMatchObject({
    architectures: ['OpenAIGPTLMHeadModel'],
    model_type: 'openai-gpt',
    afn: 'gelu',
    n_positions: 16,
    n_layer: 2,
  });
  expect(cfg).not.toHaveProperty('activation_function');
  m.dispose();
});

it('loads the Hugging Face hub layout of openai-gpt: no "transformer." prefix, h.N.attn.bias buffers, lm_head.weight', async () => {
  const src = path.join(root, 'openai-names');
  const dir = path.join(root, 'openai-hub');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
  const st = await readSafetensors(path.join(src, 'model.safetensors'));
  const hub: Record<string, SafetensorsInput> = {};
  for (const [n, t] of st.tensors) hub[n.replace(/^transformer\./, '')] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
  for (const i of [0, 1]) hub[`h.${i}.attn.bias`] = { dtype: 'F32', shape: [1, 1, 16, 16], data: new Float32Array(256) };
  hub['lm_head.weight'] = hub['tokens_embed.weight']!;
  await writeSafetensors(path.join(dir, 'model.safetensors'), hub);
  const a = await loadGPT(src);
  const b = await loadGPT(dir);
  expect(b.extraTensors.size).toBe(0);
  const rows = [randomIds(16, 64, 5)];
  expect(maxAbsDiff(logits(b, rows), logits(a, rows))).toBe(0);
  a.dispose();
  b.dispose();
});

it('re-saves an older gptlab post-LN checkpoint ("gpt2" + post_ln) as openai-gpt with the same logits', async () => {
  const old = await loadGPT(path.join(FIXTURES, 'tiny-postln'));
  const dir = path.join(root, 'postln-resaved');
  await saveGPT(old, dir);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).model_type).toBe('openai-gpt');
  const back = await loadGPT(dir);
  const rows = [randomIds(30, 256, 12)];
  expect(maxAbsDiff(logits(back, rows), logits(old, rows))).toBe(0);
  old.dispose();
  back.dispose();
});

it('saves F16 and BF16 copies whose logits stay close to the F32 model', async () => {
  const rows = [randomIds(30, 512, 8)];
  const want = logits(tiny, rows);
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = path.join(root, dtype);
    await saveGPT(tiny, dir, { dtype });
    const h = await readSafetensorsHeader(path.join(dir, 'model.safetensors'));
    expect(h.entries.get('transformer.wte.weight')!.dtype).toBe(dtype);
    expect(fs.statSync(path.join(dir, 'model.safetensors')).size).toBeLessThan(
      fs.statSync(path.join(FIXTURES, 'tiny', 'model.safetensors')).size * 0.55,
    );
    const m = await loadGPT(dir);
    const d = maxAbsDiff(logits(m, rows), want);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(dtype === 'F16' ? 0.02 : 0.2);
    m.dispose();
  }
});

it('overwrites an existing checkpoint atomically, keeping extra tensors and writing tokenizer files', async () => {
  const dir = path.join(root, 'extra');
  await saveGPT(tiny, dir);
  const head = tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const steps = tf.tensor1d([7], 'int32');
  const tokenizer = { saveGPT2Files: (d: string) => fs.writeFileSync(path.join(d, 'vocab.json'), '{}') };
  await saveGPT(tiny, dir, { extraTensors: { 'task_head.weight': head, 'train.step': steps }, tokenizer });
  expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'vocab.json']);
  const m = await loadGPT(dir);
  expect(Array.from(m.extraTensors.get('task_head.weight')!.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  expect(m.extraTensors.get('train.step')!.dtype).toBe('int32');
  // Saving the loaded model keeps its extra tensors; dispose frees them.
  await saveGPT(m, path.join(root, 'extra2'));
  const st = await readSafetensors(path.join(root, 'extra2', 'model.safetensors'));
  expect(st.tensors.has('task_head.weight')).toBe(true);
  await expect(saveGPT(tiny, path.join(root, 'bad'), { extraTensors: { 'transformer.wte.weight': head } })).rejects.toThrow(
    /name of a model weight/,
  );
  const before = tf.memory().numTensors;
  const owned = m.trainableVariables().length + m.extraTensors.size;
  m.dispose();
  expect(tf.memory().numTensors).toBe(before - owned);
  tf.dispose([head, steps]);
});

it('loads the Hugging Face hub layout: no "transformer." prefix, mask buffers, lm_head.weight', async () => {
  // tiny-f16 has the hub's names and h.N.attn.bias buffers; tiny-bf16 stores lm_head.weight (tied).
  for (const name of ['tiny-f16', 'tiny-bf16']) {
    const m = await loadGPT(path.join(FIXTURES, name));
    expect([...m.namedWeights().keys()][0]).toBe('transformer.wte.weight');
    expect(m.extraTensors.size).toBe(0);
    m.dispose();
  }
});

describe('broken checkpoints → errors naming the tensor and the file', () => {
  let base: Record<string, SafetensorsInput>;
  beforeAll(async () => {
    const st = await readSafetensors(path.join(FIXTURES, 'tiny', 'model.safetensors'));
    base = {};
    for (const [n, t] of st.tensors) base[n] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
  });

  async function broken(name: string, tensors: Record<string, SafetensorsInput>): Promise<string> {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'tiny', 'config.json'), path.join(dir, 'config.json'));
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    return dir;
  }

  it('wrong shape', async () => {
    const t = {
      ...base,
      'transformer.h.1.mlp.c_fc.weight': { dtype: 'F32' as const, shape: [256, 64], data: base['transformer.h.1.mlp.c_fc.weight']!.data },
    };
    const dir = await broken('shape', t);
    await expect(loadGPT(dir)).rejects.toThrow(
      new RegExp(`${dir}/model.safetensors: tensor 'transformer.h.1.mlp.c_fc.weight' has shape \\[256,64\\], expected \\[64,256\\]`),
    );
  });

  it('missing tensor', async () => {
    const t = { ...base };
    delete t['transformer.h.0.ln_2.bias'];
    const dir = await broken('missing', t);
    await expect(loadGPT(dir)).rejects.toThrow(new RegExp(`${dir}/model.safetensors: missing tensor 'transformer.h.0.ln_2.bias'`));
  });

  it('non-float weight dtype', async () => {
    const t = { ...base, 'transformer.ln_f.bias': { dtype: 'I32' as const, shape: [64], data: new Int32Array(64) } };
    const dir = await broken('int', t);
    await expect(loadGPT(dir)).rejects.toThrow(
      /model.safetensors: tensor 'transformer.ln_f.bias' has dtype I32; weights must be F32, F16, BF16/,
    );
  });

  it('unknown dtype and truncated file', async () => {
    const dir = await broken('trunc', base);
    const file = path.join(dir, 'model.safetensors');
    const raw = fs.readFileSync(file);
    fs.writeFileSync(file, raw.subarray(0, raw.length - 100));
    await expect(loadGPT(dir)).rejects.toThrow(new RegExp(`${file}: truncated file: tensor 'transformer.wte.weight'`));
    const n = Number(raw.readBigUInt64LE(0));
    const header = raw
      .subarray(8, 8 + n)
      .toString()
      .replace('"transformer.h.0.ln_1.bias":{"dtype":"F32"', '"transformer.h.0.ln_1.bias":{"dtype":"Q32"');
    fs.writeFileSync(file, Buffer.concat([raw.subarray(0, 8), Buffer.from(header), raw.subarray(8 + n)]));
    await expect(loadGPT(dir)).rejects.toThrow(new RegExp(`${file}: tensor 'transformer.h.0.ln_1.bias' has unknown dtype 'Q32'`));
  });

  it('missing files and bad config.json', async () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    await expect(loadGPT(dir)).rejects.toThrow(new RegExp(`${dir}/config.json: cannot read the model config \\(ENOENT\\)`));
    fs.writeFileSync(path.join(dir, 'config.json'), '{"n_layer": 2,');
    await expect(loadGPT(dir)).rejects.toThrow(/config.json: invalid JSON/);
    fs.copyFileSync(path.join(FIXTURES, 'tiny', 'config.json'), path.join(dir, 'config.json'));
    await expect(loadGPT(dir)).rejects.toThrow(new RegExp(`${dir}/model.safetensors: not found`));
  });

  it('failed loads leak no tensors', async () => {
    const t = { ...base };
    delete t['transformer.ln_f.weight'];
    const dir = await broken('leak', t);
    const before = tf.memory().numTensors;
    await expect(loadGPT(dir)).rejects.toThrow(/missing tensor 'transformer.ln_f.weight'/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

it('a checkpoint saved with a @gptlab/tokenizer BPETokenizer loads back with it (model + tokenizer files)', async () => {
  const { BPETokenizer } = await import('@gptlab/tokenizer');
  const tok = BPETokenizer.train(['the cat sat on the mat', 'the dog sat on the log', 'a cat and a dog'], {
    vocabSize: 280,
    specialTokens: ['<|endoftext|>'],
  });
  const m = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize }), { seed: 2 });
  const dir = path.join(root, 'with-tokenizer');
  await saveGPT(m, dir, { tokenizer: tok });
  expect(fs.readdirSync(dir).sort()).toEqual([
    'config.json',
    'generation_config.json',
    'merges.txt',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer_config.json',
    'vocab.json',
  ]);
  const back = await loadGPT(dir);
  const tok2 = BPETokenizer.fromDir(dir);
  const ids = tok2.encode('the cat sat on the log');
  expect(ids).toEqual(tok.encode('the cat sat on the log'));
  expect(maxAbsDiff(logits(back, [ids]), logits(m, [ids]))).toBe(0);
  m.dispose();
  back.dispose();
});

it("eos_token_id is the tokenizer's <|endoftext|>, also after special tokens are appended, and survives load → save", async () => {
  const { BPETokenizer } = await import('@gptlab/tokenizer');
  const tok = BPETokenizer.train(['the cat sat on the mat', 'the dog sat on the log'], {
    vocabSize: 270,
    specialTokens: ['<|endoftext|>'],
  });
  const eos = tok.eosId!;
  tok.addSpecialTokens(['<s>', '<$>', '<e>']); // GPT-1 fine-tuning tokens, after <|endoftext|>
  expect(tok.vocabSize).toBe(eos + 4);
  const m = GPT.create(getPreset('nano', { vocabSize: eos + 1 }), { seed: 2 });
  m.resizeTokenEmbeddings(tok.vocabSize, 1);
  const dir = path.join(root, 'eos');
  await saveGPT(m, dir, { tokenizer: tok });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  expect(cfg).toMatchObject({ vocab_size: eos + 4, eos_token_id: eos, bos_token_id: eos });
  const back = await loadGPT(dir);
  expect(back.config.eosTokenId).toBe(eos);
  // Saved again without the tokenizer, the id it was loaded with stays.
  await saveGPT(back, path.join(root, 'eos2'));
  expect(JSON.parse(fs.readFileSync(path.join(root, 'eos2', 'config.json'), 'utf8')).eos_token_id).toBe(eos);
  // Without a tokenizer or a loaded id, config.json says it does not know (null) rather than guessing.
  await saveGPT(m, path.join(root, 'eos3'));
  expect(JSON.parse(fs.readFileSync(path.join(root, 'eos3', 'config.json'), 'utf8')).eos_token_id).toBeNull();
  m.dispose();
  back.dispose();
});
