// The layer table: it alone decides names, shapes, parameter counts and initialisation (GPT-2 and GPT-1).
import { GPT, countParameters, getPreset, parameterTable, type GPTConfig } from '../src';
import { maxAbsDiff, setup } from './helpers';

beforeAll(async () => {
  await setup();
});

/** Hugging Face GPT2LMHeadModel's state_dict names and shapes, written out independently of the table. */
function hfGPT2Names(c: GPTConfig): Map<string, number[]> {
  const { vocabSize: V, nPositions: P, nEmbd: C } = c;
  const out = new Map<string, number[]>([
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [P, C]],
    ['transformer.ln_f.weight', [C]],
    ['transformer.ln_f.bias', [C]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    for (const ln of ['ln_1', 'ln_2']) for (const p of ['weight', 'bias']) out.set(`transformer.h.${i}.${ln}.${p}`, [C]);
    out.set(`transformer.h.${i}.attn.c_attn.weight`, [C, 3 * C]).set(`transformer.h.${i}.attn.c_attn.bias`, [3 * C]);
    out.set(`transformer.h.${i}.attn.c_proj.weight`, [C, C]).set(`transformer.h.${i}.attn.c_proj.bias`, [C]);
    out.set(`transformer.h.${i}.mlp.c_fc.weight`, [C, 4 * C]).set(`transformer.h.${i}.mlp.c_fc.bias`, [4 * C]);
    out.set(`transformer.h.${i}.mlp.c_proj.weight`, [4 * C, C]).set(`transformer.h.${i}.mlp.c_proj.bias`, [C]);
  }
  return out;
}

it('names every Hugging Face GPT-2 tensor exactly once, with its shape, in checkpoint order', () => {
  const c = getPreset('tiny', { nLayer: 3 });
  const table = parameterTable(c);
  const want = hfGPT2Names(c);
  expect(table).toHaveLength(want.size);
  expect(new Set(table.map((p) => p.name)).size).toBe(table.length);
  for (const p of table) expect(p.shape).toEqual(want.get(p.name));
  expect(table.slice(0, 2).map((p) => p.name)).toEqual(['transformer.wte.weight', 'transformer.wpe.weight']);
  expect(table.at(-1)!.name).toBe('transformer.ln_f.bias');
});

it('gives GPT-1 (post-LN) no ln_f and the openai-gpt names: tokens_embed, positions_embed, h.N.* as in GPT-2', () => {
  const c = getPreset('tiny', { nLayer: 2, postLN: true });
  const table = parameterTable(c);
  const gpt2 = [...hfGPT2Names(c).keys()].filter((n) => !n.includes('ln_f'));
  expect(table.map((p) => p.name).sort()).toEqual(gpt2.sort());
  const renamed = table.filter((p) => p.openaiName !== p.name).map((p) => [p.name, p.openaiName]);
  expect(renamed).toEqual([
    ['transformer.wte.weight', 'transformer.tokens_embed.weight'],
    ['transformer.wpe.weight', 'transformer.positions_embed.weight'],
  ]);
  expect(table.find((p) => p.name === 'transformer.h.1.attn.c_attn.weight')!.openaiName).toBe('transformer.h.1.attn.c_attn.weight');
});

it('drives the model: its named weights are the table, and countParameters sums the table', () => {
  for (const postLN of [false, true]) {
    const c = getPreset('nano', { postLN, nLayer: 3 });
    const m = GPT.create(c, { seed: 1 });
    const weights = m.namedWeights();
    expect([...weights.keys()]).toEqual(parameterTable(c).map((p) => p.name));
    for (const p of parameterTable(c)) expect(weights.get(p.name)!.shape).toEqual(p.shape);
    expect(m.trainableVariables().reduce((a, v) => a + v.size, 0)).toBe(countParameters(c));
    m.dispose();
  }
});

function rms(m: GPT, name: string): number {
  const d = m.namedWeights().get(name)!.dataSync();
  let s = 0;
  for (const v of d) s += v * v;
  return Math.sqrt(s / d.length);
}

it('GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), LN 1/0, biases 0', () => {
  const c = getPreset('tiny', { nLayer: 8, vocabSize: 256 });
  const m = GPT.create(c, { seed: 1 });
  expect(Math.abs(rms(m, 'transformer.wte.weight') - 0.02)).toBeLessThan(0.001);
  expect(Math.abs(rms(m, 'transformer.h.3.attn.c_attn.weight') - 0.02)).toBeLessThan(0.001);
  expect(Math.abs(rms(m, 'transformer.h.3.attn.c_proj.weight') - 0.02 / 4)).toBeLessThan(0.0003);
  expect(Math.abs(rms(m, 'transformer.h.5.mlp.c_proj.weight') - 0.02 / 4)).toBeLessThan(0.0003);
  expect(rms(m, 'transformer.h.2.mlp.c_fc.bias')).toBe(0);
  expect(Array.from(m.namedWeights().get('transformer.ln_f.weight')!.dataSync()).every((v) => v === 1)).toBe(true);
  // Same seed, same weights; another seed, other weights.
  const a = GPT.create(c, { seed: 1 });
  const b = GPT.create(c, { seed: 2 });
  const w = (g: GPT) => g.namedWeights().get('transformer.h.0.attn.c_attn.weight')!.dataSync();
  expect(maxAbsDiff(w(a), w(m))).toBe(0);
  expect(maxAbsDiff(w(b), w(m))).toBeGreaterThan(0.01);
  [m, a, b].forEach((g) => g.dispose());
});

it('GPT-1 initialisation: N(0, 0.02) everywhere, residual projections not scaled (the gpt1 preset)', () => {
  // gpt1's blocks and init at a testable size; 8 layers make GPT-2's scaling (0.02/4) easy to tell apart.
  const c = getPreset('gpt1', { nLayer: 8, nEmbd: 64, nHead: 4, vocabSize: 256, nPositions: 64 });
  const m = GPT.create(c, { seed: 1 });
  for (const name of [
    'transformer.h.3.attn.c_proj.weight',
    'transformer.h.5.mlp.c_proj.weight',
    'transformer.h.0.attn.c_attn.weight',
    'transformer.wte.weight',
  ]) {
    expect(Math.abs(rms(m, name) - 0.02)).toBeLessThan(0.001);
  }
  expect(rms(m, 'transformer.h.7.attn.c_proj.bias')).toBe(0);
  expect(Array.from(m.namedWeights().get('transformer.h.7.ln_2.weight')!.dataSync()).every((v) => v === 1)).toBe(true);
  // Only the residual projections differ from the same shape's GPT-2 init (same seed, same streams).
  const pre = GPT.create({ ...c, postLN: false }, { seed: 1 });
  const w = (g: GPT, n: string) => g.namedWeights().get(n)!.dataSync();
  expect(maxAbsDiff(w(pre, 'transformer.h.2.mlp.c_fc.weight'), w(m, 'transformer.h.2.mlp.c_fc.weight'))).toBe(0);
  const ratio = rms(m, 'transformer.h.2.mlp.c_proj.weight') / rms(pre, 'transformer.h.2.mlp.c_proj.weight');
  expect(ratio).toBeCloseTo(4, 5);
  m.dispose();
  pre.dispose();
});
