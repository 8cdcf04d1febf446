// Greedy generation runs shared by the decode benches (native-decode.ts, native-decode-quant.ts): one timed run
// through forward + KVCache, and the log-prob drift of one run against another on the same sequence.
import { tf } from '@gptlab/tensor';
import type { GPT } from '../src';

export interface Run {
  ids: number[];
  logits: Float32Array[];
  prefill: number;
  total: number;
  /** Seconds of each one-token step (forward + argmax). */
  steps: number[];
}

/**
 * Greedy generation through forward + KVCache (what @gptlab/decoding's session does), timed; with `forced`, those
 * ids are fed instead of the argmax (teacher forcing: another model's log-probs on the same sequence).
 */
export function greedy(model: GPT, prompt: number[], n: number, keepLogits: boolean, forced?: number[]): Run {
  const t0 = performance.now();
  const cache = model.createCache(1);
  let input = tf.tensor2d([prompt], [1, prompt.length], 'int32');
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let prefill = 0;
  const steps: number[] = [];
  for (let i = 0; i < n; i++) {
    const s0 = performance.now();
    const out = model.forward(input, { cache }).logits;
    input.dispose();
    const [, T, V] = out.shape;
    const last = (out.dataSync() as Float32Array).subarray((T - 1) * V);
    let best = 0;
    for (let j = 1; j < V; j++) if (last[j]! > last[best]!) best = j;
    if (keepLogits) logits.push(last.slice());
    out.dispose();
    if (i === 0) prefill = (performance.now() - t0) / 1000;
    else steps.push((performance.now() - s0) / 1000);
    ids.push(best);
    input = tf.tensor2d([[forced ? forced[i]! : best]], [1, 1], 'int32');
  }
  input.dispose();
  cache.dispose();
  return { ids, logits, prefill, total: (performance.now() - t0) / 1000, steps };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** log-softmax of `logits` at `id`. */
export function logProb(logits: Float32Array, id: number): number {
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - m);
  return logits[id]! - m - Math.log(z);
}

/** Log-prob drift of `other` (teacher-forced on base's ids) against `base`, and how often its argmax agrees. */
export function drift(base: Run, other: Run): Record<string, number> {
  const d = base.ids.map((id, i) => Math.abs(logProb(other.logits[i]!, id) - logProb(base.logits[i]!, id)));
  const agree = base.ids.filter((id, i) => other.ids[i] === id).length;
  return {
    max_abs_logprob_diff: +Math.max(...d).toExponential(3),
    mean_abs_logprob_diff: +(d.reduce((a, b) => a + b, 0) / d.length).toExponential(3),
    argmax_agreement: +(agree / base.ids.length).toFixed(3),
    steps: base.ids.length,
  };
}
