// One transformer block, in either of the two arrangements of the GPT family:
//   pre-LN (GPT-2/3):  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
//   post-LN (GPT-1):   x = ln_1(x + attn(x));  x = ln_2(x + mlp(x))
// Residual dropout applies to each branch before its add.
import { tf, layerNorm } from '@gptlab/tensor';
import type { GPTConfig } from './config';
import type { Affine, BlockWeights } from './layers';
import { mlp } from './mlp';

/**
 * `attend` is the block's self-attention with its cache, mask and dropout already bound; `residDropout` drops
 * from a residual branch (the identity when off).
 */
export function block(
  x: tf.Tensor,
  w: BlockWeights,
  c: Pick<GPTConfig, 'postLN' | 'layerNormEpsilon'>,
  attend: (h: tf.Tensor) => tf.Tensor,
  residDropout: (branch: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const ln = (h: tf.Tensor, p: Affine) => layerNorm(h, p.weight, p.bias, c.layerNormEpsilon);
  if (c.postLN) {
    const h = ln(tf.add(x, residDropout(attend(x))), w.ln_1);
    return ln(tf.add(h, residDropout(mlp(h, w.mlp))), w.ln_2);
  }
  const h = tf.add(x, residDropout(attend(ln(x, w.ln_1))));
  return tf.add(h, residDropout(mlp(ln(h, w.ln_2), w.mlp)));
}
