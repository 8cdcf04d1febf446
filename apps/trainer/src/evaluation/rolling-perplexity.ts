// Rolling (sliding-window) perplexity of raw text, after Hugging Face's guide "Perplexity of fixed-length
// models" (https://huggingface.co/docs/transformers/perplexity): windows of the model's context start every
// `stride` tokens; a window's targets are only the tokens past the previous window's end, so every token is
// scored at most once while conditioning on up to nPositions − 1 tokens before it. A window's first token is
// never a target (nothing in the window predicts it), so with stride < context every token but the text's
// first is scored once, and with stride = context (no overlap) each window's first token goes unscored, as in
// the guide. The guide counts `trg_len − 1` tokens for overlapping windows although it scores `trg_len` of
// them; here `tokens` is the number actually scored.
import { tf } from '@gptlab/tensor';
import type { ScoringModel } from './loglikelihood';

export interface RollingPerplexityResult {
  /** Tokens scored: every token but the first when stride < context (see above). */
  tokens: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  nll: number;
  /** exp(nll). */
  perplexity: number;
  /** Total NLL in bits ÷ UTF-8 bytes of the text (lm-eval's bits_per_byte): comparable across tokenizers. */
  bits_per_byte: number;
}

/** The windows the guide's loop visits: [begin, end) and how many of its last tokens are targets. */
export function rollingWindows(length: number, maxLength: number, stride: number): { begin: number; end: number; targets: number }[] {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`rolling perplexity: stride must be a positive integer, got ${stride}`);
  if (stride > maxLength) throw new Error(`rolling perplexity: stride ${stride} exceeds the model's context of ${maxLength} tokens`);
  const windows: { begin: number; end: number; targets: number }[] = [];
  let prevEnd = 0;
  for (let begin = 0; begin < length; begin += stride) {
    const end = Math.min(begin + maxLength, length);
    // trg_len = end − prev_end tokens are new, but a window's first token has nothing before it to be
    // predicted from (the guide's label shift drops it too): only stride < context scores every token.
    windows.push({ begin, end, targets: Math.min(end - prevEnd, end - begin - 1) });
    prevEnd = end;
    if (end === length) break;
  }
  return windows;
}

export function rollingPerplexity(model: ScoringModel, ids: number[], stride: number, textBytes: number): RollingPerplexityResult {
  if (ids.length < 2) throw new Error(`rolling perplexity: the text has ${ids.length} token(s); need at least 2`);
  let nllSum = 0;
  let count = 0;
  for (const { begin, end, targets } of rollingWindows(ids.length, model.config.nPositions, stride)) {
    if (targets === 0) continue;
    const window = ids.slice(begin, end);
    const inputLen = window.length - 1;
    // Position p's logits predict window[p + 1]; the targets are the window's last `targets` tokens.
    const first = inputLen - targets;
    const picked = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d([window.slice(0, -1)], [1, inputLen], 'int32'));
      const rows = tf.reshape(tf.slice(logits, [0, first, 0], [1, targets, -1]), [targets, -1]);
      const tokens = window.slice(first + 1).map((t, i) => [i, t]);
      return tf.gatherND(tf.logSoftmax(rows), tf.tensor2d(tokens, [targets, 2], 'int32'));
    });
    for (const lp of picked.dataSync()) nllSum -= lp;
    picked.dispose();
    count += targets;
  }
  const nll = nllSum / count;
  return { tokens: count, nll, perplexity: Math.exp(nll), bits_per_byte: nllSum / Math.LN2 / textBytes };
}
