// @gptlab/tensor-native: SIMD, multi-threaded kernels for TensorFlow.js's wasm and cpu backends, through an
// N-API addon. @gptlab/tensor calls register() at initBackend(); GPTLAB_NATIVE=0 (handled there) turns it off.
import { nativeAddon, addonStatus, ADDON_PATH, type NativeAddon, type AddonStatus } from './addon';
import type { KernelConfig, KernelFunc, MakeKernel } from './kernel-io';
import { REPLACEMENTS } from './replaced-kernels';
import { FUSED, FUSED_KERNELS } from './fused-kernels';
import { TRAIN, TRAIN_KERNELS } from './train-kernels';

export { addonStatus, nativeAddon, ADDON_PATH, FUSED_KERNELS, TRAIN_KERNELS };
export * from './decode';
export * from './decode-rows';
export type { NativeAddon, AddonStatus, KernelConfig, KernelFunc };

/** The part of a tfjs instance register() uses (pass `tf` from '@gptlab/tensor'). */
export interface TfjsLike {
  getKernel(kernelName: string, backendName: string): unknown;
  registerKernel(config: never): void;
  unregisterKernel(kernelName: string, backendName: string): void;
}

/** Backends the kernels are written for. */
export const SUPPORTED_BACKENDS = ['wasm', 'cpu'] as const;

/** tfjs kernels replaced by native ones (the originals stay as fallback for unsupported dtypes/layouts). */
export const REPLACED_KERNELS = Object.keys(REPLACEMENTS) as readonly (keyof typeof REPLACEMENTS)[];

/** Every kernel register() installs: the replacements, then the fused kernels @gptlab/tensor's ops call. */
const KERNELS: [string, MakeKernel][] = [...Object.entries(REPLACEMENTS), ...Object.entries(FUSED), ...Object.entries(TRAIN)];

export interface RegisterResult {
  /** e.g. "avx512, 2 threads". */
  detail: string;
  threads: number;
  isa: string;
  /** Names of the kernels now native on this backend. */
  kernels: string[];
}

const NATIVE_MARK = Symbol.for('gptlab.native.kernel');

interface Registration {
  originals: Map<string, KernelConfig | undefined>;
  result: RegisterResult;
}

const registrations = new WeakMap<object, Map<string, Registration>>();

function getKernelConfig(tfjs: TfjsLike, name: string, backend: string): KernelConfig | undefined {
  return (tfjs.getKernel(name, backend) as KernelConfig | undefined) ?? undefined;
}

function describe(addon: NativeAddon): { detail: string; threads: number; isa: string } {
  const info = addon.info();
  const threads = info.threads;
  return { detail: `${info.isa}, ${threads} thread${threads === 1 ? '' : 's'}`, threads, isa: info.isa };
}

/**
 * Registers the native kernels into `tfjs` for `backend` ('wasm' or 'cpu') and describes them. Throws when
 * the addon is not built, or on a backend that has its own native kernels ('tensorflow') or is unknown.
 * Idempotent per (tfjs instance, backend).
 */
export function register(tfjs: TfjsLike, backend: string): RegisterResult {
  if (backend === 'tensorflow') throw new Error('not needed: the tensorflow backend runs its own native kernels');
  if (!(SUPPORTED_BACKENDS as readonly string[]).includes(backend)) {
    throw new Error(`no native kernels for backend '${backend}' (supported: ${SUPPORTED_BACKENDS.join(', ')})`);
  }
  const addon = nativeAddon();
  let perTf = registrations.get(tfjs);
  if (!perTf) {
    perTf = new Map();
    registrations.set(tfjs, perTf);
  }
  const existing = perTf.get(backend);
  if (existing) return { ...existing.result, ...describe(addon) };

  const originals = new Map<string, KernelConfig | undefined>();
  const kernels: string[] = [];
  for (const [name, make] of KERNELS) {
    const original = getKernelConfig(tfjs, name, backend);
    if (original && (original.kernelFunc as unknown as Record<symbol, unknown>)[NATIVE_MARK]) continue;
    originals.set(name, original);
    const kernelFunc = make(addon, backend, original ? original.kernelFunc : null);
    (kernelFunc as unknown as Record<symbol, unknown>)[NATIVE_MARK] = true;
    if (original) tfjs.unregisterKernel(name, backend);
    tfjs.registerKernel({ kernelName: name, backendName: backend, kernelFunc } as never);
    kernels.push(name);
  }
  const result: RegisterResult = { ...describe(addon), kernels };
  perTf.set(backend, { originals, result });
  return result;
}

/** Restores the kernels register() replaced (tests compare both); no-op when nothing is registered. */
export function unregister(tfjs: TfjsLike, backend: string): void {
  const reg = registrations.get(tfjs)?.get(backend);
  if (!reg) return;
  for (const [name, original] of reg.originals) {
    tfjs.unregisterKernel(name, backend);
    if (original) tfjs.registerKernel(original as never);
  }
  registrations.get(tfjs)!.delete(backend);
}

/** Whether register() is in effect for this tfjs instance and backend. */
export function isRegistered(tfjs: TfjsLike, backend: string): boolean {
  return registrations.get(tfjs)?.has(backend) ?? false;
}

/** Instruction set and thread count of the addon (throws when not built). */
export function nativeInfo(): { isa: string; isas: string[]; threads: number } {
  return nativeAddon().info();
}

/** Forces an instruction set ('avx512', 'avx2+fma', 'scalar'); false when this CPU lacks it. */
export function setIsa(name: string): boolean {
  return nativeAddon().setIsa(name);
}

/** Resizes the thread pool (default: GPTLAB_THREADS, else the cores this process may use). */
export function setThreads(n: number): number {
  return nativeAddon().setThreads(n);
}

/**
 * Plain typed-array SGEMM: C = op(A)·op(B) for row-major [M,K]·[K,N] (transposed operands stored [K,M] /
 * [N,K]), batched over `batch` matrices (stride 0 broadcasts one). Returns C (allocated when not given).
 */
export function sgemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  options: {
    transA?: boolean;
    transB?: boolean;
    batch?: number;
    strideA?: number;
    strideB?: number;
    c?: Float32Array;
    accumulate?: boolean;
  } = {},
): Float32Array {
  const batch = options.batch ?? 1;
  const c = options.c ?? new Float32Array(batch * m * n);
  nativeAddon().gemm(
    a,
    b,
    c,
    batch,
    m,
    n,
    k,
    !!options.transA,
    !!options.transB,
    options.strideA ?? m * k,
    options.strideB ?? k * n,
    !!options.accumulate,
  );
  return c;
}
