// Presets, validation messages, parameter and FLOP counts, Hugging Face config.json mapping (gpt2 and openai-gpt).
import {
  PRESETS,
  countParameters,
  fromHFConfig,
  getPreset,
  toHFConfig,
  trainingFlopsPerToken,
  validateConfig,
  GPT,
  type GPTConfig,
} from '../src';
import { setup } from './helpers';

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

  it("GPT-3 shapes land on the paper's rounded sizes (Table 2.1)", () => {
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
    for (const name of [
      'gpt1',
      'gpt2-small',
      'gpt2-medium',
      'gpt2-large',
      'gpt2-xl',
      'gpt3-small',
      'gpt3-medium',
      'gpt3-large',
      'gpt3-xl',
      'gpt3-2.7b',
      'gpt3-6.7b',
      'gpt3-13b',
      'gpt3-175b',
      'tiny',
      'nano',
    ]) {
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
  it('round-trips through toHFConfig / fromHFConfig: GPT-2/3 as "gpt2", GPT-1 as "openai-gpt", sparse layers as an extra key', () => {
    for (const c of [
      getPreset('gpt2-small'),
      getPreset('gpt1'),
      getPreset('gpt3-small', { nLayer: 4 }),
      getPreset('nano', { eosTokenId: 127 }),
    ]) {
      const hf = toHFConfig(c);
      expect(hf.model_type).toBe(c.postLN ? 'openai-gpt' : 'gpt2');
      expect(hf.n_embd).toBe(c.nEmbd);
      expect(fromHFConfig(JSON.parse(JSON.stringify(hf)))).toEqual(c);
    }
    expect(toHFConfig(getPreset('gpt3-small', { nLayer: 2 })).gptlab_attention_layers).toEqual(['dense', 'local:256']);
    expect(toHFConfig(getPreset('gpt2-small'))).not.toHaveProperty('gptlab_attention_layers');
    // A post-LN model with sparse layers keeps both.
    const sparse1 = getPreset('gpt1', { nLayer: 2, attention: [{ type: 'strided', stride: 8 }, { type: 'dense' }] });
    expect(fromHFConfig(JSON.parse(JSON.stringify(toHFConfig(sparse1))))).toEqual(sparse1);
  });

  it('writes OpenAIGPTConfig keys for GPT-1: afn "gelu" (the tanh GELU in modeling_openai), no ln_f flags, no GPT-2 keys', () => {
    const hf = toHFConfig(getPreset('gpt1'));
    expect(hf).toEqual({
      architectures: ['OpenAIGPTLMHeadModel'],
      model_type: 'openai-gpt',
      vocab_size: 40478,
      n_positions: 512,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      afn: 'gelu',
      layer_norm_epsilon: 1e-5,
      resid_pdrop: 0.1,
      embd_pdrop: 0.1,
      attn_pdrop: 0.1,
      initializer_range: 0.02,
      tie_word_embeddings: true,
      eos_token_id: null,
      torch_dtype: 'float32',
    });
    expect(() => fromHFConfig({ ...hf, afn: 'relu' }, 'c.json')).toThrow(/c.json: afn "relu" is not supported/);
    expect(() => fromHFConfig({ ...hf, post_ln: false }, 'c.json')).toThrow(/post_ln: false contradicts model_type "openai-gpt"/);
  });

  it('reads the released openai-gpt config (n_ctx, summary_* keys of the double-heads model)', () => {
    // openai-community/openai-gpt's config.json, grouped: shape, regularisation, the double-heads model's keys.
    const released = {
      architectures: ['OpenAIGPTLMHeadModel'],
      model_type: 'openai-gpt',
      afn: 'gelu',
      vocab_size: 40478,
      n_ctx: 512,
      n_positions: 512,
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_special: 0,
      predict_special_tokens: true,
      attn_pdrop: 0.1,
      embd_pdrop: 0.1,
      resid_pdrop: 0.1,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      summary_activation: null,
      summary_first_dropout: 0.1,
      summary_proj_to_labels: true,
      summary_type: 'cls_index',
      summary_use_proj: true,
    };
    expect(fromHFConfig(released)).toEqual(getPreset('gpt1'));
  });

  it('reads the keys of older gptlab checkpoints: "gpt2" + post_ln, attention_layers', () => {
    const legacy = { ...toHFConfig(getPreset('nano')), post_ln: true, attention_layers: ['dense', 'local:8'] };
    expect(fromHFConfig(legacy)).toEqual(getPreset('nano', { postLN: true, attention: [{ type: 'dense' }, { type: 'local', window: 8 }] }));
  });

  it('keeps eos_token_id when it names a token of the vocabulary', () => {
    const hf = toHFConfig(getPreset('nano'));
    expect(hf.eos_token_id).toBeNull();
    expect(fromHFConfig({ ...hf, eos_token_id: 100 }).eosTokenId).toBe(100);
    // GPT2Config's default 50256 in a small model's config.json names no token here.
    expect(fromHFConfig({ ...hf, eos_token_id: 50256 })).not.toHaveProperty('eosTokenId');
    expect(() => validateConfig(getPreset('nano', { eosTokenId: 128 }))).toThrow(
      /config.eosTokenId must be a token id in \[0, 128\), got 128/,
    );
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
    expect(fromHFConfig(gpt2)).toEqual({ ...getPreset('gpt2-small'), eosTokenId: 50256 });
    expect(() => fromHFConfig({ ...gpt2, activation_function: 'relu' }, 'x/config.json')).toThrow(
      /x\/config.json: activation_function "relu" is not supported/,
    );
    expect(() => fromHFConfig({ ...gpt2, n_head: 7 }, 'c.json')).toThrow(/c.json: config.nHead \(7\) must divide/);
    expect(() => fromHFConfig({ ...gpt2, model_type: 'llama' }, 'c.json')).toThrow(
      /c.json: model_type "llama" is not supported \(expected "gpt2" or "openai-gpt"\)/,
    );
    expect(() => fromHFConfig({ ...gpt2, n_layer: undefined }, 'c.json')).toThrow(/c.json: n_layer must be a positive integer/);
    expect(() => fromHFConfig({ ...gpt2, attention_layers: ['dense', 'diagonal:3'], n_layer: 2 }, 'c.json')).toThrow(
      /c.json: attention_layers\[1\]/,
    );
  });
});
