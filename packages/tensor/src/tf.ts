// The one TensorFlow.js instance every gptlab package uses. Import `tf` from '@gptlab/tensor' rather than
// from '@tensorflow/tfjs-core' so kernels registered here (and by @gptlab/tensor-native) apply everywhere.
import * as tf from '@tensorflow/tfjs-core';
// The cpu backend is always registered: it is the last fallback and the reference in tests.
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's CommonJS bundle registers no gradients (only its ESM entry does, through
// register_all_gradients); the union package's Node bundle registers all of them for this same tfjs-core.
import '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Scalar = tf.Scalar;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Tensor4D = tf.Tensor4D;
export type Variable = tf.Variable;
