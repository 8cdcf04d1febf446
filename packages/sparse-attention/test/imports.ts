// What the tests use: this package (from source), tfjs and the backend setup of @gptlab/tensor, and the
// shared PRNG and float64 test references of @gptlab/common.
import { tf } from '@gptlab/tensor';

export * from '../src';
export { tf, initBackend } from '@gptlab/tensor';
export { Rng } from '@gptlab/common';
export { maxAbsDiff } from '@gptlab/common/testing';

/** A [B, H, T, D] tensor of standard normals (tfjs's seeded generator). */
export function rand4(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}
