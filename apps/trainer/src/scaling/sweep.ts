// The plan of a predictable-scaling sweep (GPT-4 report §4.1): a family of models that differ only in width,
// each trained on a token budget that grows with its size along one compute-efficient allocation
// D = D_max·(N/N_max)^γ, so that N ∝ C^(1/(1+γ)) and D ∝ C^(γ/(1+γ)). γ = 1 is Chinchilla's D ∝ N; Kaplan et al.
// (2020) found N ∝ C^0.73, D ∝ C^0.27 (γ ≈ 0.37). The default γ = 0.5 lies between them: at this tiny scale a
// model that sees fewer than ~50k tokens has not yet left the unigram plateau, so the small runs need relatively
// more tokens than D ∝ N would give them. Compute is counted as Kaplan et al. do: C = 6·N·D, N the NON-embedding
// parameters (the transformer blocks and the final LayerNorm; not the token or position embeddings), because
// the embeddings' share of a tiny model would otherwise dominate its parameter count.
import { getPreset, parameterTable } from '@gptlab/model';

export interface SweepSettings {
  /** Widths of the small runs the law is fitted on. */
  widths: number[];
  /** Width of the run that is predicted (trained last). */
  predictWidth: number;
  nLayer: number;
  nHead: number;
  blockSize: number;
  /** D_max: training tokens of the predicted (largest) run. */
  tokens: number;
  /** γ in D = D_max·(N/N_max)^γ. */
  tokensExponent: number;
  /**
   * k in B = round(k·√(D/T)): batch and steps both grow as √D, one smooth rule for the whole family (no size gets
   * a clamp the others do not), the batch growing with the budget as the critical batch does (Kaplan et al. §5.1).
   */
  batchScale: number;
  /** Peak learning rate of the predicted (largest) run. */
  lr: number;
  /**
   * e in lr(w) = lr·(w_max/w)^e: narrower models take larger steps, as μP prescribes for Adam (e = 1 for the
   * hidden matrices); one rule for the family, so no size is tuned by hand.
   */
  lrExponent: number;
}

export interface PlannedRun {
  width: number;
  /** Non-embedding parameters. */
  params: number;
  batchSize: number;
  steps: number;
  /** Tokens actually trained on: steps × batch × context (D, after rounding to whole steps). */
  tokens: number;
  /** 6·N·D in FLOPs. */
  compute: number;
  /** Peak learning rate of this run. */
  lr: number;
  /** True for the run that is predicted from the others. */
  predicted: boolean;
}

/** Non-embedding parameters of a pre-LN GPT of this shape (independent of the vocabulary and context). */
export function nonEmbeddingParams(nLayer: number, nEmbd: number, nHead: number): number {
  const config = getPreset('nano', { nLayer, nEmbd, nHead, vocabSize: 257, nPositions: 8 });
  return parameterTable(config)
    .filter((p) => !/\.(wte|wpe)\.weight$/.test(p.name))
    .reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** The runs of a sweep, smallest first, the predicted one last. Throws on an impossible plan. */
export function planSweep(s: SweepSettings): PlannedRun[] {
  const widths = [...s.widths].sort((a, b) => a - b);
  if (widths.length < 3) throw new Error(`a sweep needs at least 3 small sizes to fit a, b and c, got ${widths.length}`);
  if (new Set(widths).size !== widths.length) throw new Error('the small sizes must differ');
  if (!(s.predictWidth > widths[widths.length - 1]!))
    throw new Error(`the predicted width ${s.predictWidth} must exceed every small width (largest ${widths[widths.length - 1]})`);
  for (const w of [...widths, s.predictWidth]) {
    if (!Number.isInteger(w) || w < 1) throw new Error(`width ${w} is not a positive integer`);
    if (w % s.nHead !== 0) throw new Error(`width ${w} is not a multiple of ${s.nHead} heads`);
  }
  if (!(s.tokens >= 1)) throw new Error(`the largest run's tokens must be ≥ 1, got ${s.tokens}`);
  if (!(s.lr > 0)) throw new Error(`the learning rate must be > 0, got ${s.lr}`);
  if (!(s.tokensExponent >= 0)) throw new Error(`the tokens exponent must be ≥ 0, got ${s.tokensExponent}`);
  const maxParams = nonEmbeddingParams(s.nLayer, s.predictWidth, s.nHead);
  if (!(s.batchScale > 0)) throw new Error(`batch scale must be > 0, got ${s.batchScale}`);
  const plan = (width: number, predicted: boolean): PlannedRun => {
    const params = nonEmbeddingParams(s.nLayer, width, s.nHead);
    const wanted = s.tokens * Math.pow(params / maxParams, s.tokensExponent);
    const batchSize = Math.max(1, Math.round(s.batchScale * Math.sqrt(wanted / s.blockSize)));
    const steps = Math.max(1, Math.round(wanted / (batchSize * s.blockSize)));
    const tokens = steps * batchSize * s.blockSize;
    const lr = s.lr * Math.pow(s.predictWidth / width, s.lrExponent);
    return { width, params, batchSize, steps, tokens, compute: 6 * params * tokens, lr, predicted };
  };
  return [...widths.map((w) => plan(w, false)), plan(s.predictWidth, true)];
}

/** Decades of compute spanned by the small runs, and the compute ratio of the predicted run to the largest small one. */
export function sweepSpan(runs: PlannedRun[]): { smallDecades: number; extrapolation: number } {
  const small = runs.filter((r) => !r.predicted).map((r) => r.compute);
  const target = runs.find((r) => r.predicted)!.compute;
  return {
    smallDecades: Math.log10(Math.max(...small) / Math.min(...small)),
    extrapolation: target / Math.max(...small),
  };
}
