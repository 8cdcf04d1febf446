// The fused kernels @gptlab/tensor's ops look for (GptlabGelu, GptlabLayerNorm, GptlabCrossEntropy and their
// gradients; the contract @gptlab/tensor-native implements in C++) for plain wasm, over js-math.ts's loops.
// tensor-native replaces them when its addon is built.
import { rowsAndCols, sizeOf } from '@gptlab/common';
import { tf } from '../tf';
import { heapF32, offsetOf, withScratch, xnnSigmoid, xnnSoftmax, type WasmBackendLike } from './wasm-heap';
import {
  crossEntropyFromSoftmax,
  geluFromSigmoid,
  geluGradFromSigmoid,
  geluSigmoidArg,
  layerNormBackward,
  layerNormForward,
} from './js-math';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function f32(backend: WasmBackendLike, t: tf.TensorInfo, what: string): Float32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Float32Array)) throw new Error(`${what} must be a float32 tensor (got ${t.dtype})`);
  return v;
}

/**
 * GELU as x·σ(z), z = 2·√(2/π)·(x + 0.044715·x³): z by JS into scratch, σ(z) by the backend's SIMD sigmoid into
 * `out`, then `finish` turns σ(z) into the result in place (views of the heap are taken after the sigmoid).
 */
function viaSigmoid(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  out: tf.TensorInfo,
  finish: (heap: Float32Array, xo: number, oo: number, n: number) => void,
): void {
  const n = sizeOf(x.shape);
  if (n === 0) return;
  withScratch(backend, [n], ([z]) => {
    const xo = offsetOf(backend, x) >>> 2;
    const oo = offsetOf(backend, out) >>> 2;
    const heap = heapF32(backend);
    geluSigmoidArg(heap.subarray(xo, xo + n), heap.subarray(z! >>> 2, (z! >>> 2) + n), n);
    xnnSigmoid(backend, z!, oo * 4, n);
    finish(heapF32(backend), xo, oo, n);
  });
}

function gelu(args: Args): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32') throw new Error(`GptlabGelu: x must be a float32 tensor (got ${x.dtype})`);
  const out = backend.makeOutput([...x.shape], 'float32');
  viaSigmoid(backend, x, out, (heap, xo, oo, n) => geluFromSigmoid(heap.subarray(xo, xo + n), heap.subarray(oo, oo + n), n));
  return out;
}

function geluGrad(args: Args): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('GptlabGeluGrad: x and dy must be float32 tensors');
  const out = backend.makeOutput([...x.shape], 'float32');
  const dyo = offsetOf(backend, dy) >>> 2;
  viaSigmoid(backend, x, out, (heap, xo, oo, n) =>
    geluGradFromSigmoid(heap.subarray(xo, xo + n), heap.subarray(dyo, dyo + n), heap.subarray(oo, oo + n), n),
  );
  return out;
}

function layerNorm(args: Args): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const eps = ((args.attrs ?? {}) as { eps?: number }).eps ?? 1e-5;
  const { rows, cols } = rowsAndCols(x.shape);
  if (sizeOf(gamma.shape) !== cols || sizeOf(beta.shape) !== cols) {
    throw new Error(`GptlabLayerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must have ${cols} elements`);
  }
  const y = backend.makeOutput([...x.shape], 'float32');
  const xhat = backend.makeOutput([...x.shape], 'float32');
  const rstd = backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  if (rows * cols > 0) {
    layerNormForward(
      f32(backend, x, 'GptlabLayerNorm: x'),
      f32(backend, gamma, 'gamma'),
      f32(backend, beta, 'beta'),
      f32(backend, y, 'y'),
      f32(backend, xhat, 'xhat'),
      f32(backend, rstd, 'rstd'),
      rows,
      cols,
      eps,
    );
  }
  return [y, xhat, rstd];
}

function layerNormGrad(args: Args): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { dy, xhat, rstd, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const { rows, cols } = rowsAndCols(xhat!.shape);
  const dx = backend.makeOutput([...xhat!.shape], 'float32');
  const dg = backend.makeOutput([cols], 'float32');
  const db = backend.makeOutput([cols], 'float32');
  layerNormBackward(
    f32(backend, dy!, 'GptlabLayerNormGrad: dy'),
    f32(backend, xhat!, 'xhat'),
    f32(backend, rstd!, 'rstd'),
    f32(backend, gamma!, 'gamma'),
    f32(backend, dx, 'dx'),
    f32(backend, dg, 'dgamma'),
    f32(backend, db, 'dbeta'),
    rows,
    cols,
  );
  return [dx, dg, db];
}

function crossEntropy(args: Args): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { logits, targets } = args.inputs as { logits: tf.TensorInfo; targets: tf.TensorInfo };
  const ignoreIndex = ((args.attrs ?? {}) as { ignoreIndex?: number }).ignoreIndex ?? -100;
  const { rows, cols } = rowsAndCols(logits.shape);
  if (sizeOf(targets.shape) !== rows)
    throw new Error(`GptlabCrossEntropy: ${sizeOf(targets.shape)} targets for ${rows} rows of logits [${logits.shape}]`);
  const loss = backend.makeOutput([], 'float32');
  const grad = backend.makeOutput([...logits.shape], 'float32');
  if (targets.dtype !== 'int32') throw new Error('GptlabCrossEntropy: targets must be an int32 tensor');
  if (logits.dtype !== 'float32') throw new Error(`GptlabCrossEntropy: logits must be a float32 tensor (got ${logits.dtype})`);
  let value = 0;
  if (rows * cols > 0) {
    // Probabilities from the backend's SIMD softmax straight into the gradient's memory, then one JS pass.
    xnnSoftmax(backend, offsetOf(backend, logits), offsetOf(backend, grad), cols, rows);
    const targetsView = backend.typedArrayFromHeap(targets) as Int32Array;
    value = crossEntropyFromSoftmax(f32(backend, logits, 'logits'), targetsView, rows, cols, ignoreIndex, f32(backend, grad, 'grad'));
  }
  f32(backend, loss, 'loss')[0] = value;
  return [loss, grad];
}

/** Kernel configs under the fused names, for the wasm backend. */
export const wasmFusedKernels: tf.KernelConfig[] = [
  { kernelName: 'GptlabGelu', backendName: 'wasm', kernelFunc: gelu as unknown as tf.KernelFunc },
  { kernelName: 'GptlabGeluGrad', backendName: 'wasm', kernelFunc: geluGrad as unknown as tf.KernelFunc },
  { kernelName: 'GptlabLayerNorm', backendName: 'wasm', kernelFunc: layerNorm as unknown as tf.KernelFunc },
  { kernelName: 'GptlabLayerNormGrad', backendName: 'wasm', kernelFunc: layerNormGrad as unknown as tf.KernelFunc },
  { kernelName: 'GptlabCrossEntropy', backendName: 'wasm', kernelFunc: crossEntropy as unknown as tf.KernelFunc },
];
