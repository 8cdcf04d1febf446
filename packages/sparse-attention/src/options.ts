// What both attention entry points take: options, and the checks of q, k, v and the score scale.
import { tf } from '@gptlab/tensor';

export interface AttentionOptions {
  /** Score scale; default 1/√headDim. */
  scale?: number;
  /** Also return the attention probabilities [B, H, T, T] (not differentiable; for pictures, small T). */
  returnProbs?: boolean;
}

export interface BlockSparseOptions extends AttentionOptions {
  /** Block size when `p` is a pattern (16, 32 or 64 usual; default 32). Ignored for a compiled layout. */
  blockSize?: number;
  /**
   * How a `strided` pattern given as a pattern (not a layout) is computed: 'blocks' through its block layout;
   * 'factorized' as a local band of `stride` plus, per residue class mod stride, causal attention over the
   * n/stride earlier positions of the class, merged in one softmax (log-sum-exp), O(n·(stride + n/stride));
   * 'auto' (default) factorizes when stride is a multiple of the block size and T > 2·stride (returnProbs: blocks).
   */
  strided?: 'auto' | 'blocks' | 'factorized';
}

export interface AttentionWithProbs {
  output: tf.Tensor4D;
  probs: tf.Tensor4D;
}

function check4D(name: string, t: tf.Tensor, where: string): void {
  if (!(t instanceof tf.Tensor) || t.rank !== 4) {
    throw new Error(
      `${where}: ${name} must be a rank-4 tensor [batch, heads, time, headDim], got shape ${t instanceof tf.Tensor ? JSON.stringify(t.shape) : typeof t}`,
    );
  }
}

export function checkQKV(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, where: string): void {
  check4D('q', q, where);
  check4D('k', k, where);
  check4D('v', v, where);
  const [b, h, , d] = q.shape;
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) {
    throw new Error(
      `${where}: k shape ${JSON.stringify(k.shape)} does not match q shape ${JSON.stringify(q.shape)} (batch, heads, headDim)`,
    );
  }
  if (v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== k.shape[2]) {
    throw new Error(`${where}: v shape ${JSON.stringify(v.shape)} does not match k shape ${JSON.stringify(k.shape)} (batch, heads, time)`);
  }
}

export function resolveScale(opts: AttentionOptions | undefined, d: number, where: string): number {
  const s = opts?.scale ?? 1 / Math.sqrt(d);
  if (!Number.isFinite(s)) throw new Error(`${where}: scale must be a finite number, got ${opts?.scale}`);
  return s;
}
