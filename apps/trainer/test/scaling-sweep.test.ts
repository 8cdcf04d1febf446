import { countParameters, getPreset } from '@gptlab/model';
import { nonEmbeddingParams, planSweep, sweepSpan, type SweepSettings } from '../src/scaling/sweep';

const settings: SweepSettings = {
  widths: [5, 6, 8, 10, 12, 14, 17, 20],
  predictWidth: 96,
  nLayer: 2,
  nHead: 1,
  blockSize: 64,
  tokens: 1_000_000,
  tokensExponent: 0.5,
  batchScale: 0.1,
  lr: 2e-3,
  lrExponent: 0.75,
};

describe('scaling sweep plan', () => {
  it('counts non-embedding parameters: everything but the token and position embeddings', () => {
    const c = getPreset('nano', { nLayer: 3, nEmbd: 48, nHead: 4, vocabSize: 1000, nPositions: 64 });
    expect(nonEmbeddingParams(3, 48, 4)).toBe(countParameters(c) - (1000 + 64) * 48);
    // Kaplan's 12·L·d² plus biases and LayerNorms (13·d per block and the final 2·d).
    expect(nonEmbeddingParams(2, 64, 4)).toBe(2 * (12 * 64 * 64 + 13 * 64) + 2 * 64);
  });
  it('gives D = D_max·(N/N_max)^γ, C = 6·N·D, the predicted run last and > 100× the largest small one', () => {
    const runs = planSweep({ ...settings, widths: [20, 8, 12, 10, 5, 14, 17, 6] });
    expect(runs.map((r) => r.width)).toEqual([5, 6, 8, 10, 12, 14, 17, 20, 96]);
    expect(runs.map((r) => r.predicted)).toEqual([...Array(8).fill(false), true]);
    for (const r of runs) {
      expect(r.compute).toBe(6 * r.params * r.tokens);
      expect(r.tokens).toBe(r.steps * r.batchSize * 64);
      const wanted = 1e6 * Math.sqrt(r.params / runs[8]!.params);
      expect(r.batchSize).toBe(Math.round(0.1 * Math.sqrt(wanted / 64))); // batch ∝ √D
      expect(Math.abs(r.tokens - wanted) / wanted).toBeLessThan(0.01); // rounding to whole steps only
      expect(r.lr).toBeCloseTo(2e-3 * Math.pow(96 / r.width, 0.75), 12);
    }
    const span = sweepSpan(runs);
    expect(span.smallDecades).toBeGreaterThan(1.5);
    expect(span.extrapolation).toBeGreaterThan(100);
    // γ = 1 is D ∝ N: tokens per parameter the same for every size.
    const chinchilla = planSweep({ ...settings, tokensExponent: 1 });
    for (const r of chinchilla) expect(r.tokens / r.params).toBeCloseTo(1e6 / chinchilla[8]!.params, 0);
  });
  it('rejects impossible plans', () => {
    expect(() => planSweep({ ...settings, widths: [16, 20] })).toThrow(/at least 3/);
    expect(() => planSweep({ ...settings, predictWidth: 20 })).toThrow(/must exceed/);
    expect(() => planSweep({ ...settings, nHead: 2, widths: [16, 17, 24] })).toThrow(/not a multiple of 2 heads/);
    expect(() => planSweep({ ...settings, tokensExponent: -1 })).toThrow(/exponent/);
    expect(() => planSweep({ ...settings, lr: 0 })).toThrow(/learning rate/);
    expect(() => planSweep({ ...settings, widths: [16, 16, 24] })).toThrow(/must differ/);
  });
});
