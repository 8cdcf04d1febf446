// Test helpers: the addon's status, and @gptlab/tensor loaded from its built dist (it cannot be a dependency:
// @gptlab/tensor already depends on this package). Native registration is driven by the tests themselves:
// GPTLAB_NATIVE=0 keeps initBackend from registering, so each test can compare native and original kernels.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonStatus } from '../src';

process.env.GPTLAB_NATIVE = '0';

const req = createRequire(__filename);
const TENSOR_DIST = path.resolve(__dirname, '../../tensor/dist/index.cjs');

export type TensorModule = typeof import('../../tensor/src/index');

export const addonBuilt = addonStatus().built;

let tensorModule: TensorModule | null | undefined;
export function tensor(): TensorModule | null {
  if (tensorModule === undefined) tensorModule = fs.existsSync(TENSOR_DIST) ? (req(TENSOR_DIST) as TensorModule) : null;
  return tensorModule;
}

/** Why a suite is skipped, or null when it can run. */
export function skipReason(needTensor: boolean): string | null {
  if (!addonBuilt) return `native addon not built (${addonStatus().error}); run \`pnpm --filter @gptlab/tensor-native build\``;
  if (needTensor && !tensor()) return `@gptlab/tensor is not built (${TENSOR_DIST}); run \`pnpm --filter @gptlab/tensor build\``;
  return null;
}

/** describe, or describe.skip with the reason printed once. */
export function describeIf(needTensor: boolean): jest.Describe {
  const reason = skipReason(needTensor);
  if (reason) {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED: ${reason}`);
    return describe.skip;
  }
  return describe;
}

/** Deterministic pseudo-random floats in [-scale, scale] (xorshift32). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Float64 reference of a batched product with the same layout rules as the kernels. */
export function refGemm(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
  strideA: number,
  strideB: number,
): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[p * strideA + q * m + i]! : a[p * strideA + i * k + q]!;
          const bv = tb ? b[p * strideB + j * k + q]! : b[p * strideB + q * n + j]!;
          s += av * bv;
        }
        c[p * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

/** max |a − b| / (1 + |b|): relative error for large entries, absolute for small ones. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '../../tensor/src/index';
