// The position-wise feed-forward network of a block (nanoGPT's MLP): c_fc C → 4C, GELU (tanh approximation),
// c_proj 4C → C.
import { tf, gelu } from '@gptlab/tensor';
import { conv1d, type MLPWeights } from './layers';

export function mlp(x: tf.Tensor, w: MLPWeights): tf.Tensor {
  return conv1d(gelu(conv1d(x, w.c_fc)), w.c_proj);
}
