// Backend choice at run time, the same on every platform: the first backend of the platform's order that
// loads (Node: tensorflow → wasm → cpu; browsers: webgpu → webgl → wasm → cpu), unless one is forced
// (options.backend, or GPTLAB_BACKEND where there is an environment). How each backend loads is the
// platform's business (backend-node.ts, backend-browser.ts); the entry point installs one.
import { tf } from './tf';
import { envVar } from './env';
import { registerWasmFastKernels, registerWasmKernels, wasmFastKernelsActive } from './kernels/wasm-kernels';
import type { NativeStatus } from './native';
import { setFastMatMul } from './ops/matmul';

export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend in use. */
  backend: BackendName;
  /** Why the backends before it were not used (empty when the first choice loaded). */
  skipped: { backend: BackendName; reason: string }[];
  /** The optional native kernels of @gptlab/tensor-native. */
  native: NativeStatus;
  /** Threads the backend computes with. */
  threads: number;
}

export interface InitOptions {
  /** Force a backend (overrides GPTLAB_BACKEND). */
  backend?: BackendName;
  /** Print "backend: …" (stderr in Node, the console in browsers; default false; commands pass true). */
  log?: boolean;
  /** Browsers: the URL prefix the wasm backend fetches its .wasm files from (ends with '/'). */
  wasmPaths?: string;
}

/** What a platform supplies: its backends in order of preference and how to load each. */
export interface BackendPlatform {
  order: readonly BackendName[];
  /** Makes `name` the active tfjs backend, or throws saying why it cannot. */
  load(name: BackendName, options: InitOptions): Promise<void>;
  /** Registers the optional native kernels for the active backend. */
  loadNative(name: BackendName): Promise<NativeStatus>;
  threads(name: BackendName, native: NativeStatus): number;
  log(line: string): void;
}

let platform: BackendPlatform | null = null;
let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

export function setBackendPlatform(p: BackendPlatform): void {
  platform = p;
}

function installed(): BackendPlatform {
  if (!platform) throw new Error('@gptlab/tensor: no backend platform installed (import the package entry, not its files)');
  return platform;
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}

function parseForced(value: string | undefined, order: readonly BackendName[]): BackendName | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (!(order as readonly string[]).includes(value)) {
    throw new Error(`GPTLAB_BACKEND=${value} is not a backend: use one of ${order.join(', ')} (or leave it unset)`);
  }
  return value as BackendName;
}

/**
 * Chooses and initialises the backend once per process (or page); later calls return the same answer.
 * Order: the platform's, unless `options.backend` or GPTLAB_BACKEND forces one.
 */
export async function initBackend(options: InitOptions = {}): Promise<BackendName> {
  const info = await initBackendInfo(options);
  return info.backend;
}

export async function initBackendInfo(options: InitOptions = {}): Promise<BackendInfo> {
  const p = installed();
  const forced = options.backend ?? parseForced(envVar('GPTLAB_BACKEND'), p.order);
  if (current && (!forced || forced === current.backend)) {
    if (tf.getBackend() !== current.backend) await tf.setBackend(current.backend);
    return current;
  }
  if (pending && !forced) return pending;
  pending = choose(p, forced, options).then((info) => {
    current = info;
    if (options.log) p.log(describeBackend(info));
    return info;
  });
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

async function choose(p: BackendPlatform, forced: BackendName | undefined, options: InitOptions): Promise<BackendInfo> {
  const skipped: BackendInfo['skipped'] = [];
  for (const name of forced ? [forced] : p.order) {
    try {
      await p.load(name, options);
      const native = await p.loadNative(name);
      setFastMatMul(native.active || (name === 'wasm' && wasmFastKernelsActive()));
      return { backend: name, skipped, native, threads: p.threads(name, native) };
    } catch (e) {
      if (forced) {
        throw new Error(`GPTLAB_BACKEND=${forced}: the ${forced} backend could not be loaded: ${errorText(e)}`);
      }
      skipped.push({ backend: name, reason: errorText(e) });
    }
  }
  throw new Error('no TensorFlow.js backend could be loaded: ' + skipped.map((s) => `${s.backend}: ${s.reason}`).join('; '));
}

/** The backend chosen by initBackend, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** One line for logs: "backend: wasm (simd, 1 thread) · native kernels: off (…)". */
export function describeBackend(info: BackendInfo | null = current): string {
  if (!info) return 'backend: not initialised';
  const simd = info.backend === 'wasm' && tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd, ' : '';
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const native = info.native.active ? `on (${info.native.detail})` : `off (${info.native.detail})`;
  return `backend: ${info.backend} (${simd}${threads}) · native kernels: ${native}`;
}

/** Initialises the wasm backend (already imported, its .wasm paths set) with @gptlab/tensor's kernels. */
export async function loadWasm(): Promise<void> {
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  registerWasmFastKernels();
}

/** Initialises the cpu backend, the last fallback of every platform. */
export async function loadCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  // tfjs-backend-cpu prints an install hint for tfjs-node on first use; commands report the backend
  // themselves (describeBackend), so the hint is switched off.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}
