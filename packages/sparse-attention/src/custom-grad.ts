import { tf } from '@gptlab/tensor';

/** tf.customGrad with loose typing (tfjs's types reject a trailing save callback); ops cast to their signature. */
export function customGradOp(f: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }): unknown {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}
