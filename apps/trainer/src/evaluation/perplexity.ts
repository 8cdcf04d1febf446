// Perplexity of a model on a token stream (a held-out split): non-overlapping windows of the model's
// context, every token after the first of each window predicted once; ppl = exp(mean NLL).
import { tf, crossEntropy } from '@gptlab/tensor';

export interface PerplexityModel {
  readonly config: { nPositions: number };
  forward(ids: tf.Tensor2D): { logits: tf.Tensor3D };
}

export interface PerplexityResult {
  loss: number;
  perplexity: number;
  tokens: number;
}

export function perplexity(
  model: PerplexityModel,
  tokens: ArrayLike<number>,
  opts: { window?: number; maxTokens?: number; batch?: number } = {},
): PerplexityResult {
  const T = Math.min(opts.window ?? model.config.nPositions, model.config.nPositions);
  const n = Math.min(tokens.length, opts.maxTokens ?? Infinity);
  const batch = opts.batch ?? 4;
  const windows: number[] = [];
  for (let s = 0; s + T + 1 <= n; s += T) windows.push(s);
  if (windows.length === 0) throw new Error(`perplexity: need at least ${T + 1} tokens, got ${n}`);
  let nll = 0;
  let count = 0;
  for (let i = 0; i < windows.length; i += batch) {
    const rows = windows.slice(i, i + batch);
    const x = new Int32Array(rows.length * T);
    const y = new Int32Array(rows.length * T);
    rows.forEach((s, r) => {
      for (let t = 0; t < T; t++) {
        x[r * T + t] = tokens[s + t]!;
        y[r * T + t] = tokens[s + t + 1]!;
      }
    });
    const loss = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(x, [rows.length, T], 'int32'));
      return crossEntropy(logits, tf.tensor2d(y, [rows.length, T], 'int32')).dataSync()[0]!;
    });
    nll += loss * rows.length * T;
    count += rows.length * T;
  }
  const mean = nll / count;
  return { loss: mean, perplexity: Math.exp(mean), tokens: count };
}
