// Presets, validation messages, parameter and FLOP counts, Hugging Face config.json mapping.
import { PRESETS, countParameters, fromHFConfig, getPreset, toHFConfig, trainingFlopsPerToken, validateConfig, GPT, type GPTConfig } from '../src';
import { maxAbsDiff, setup } from './helpers';

describe('countParameters', () => {
  it('matches the published counts', () => {
    // GPT-2 with tied embeddings (Hugging Face model cards / REFERENCE.md).
    expect(countParameters(getPreset('gpt2-small'))).toBe(124_439_808);
    expect(countParameters(getPreset('gpt2-medium'))).toBe(354_823_168);
    expect(countParameters(getPreset('gpt2-large'))).toBe(774_030_080);
    expect(countParameters(getPreset('gpt2-xl'))).toBe(1_557_611_200);
    // openai-gpt (GPT-1): 116.5M, no final LayerNorm.
    expect(countParameters(getPreset('gpt1'))).toBe(116_534_784);
  });

  it('GPT-3 shapes land on the paper\'s rounded sizes (Table 2.1)', () => {
    const want: Record<string, number> = {
      'gpt3-small': 125e6,
      'gpt3-medium': 350e6,
      'gpt3-large': 760e6,
      'gpt3-xl': 1.3e9,
      'gpt3-2.7b': 2.7e9,
      'gpt3-6.7b': 6.7e9,
      'gpt3-13b': 13e9,
      'gpt3-175b': 175e9,
    };
    for (const [name, n] of Object.entries(want)) {
      const got = countParameters(getPreset(name));
      expect(Math.abs(got - n) / n).toBeLessThan(0.04);
    }
  });

  it('equals the number of weights a model actually holds', async () => {
    await setup();
    for (const name of ['nano']) {
      for (const postLN of [false, true]) {
        const m = GPT.create(getPreset(name, { postLN }));
        const n = m.trainableVariables().reduce((a, v) => a + v.size, 0);
        expect(n).toBe(countParameters(m.config));
        m.dispose();
      }
    }
  });
});

it('trainingFlopsPerToken matches the PyTorch peer (6·N without wpe + 12·L·C·T)', () => {
  // Numbers printed by gpt_ref.GPT2LMHeadModel(...).num_params(exclude_wpe=True) and train_bench.py's formula.
  const bench = getPreset('tiny', { nLayer: 4, nHead: 4, nEmbd: 256, nPositions: 128, vocabSize: 8192 });
  expect(trainingFlopsPerToken(bench, 128)).toBe(33_113_088);
  expect(trainingFlopsPerToken(getPreset('gpt2-small'), 1024)).toBe(855_166_464);
});

describe('presets', () => {
  it('has every published shape and the test shapes', () => {
    for (const name of ['gpt1', 'gpt2-small', 'gpt2-medium', 'gpt2-large', 'gpt2-xl', 'gpt3-small', 'gpt3-medium', 'gpt3-large', 'gpt3-xl', 'gpt3-2.7b', 'gpt3-6.7b', 'gpt3-13b', 'gpt3-175b', 'tiny', 'nano']) {
      expect(() => validateConfig(getPreset(name))).not.toThrow();
    }
    expect(PRESETS.gpt1!.postLN).toBe(true);
    expect(PRESETS['gpt2-small']!.postLN).toBe(false);
    expect(PRESETS['gpt2-xl']!.nHead).toBe(25);
  });

  it('GPT-3 presets alternate dense and local attention, following nLayer overrides', () => {
    const c = getPreset('gpt3-small');
    expect(c.nPositions).toBe(2048);
    expect(c.attention!.map((p) => p.type)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 ? 'local' : 'dense')));
    const small = getPreset('gpt3-small', { nLayer: 3 });
    expect(small.attention!.map((p) => p.type)).toEqual(['dense', 'local', 'dense']);
  });

  it('unknown preset → error listing the presets; presets are not mutated by overrides', () => {
    expect(() => getPreset('gpt5')).toThrow(/unknown model preset 'gpt5'; presets: gpt1, gpt2-small.*tiny, nano/);
    const c = getPreset('gpt3-small');
    c.attention![1] = { type: 'dense' };
    c.nLayer = 1;
    expect(getPreset('gpt3-small').attention![1]!.type).toBe('local');
    expect(PRESETS['gpt3-small']!.nLayer).toBe(12);
  });
});

describe('validateConfig', () => {
  const base = getPreset('nano');
  const cases: [Partial<GPTConfig>, RegExp][] = [
    [{ nHead: 3 }, /config.nHead \(3\) must divide config.nEmbd \(32\)/],
    [{ nLayer: 0 }, /config.nLayer must be a positive integer, got 0/],
    [{ vocabSize: 1.5 }, /config.vocabSize must be a positive integer/],
    [{ attnDropout: 1 }, /config.attnDropout must be a dropout rate in \[0, 1\)/],
    [{ layerNormEpsilon: 0 }, /config.layerNormEpsilon must be a positive number/],
    [{ activation: 'relu' as 'gelu_new' }, /config.activation must be 'gelu_new'/],
    [{ attention: [{ type: 'dense' }] }, /config.attention must list one pattern per layer \(2\), got 1/],
    [{ attention: [{ type: 'dense' }, { type: 'local', window: 0 }] }, /config.attention\[1\]/],
  ];
  it.each(cases)('%j', (override, msg) => {
    expect(() => validateConfig({ ...base, ...override })).toThrow(msg);
  });
});

describe('Hugging Face config.json', () => {
  it('round-trips through toHFConfig / fromHFConfig, with post-LN and sparse layers as extra keys', () => {
    for (const c of [getPreset('gpt2-small'), getPreset('gpt1'), getPreset('gpt3-small', { nLayer: 4 })]) {
      const hf = toHFConfig(c);
      expect(hf.model_type).toBe('gpt2');
      expect(hf.n_embd).toBe(c.nEmbd);
      expect(fromHFConfig(JSON.parse(JSON.stringify(hf)))).toEqual(c);
    }
    expect(toHFConfig(getPreset('gpt1')).post_ln).toBe(true);
    expect(toHFConfig(getPreset('gpt3-small', { nLayer: 2 })).attention_layers).toEqual(['dense', 'local:256']);
  });

  it('reads the released GPT-2 config (n_ctx, gelu_new, dropouts) and names the file and key in errors', () => {
    const gpt2 = {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0.1,
      bos_token_id: 50256,
      embd_pdrop: 0.1,
      eos_token_id: 50256,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      model_type: 'gpt2',
      n_ctx: 1024,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      resid_pdrop: 0.1,
      vocab_size: 50257,
    };
    expect(fromHFConfig(gpt2)).toEqual(getPreset('gpt2-small'));
    expect(() => fromHFConfig({ ...gpt2, activation_function: 'relu' }, 'x/config.json')).toThrow(/x\/config.json: activation_function "relu" is not supported/);
    expect(() => fromHFConfig({ ...gpt2, n_head: 7 }, 'c.json')).toThrow(/c.json: config.nHead \(7\) must divide/);
    expect(() => fromHFConfig({ ...gpt2, model_type: 'llama' }, 'c.json')).toThrow(/c.json: model_type "llama" is not supported/);
    expect(() => fromHFConfig({ ...gpt2, n_layer: undefined }, 'c.json')).toThrow(/c.json: n_layer must be a positive integer/);
    expect(() => fromHFConfig({ ...gpt2, attention_layers: ['dense', 'diagonal:3'], n_layer: 2 }, 'c.json')).toThrow(/c.json: attention_layers\[1\]/);
  });
});

it('GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), LN 1/0, biases 0', async () => {
  await setup();
  const c = getPreset('tiny', { nLayer: 8, vocabSize: 256 });
  const m = GPT.create(c, { seed: 1 });
  const std = (name: string) => {
    const d = m.namedWeights().get(name)!.dataSync();
    let s = 0;
    for (const v of d) s += v * v;
    return Math.sqrt(s / d.length);
  };
  expect(Math.abs(std('transformer.wte.weight') - 0.02)).toBeLessThan(0.001);
  expect(Math.abs(std('transformer.h.3.attn.c_attn.weight') - 0.02)).toBeLessThan(0.001);
  expect(Math.abs(std('transformer.h.3.attn.c_proj.weight') - 0.02 / 4)).toBeLessThan(0.0003);
  expect(Math.abs(std('transformer.h.5.mlp.c_proj.weight') - 0.02 / 4)).toBeLessThan(0.0003);
  expect(std('transformer.h.2.mlp.c_fc.bias')).toBe(0);
  expect(Array.from(m.namedWeights().get('transformer.ln_f.weight')!.dataSync()).every((v) => v === 1)).toBe(true);
  // Same seed, same weights; another seed, other weights.
  const a = GPT.create(c, { seed: 1 });
  const b = GPT.create(c, { seed: 2 });
  const w = (g: GPT) => g.namedWeights().get('transformer.h.0.attn.c_attn.weight')!.dataSync();
  expect(maxAbsDiff(w(a), w(m))).toBe(0);
  expect(maxAbsDiff(w(b), w(m))).toBeGreaterThan(0.01);
  [m, a, b].forEach((g) => g.dispose());
});
