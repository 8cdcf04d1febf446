// Softmax cross-entropy from logits, numerically stable (log-sum-exp with the row max subtracted), with an
// ignore index: the loss is the mean over counted targets only, and 0 (not NaN) when none count.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';
import { hasNativeKernel, runNativeKernel } from '../native';

export const IGNORE_INDEX = -100;

/** Per-row log-sum-exp, stable for logits of any magnitude (±1e4 included). */
function logSumExp(logits: tf.Tensor2D): tf.Tensor1D {
  const m = tf.max(logits, 1, true);
  return tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1)), tf.reshape(m, [-1])) as tf.Tensor1D;
}

function makeCrossEntropy(ignoreIndex: number) {
  return customGradOp((logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => {
    const vocab = logits.shape[logits.shape.length - 1]!;
    const [lossV, probs, oneHot, weight] = tf.tidy(() => {
      const l2 = tf.reshape(logits, [-1, vocab]) as tf.Tensor2D;
      const t = tf.reshape(tf.cast(targets, 'int32'), [-1]);
      const counted = tf.cast(tf.notEqual(t, ignoreIndex), 'float32');
      const safeT = tf.where(tf.notEqual(t, ignoreIndex), t, tf.zerosLike(t));
      // oneHot straight to float32 is wrong on tfjs-wasm 4.22 (it writes int32 bits): build int32 and cast.
      const oh = tf.cast(tf.oneHot(safeT as tf.Tensor1D, vocab), 'float32');
      const lse = logSumExp(l2);
      const picked = tf.sum(tf.mul(l2, oh), 1);
      const count = tf.maximum(tf.sum(counted), 1);
      const w = tf.div(counted, count); // each counted row weighs 1/count
      const loss = tf.sum(tf.mul(tf.sub(lse, picked), w));
      const p = tf.exp(tf.sub(l2, tf.reshape(lse, [-1, 1])));
      return [loss, p, oh, w];
    });
    save([probs!, oneHot!, weight!]);
    return {
      value: lossV!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, oh, w] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const g = tf.mul(tf.mul(tf.sub(p, oh), tf.reshape(w, [-1, 1])), dy);
        return [tf.reshape(g, logits.shape), tf.zerosLike(targets)];
      },
    };
  }) as (logits: tf.Tensor, targets: tf.Tensor) => tf.Scalar;
}

// With @gptlab/tensor-native: log-sum-exp, loss and the gradient (softmax − one-hot)/count in one pass over
// the logits; the gradient is kept for backprop instead of probabilities and one-hot rows.
function makeNativeCrossEntropy(ignoreIndex: number) {
  return customGradOp((logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => {
    const t = targets.dtype === 'int32' ? targets : tf.cast(targets, 'int32');
    const [loss, grad] = runNativeKernel('GptlabCrossEntropy', { logits, targets: t }, { ignoreIndex }) as tf.Tensor[];
    if (t !== targets) t.dispose();
    save([grad!]);
    return {
      value: loss!,
      // The loss is usually the differentiated output itself (dy = 1): then the kept gradient is the answer,
      // and multiplying [rows, V] by 1 would be one more full pass (native backends only: dy is on the CPU).
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        dy.size === 1 && dy.dataSync()[0] === 1 ? tf.clone(saved[0]!) : tf.mul(saved[0]!, dy),
        tf.zerosLike(targets),
      ],
    };
  }) as (logits: tf.Tensor, targets: tf.Tensor) => tf.Scalar;
}

const byIgnore = new Map<number, ReturnType<typeof makeCrossEntropy>>();
const nativeByIgnore = new Map<number, ReturnType<typeof makeNativeCrossEntropy>>();

/**
 * Mean cross-entropy of `logits` [..., V] against integer `targets` [...]; targets equal to `ignoreIndex`
 * (default -100, as in PyTorch) do not count.
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, ignoreIndex = IGNORE_INDEX): tf.Scalar {
  if (logits.shape.length < 1) throw new Error('crossEntropy: logits must have a vocabulary axis');
  const n = logits.size / logits.shape[logits.shape.length - 1]!;
  if (targets.size !== n) {
    throw new Error(`crossEntropy: ${targets.size} targets for ${n} rows of logits (shape [${logits.shape}])`);
  }
  if (logits.dtype === 'float32' && hasNativeKernel('GptlabCrossEntropy')) {
    let nf = nativeByIgnore.get(ignoreIndex);
    if (!nf) {
      nf = makeNativeCrossEntropy(ignoreIndex);
      nativeByIgnore.set(ignoreIndex, nf);
    }
    return nf(logits, targets);
  }
  let f = byIgnore.get(ignoreIndex);
  if (!f) {
    f = makeCrossEntropy(ignoreIndex);
    byIgnore.set(ignoreIndex, f);
  }
  return f(logits, targets);
}
