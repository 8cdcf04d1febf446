import { tf } from '../tf';

/**
 * tf.customGrad with the save function as the last argument, typed loosely so ops can declare their real
 * signature with `as`. tfjs's own typing rejects functions whose last parameter is the save callback.
 */
export function customGradOp(
  f: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] },
): unknown {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}
