// UnsortedSegmentSum for the wasm backend: the gradient of gather (every embedding lookup) is an
// unsorted segment sum, and tfjs-backend-wasm 4.22 has no kernel for it, so embeddings could not train.
import { tf } from '../tf';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const backend = args.backend as WasmBackendLike;
  const idRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const outShape = [numSegments, ...innerShape];
  const out = backend.makeOutput(outShape, x.dtype);
  if (numSegments * inner === 0) return out;
  // Views are taken after makeOutput: allocating can grow (and so detach) the wasm heap.
  const o = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  o.fill(0);
  const n = ids.length;
  for (let i = 0; i < n; i++) {
    const s = ids[i]!;
    // Like TensorFlow, ids outside [0, numSegments) are dropped.
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
