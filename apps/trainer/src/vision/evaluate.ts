// Held-out evaluation: greedy answers generated with the KV cache (the visual prefix and the prompt prefilled
// once, then one token per step for a whole batch), exact match against the expected answers, and the
// teacher-forced loss on the answers.
import { tf } from '@gptlab/tensor';
import type { VisionGPT } from '@gptlab/model';
import { eosOf, makeVisionBatch, type VisionBatch, type VisionTokenizer } from './batch';
import type { ImageSize, VisionExample } from './examples';

/** Greedy answers (up to `maxNew` tokens or the end-of-text token), in the order of `examples`. */
export async function greedyAnswers(
  model: VisionGPT,
  tok: VisionTokenizer,
  examples: readonly VisionExample[],
  size: ImageSize,
  maxNew = 24,
  batchSize = 100,
): Promise<string[]> {
  const eos = eosOf(tok);
  const answers = new Array<string>(examples.length);
  // Rows of one forward share the prompt length: group by it.
  const groups = new Map<number, number[]>();
  const prompts = examples.map((ex) => tok.encode(ex.prompt));
  prompts.forEach((p, i) => groups.set(p.length, [...(groups.get(p.length) ?? []), i]));
  for (const [len, all] of groups) {
    for (let g = 0; g < all.length; g += batchSize) {
      const rows = all.slice(g, g + batchSize);
      const steps = Math.min(maxNew, model.gpt.config.nPositions - model.prefixLength - len + 1);
      const out = await greedyRows(
        model,
        rows.map((i) => examples[i]!),
        rows.map((i) => prompts[i]!),
        size,
        steps,
        eos,
      );
      rows.forEach((i, r) => (answers[i] = tok.decode(out[r]!)));
    }
  }
  return answers;
}

async function greedyRows(
  model: VisionGPT,
  examples: VisionExample[],
  prompts: number[][],
  size: ImageSize,
  steps: number,
  eos: number,
): Promise<number[][]> {
  const B = examples.length;
  const T = prompts[0]!.length;
  const cache = model.gpt.createCache(B);
  const done = new Array<boolean>(B).fill(false);
  const out: number[][] = Array.from({ length: B }, () => []);
  try {
    let next = tf.tidy(() => {
      const images = tf.tensor3d(concat(examples.map((e) => e.pixels)), [B, size.height, size.width]);
      const prefix = model.vision.encode(images);
      const { logits } = model.gpt.forward(tf.tensor2d(prompts.flat(), [B, T], 'int32'), { prefix, cache });
      return lastArgmax(logits);
    });
    for (let s = 0; s < steps; s++) {
      const ids = Array.from(await next.data());
      next.dispose();
      ids.forEach((id, r) => {
        if (done[r]) return;
        if (id === eos) done[r] = true;
        else out[r]!.push(id);
      });
      if (done.every(Boolean) || s + 1 === steps) break;
      next = tf.tidy(() => lastArgmax(model.gpt.forward(tf.tensor2d(ids, [B, 1], 'int32'), { cache }).logits));
    }
  } finally {
    cache.dispose();
  }
  return out;
}

function lastArgmax(logits: tf.Tensor3D): tf.Tensor1D {
  const [B, T, V] = logits.shape;
  return tf.argMax(tf.reshape(tf.slice(logits, [0, T - 1, 0], [B, 1, V]), [B, V]), 1) as tf.Tensor1D;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Share of exact matches. */
export function exactMatch(answers: readonly string[], examples: readonly VisionExample[]): number {
  return examples.length === 0 ? NaN : answers.filter((a, i) => a === examples[i]!.answer).length / examples.length;
}

/** Mean teacher-forced loss over the scored tokens of `examples`. */
export async function answerLoss(
  model: VisionGPT,
  tok: VisionTokenizer,
  examples: readonly VisionExample[],
  size: ImageSize,
  batchSize = 100,
): Promise<number> {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const b = makeVisionBatch(tok, examples.slice(i, i + batchSize), size);
    const k = b.targets.filter((t) => t >= 0).length;
    const l = tf.tidy(() => model.loss(...batchTensors(b)));
    sum += (await l.data())[0]! * k;
    l.dispose();
    n += k;
  }
  return sum / n;
}

/** A batch as the tensors VisionGPT.loss takes: images, ids, targets. */
export function batchTensors(b: VisionBatch): [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D] {
  return [
    tf.tensor3d(b.images, [b.rows, b.height, b.width]),
    tf.tensor2d(b.ids, [b.rows, b.T], 'int32'),
    tf.tensor2d(b.targets, [b.rows, b.T], 'int32'),
  ];
}
