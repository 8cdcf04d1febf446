// Log-likelihood requests the way EleutherAI's lm-evaluation-harness forms and scores them
// (lm_eval/api/model.py `_encode_pair`, lm_eval/models/huggingface.py `_loglikelihood_tokens`):
// the continuation's tokens are those of context+continuation after the context's tokens, the input is the
// last nPositions+1 tokens minus the final one, and the score is Σ log P(continuation token | prefix), natural
// log. Many requests share one forward pass, right-padded; causal attention keeps padding out of every real
// position, so batched and one-at-a-time scoring agree.
import { tf } from '@gptlab/tensor';

export interface ScoringModel {
  readonly config: { nPositions: number; eosTokenId?: number };
  forward(ids: tf.Tensor2D): { logits: tf.Tensor3D };
}

export interface EncodingTokenizer {
  encode(text: string): number[];
}

export interface LoglikelihoodRequest {
  context: number[];
  continuation: number[];
}

export interface LoglikelihoodResult {
  /** Σ ln P(continuation token | everything before it). */
  loglikelihood: number;
  /** Whether greedy decoding from the context would produce exactly the continuation (lm-eval's is_greedy). */
  isGreedy: boolean;
}

/**
 * The token ids of (context, continuation) as lm-eval splits them: trailing whitespace of the context moves to
 * the continuation (so " Paris" keeps its space-prefixed token), the continuation is the tail of
 * encode(context + continuation) after encode(context); when that whole encoding does not start with the
 * context's tokens (a merge across the boundary), the two halves are encoded separately. An empty context is
 * replaced by the end-of-text token, as lm-eval does.
 */
export function encodePair(tok: EncodingTokenizer, context: string, continuation: string, eosId?: number): LoglikelihoodRequest {
  const trailing = context.length - context.trimEnd().length;
  if (trailing > 0) {
    continuation = context.slice(context.length - trailing) + continuation;
    context = context.slice(0, context.length - trailing);
  }
  if (continuation.length === 0) throw new Error('encodePair: empty continuation');
  if (context.length === 0) {
    if (eosId === undefined) throw new Error('encodePair: empty context and the model has no end-of-text token to condition on');
    return { context: [eosId], continuation: tok.encode(continuation) };
  }
  const contextIds = tok.encode(context);
  const whole = tok.encode(context + continuation);
  const aligned = whole.length > contextIds.length && contextIds.every((id, i) => whole[i] === id);
  return { context: contextIds, continuation: aligned ? whole.slice(contextIds.length) : tok.encode(continuation) };
}

/**
 * Scores every request; `batchSize` of them per forward pass (longest first, as lm-eval orders them, so a
 * batch pads little). Results come back in request order.
 */
export function loglikelihoods(model: ScoringModel, requests: LoglikelihoodRequest[], batchSize = 1): LoglikelihoodResult[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`loglikelihoods: batchSize must be a positive integer, got ${batchSize}`);
  const maxLen = model.config.nPositions;
  const prepared = requests.map((r, index) => {
    if (r.continuation.length === 0) throw new Error(`loglikelihoods: request ${index} has an empty continuation`);
    if (r.context.length === 0) throw new Error(`loglikelihoods: request ${index} has an empty context`);
    if (r.continuation.length > maxLen)
      throw new Error(`loglikelihoods: request ${index} has a ${r.continuation.length}-token continuation; the model sees ${maxLen}`);
    // lm-eval: inp = (context + continuation)[-(max_length + 1):][:-1]
    const input = [...r.context, ...r.continuation].slice(-(maxLen + 1)).slice(0, -1);
    return { index, input, continuation: r.continuation };
  });
  const order = [...prepared].sort((a, b) => b.input.length - a.input.length || a.index - b.index);
  const results: LoglikelihoodResult[] = new Array(requests.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = order.slice(start, start + batchSize);
    const width = batch[0]!.input.length; // sorted longest first
    const ids = new Int32Array(batch.length * width); // right padding with token 0, never attended to
    // One [row, position, token] triple per continuation token: the logits at `position` predict `token`.
    const picks: number[][] = [];
    const positions: number[][] = [];
    batch.forEach((req, row) => {
      ids.set(req.input, row * width);
      const first = req.input.length - req.continuation.length;
      req.continuation.forEach((token, j) => {
        picks.push([row, first + j, token]);
        positions.push([row, first + j]);
      });
    });
    const [logp, argmax] = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(ids, [batch.length, width], 'int32'));
      const rows = tf.gatherND(logits, tf.tensor2d(positions, [positions.length, 2], 'int32')) as tf.Tensor2D;
      const logSoftmax = tf.logSoftmax(rows);
      const tokens = tf.tensor2d(
        picks.map((p, i) => [i, p[2]!]),
        [picks.length, 2],
        'int32',
      );
      return [tf.gatherND(logSoftmax, tokens), tf.argMax(rows, 1)];
    });
    const lp = logp.dataSync();
    const best = argmax.dataSync();
    tf.dispose([logp, argmax]);
    let k = 0;
    for (const req of batch) {
      let sum = 0; // accumulated in float64: the per-token terms are what the float32 model computes
      let greedy = true;
      for (const token of req.continuation) {
        sum += lp[k]!;
        if (best[k] !== token) greedy = false;
        k++;
      }
      results[req.index] = { loglikelihood: sum, isGreedy: greedy };
    }
  }
  return results;
}
