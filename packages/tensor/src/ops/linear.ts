// Affine map in the Conv1D layout GPT-2 checkpoints use: y = x·W + b with W [in, out].
// The leading axes of x are folded into one so the product is a single 2-D matMul, the fast kernel on
// every backend; the gradient (through matMul2d) uses explicit transposes on plain wasm.
import { tf } from '../tf';
import { matMul2d } from './matmul';

export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  if (w.shape[0] !== inDim) {
    throw new Error(`linear: input width ${inDim} does not match weight shape [${w.shape}] (expected [${inDim}, out])`);
  }
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    const y = matMul2d(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w);
    const yb = b ? tf.add(y, b) : y;
    return tf.reshape(yb, [...lead, w.shape[1]!]);
  });
}
