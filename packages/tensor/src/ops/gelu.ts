// GELU, tanh approximation (GPT-2's "gelu_new"; Hendrycks & Gimpel 2016):
//   gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
// Fused with an analytic gradient so backprop keeps one tanh instead of the chain of small ops autodiff makes.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';
import { hasNativeKernel, runNativeKernel } from '../native';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const COEFF = 0.044715;

const composedGelu = customGradOp((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const t = tf.tidy(() => tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(COEFF, tf.mul(x, tf.mul(x, x)))))));
  save([x, t]);
  const value = tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, t)));
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ts] = saved as [tf.Tensor, tf.Tensor];
      // d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)
      const x2 = tf.mul(xs, xs);
      const inner = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * COEFF, x2)));
      const sech2 = tf.sub(1, tf.mul(ts, ts));
      const d = tf.add(tf.mul(0.5, tf.add(1, ts)), tf.mul(tf.mul(tf.mul(0.5, xs), sech2), inner));
      return [tf.mul(dy, d)];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

// With @gptlab/tensor-native: one pass forward, one pass backward (multi-threaded, no intermediates).
const nativeGelu = customGradOp((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: runNativeKernel('GptlabGelu', { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [runNativeKernel('GptlabGeluGrad', { x: saved[0]!, dy }) as tf.Tensor],
  };
}) as (x: tf.Tensor) => tf.Tensor;

export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && hasNativeKernel('GptlabGelu')) return nativeGelu(x);
  return composedGelu(x);
}
