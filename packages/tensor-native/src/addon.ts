// Loads the N-API addon built by scripts/build-native.cjs (build/Release/gptlab_native.node).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttentionAddon } from './attention-kernels';

/** The raw addon. Arrays are Float32Array views (for wasm, views into the WebAssembly heap). */
export interface NativeAddon extends AttentionAddon {
  info(): { isa: string; isas: string[]; threads: number };
  setIsa(name: string): boolean;
  setThreads(n: number): number;
  /** C[b] = (acc ? C[b] : 0) + op(A[b])·op(B[b]); A[b] at b·strideA (0 broadcasts), C dense [batch, M, N]. */
  gemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
    accumulate: boolean,
  ): void;
  /** c[r, :] += bias; then activation in place (0 linear, 1 relu). */
  biasAct(c: Float32Array, rows: number, cols: number, bias: Float32Array | null, activation: number): void;
  /** Row softmax; with causalT > 0, row r keeps columns j ≤ (r mod causalT) + offset, others get 0. */
  softmax(x: Float32Array, y: Float32Array, rows: number, cols: number, causalT: number, causalOffset: number): void;
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    xhat: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormBackward(
    dy: Float32Array,
    xhat: Float32Array,
    rstd: Float32Array,
    gamma: Float32Array,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
    rows: number,
    cols: number,
  ): void;
  gelu(x: Float32Array, y: Float32Array, n: number): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /** out[a, b] = Σ_r x[a, r, b] for x viewed as [A, R, B]. */
  sumMiddle(x: Float32Array, out: Float32Array, a: number, r: number, b: number): void;
  /** Mean softmax cross-entropy over rows whose target ≠ ignoreIndex; grad receives d(loss)/d(logits). */
  crossEntropy(logits: Float32Array, targets: Int32Array, rows: number, cols: number, ignoreIndex: number, grad: Float32Array): number;
}

export interface AddonStatus {
  built: boolean;
  /** Where the addon is (or would be). */
  path: string;
  /** Why it could not be loaded. */
  error?: string;
}

const req = createRequire(__filename);

/** build/Release/gptlab_native.node next to this package's dist/ (or src/ when run from source). */
export const ADDON_PATH = path.resolve(__dirname, '..', 'build', 'Release', 'gptlab_native.node');

let cached: { addon: NativeAddon | null; status: AddonStatus } | null = null;

function load(): { addon: NativeAddon | null; status: AddonStatus } {
  if (cached) return cached;
  if (!fs.existsSync(ADDON_PATH)) {
    cached = {
      addon: null,
      status: {
        built: false,
        path: ADDON_PATH,
        error: 'native addon not built (run `pnpm --filter @gptlab/tensor-native build`; needs a C++17 compiler and node-gyp)',
      },
    };
    return cached;
  }
  try {
    const addon = req(ADDON_PATH) as NativeAddon;
    // Each JS thread has its own pool (csrc/pool.cc). The C++ side reads the process environment; a
    // worker_thread's own `env` (GPTLAB_THREADS=1 from the data-parallel trainer) only reaches it from here.
    const threads = Number(process.env.GPTLAB_THREADS);
    if (Number.isInteger(threads) && threads > 0) addon.setThreads(Math.min(threads, 256));
    cached = { addon, status: { built: true, path: ADDON_PATH } };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    cached = { addon: null, status: { built: false, path: ADDON_PATH, error: `native addon failed to load: ${msg.split('\n')[0]}` } };
  }
  return cached;
}

/** Whether the addon is built and loads, and why not. */
export function addonStatus(): AddonStatus {
  return load().status;
}

/** The addon; throws "native addon not built (…)" when it is missing. */
export function nativeAddon(): NativeAddon {
  const { addon, status } = load();
  if (!addon) throw new Error(status.error);
  return addon;
}
