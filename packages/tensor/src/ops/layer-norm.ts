// LayerNorm over the last axis with affine parameters (Ba et al. 2016), eps 1e-5 as in GPT-2.
// Analytic backward: dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)), ĝ = dy · γ.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';
import { hasNativeKernel, runNativeKernel } from '../native';

export const LAYER_NORM_EPS = 1e-5;

function sumToLast(t: tf.Tensor): tf.Tensor {
  // Sums every axis but the last: the reduction of a per-feature parameter's gradient.
  const last = t.shape[t.shape.length - 1]!;
  return tf.sum(tf.reshape(t, [-1, last]), 0);
}

function makeLayerNorm(eps: number) {
  return customGradOp((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const axis = x.shape.length - 1;
    const [xhat, rstd] = tf.tidy(() => {
      const mean = tf.mean(x, axis, true);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.mul(centered, centered), axis, true);
      const r = tf.rsqrt(tf.add(variance, eps));
      return [tf.mul(centered, r), r];
    });
    save([xhat!, rstd!, gamma]);
    const value = tf.tidy(() => tf.add(tf.mul(xhat!, gamma), beta));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const ax = xh.shape.length - 1;
        const dgamma = sumToLast(tf.mul(dy, xh));
        const dbeta = sumToLast(dy);
        const gh = tf.mul(dy, g);
        const meanG = tf.mean(gh, ax, true);
        const meanGX = tf.mean(tf.mul(gh, xh), ax, true);
        const dx = tf.mul(rs, tf.sub(tf.sub(gh, meanG), tf.mul(xh, meanGX)));
        return [dx, dgamma, dbeta];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}

// With @gptlab/tensor-native: statistics, normalisation and affine in one pass; backward in one pass per row.
function makeNativeLayerNorm(eps: number) {
  return customGradOp((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, xhat, rstd] = runNativeKernel('GptlabLayerNorm', { x, gamma, beta }, { eps }) as tf.Tensor[];
    save([xhat!, rstd!, gamma]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const [dx, dgamma, dbeta] = runNativeKernel('GptlabLayerNormGrad', { dy, xhat: xh, rstd: rs, gamma: g }) as tf.Tensor[];
        return [dx!, tf.reshape(dgamma!, g.shape), tf.reshape(dbeta!, g.shape)];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}

const nativeByEps = new Map<number, ReturnType<typeof makeNativeLayerNorm>>();

const defaultLayerNorm = makeLayerNorm(LAYER_NORM_EPS);
const byEps = new Map<number, ReturnType<typeof makeLayerNorm>>([[LAYER_NORM_EPS, defaultLayerNorm]]);

/** y = (x − mean) / √(var + eps) · γ + β over the last axis. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = LAYER_NORM_EPS): tf.Tensor {
  const width = x.shape[x.shape.length - 1]!;
  if (x.dtype === 'float32' && gamma.size === width && beta.size === width && hasNativeKernel('GptlabLayerNorm')) {
    let nf = nativeByEps.get(eps);
    if (!nf) {
      nf = makeNativeLayerNorm(eps);
      nativeByEps.set(eps, nf);
    }
    return nf(x, gamma, beta);
  }
  let f = byEps.get(eps);
  if (!f) {
    f = makeLayerNorm(eps);
    byEps.set(eps, f);
  }
  return f(x, gamma, beta);
}
