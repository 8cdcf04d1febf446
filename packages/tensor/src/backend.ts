// Backend choice at run time: tensorflow (tfjs-node, native libtensorflow) when it loads, else wasm (SIMD),
// else cpu. GPTLAB_BACKEND forces one and fails clearly when it cannot load.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from './tf';
import { registerWasmFastKernels, registerWasmKernels, wasmFastKernelsActive } from './kernels/wasm-kernels';
import { loadNative, type NativeStatus } from './native';
import { setFastMatMul } from './ops/matmul';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

const req = createRequire(__filename);

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

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}

async function tryTensorflow(): Promise<void> {
  // tfjs-node registers the 'tensorflow' backend on import; it throws when libtensorflow is missing.
  req('@tensorflow/tfjs-node');
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but the tensorflow backend did not initialise');
}

async function tryWasm(): Promise<void> {
  const wasm = req('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package's dist folder.
  const dir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(dir + path.sep);
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  registerWasmFastKernels();
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  // tfjs-backend-cpu prints an install hint for tfjs-node on first use; commands report the backend
  // themselves (describeBackend), so the hint is switched off.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

const loaders: Record<BackendName, () => Promise<void>> = { tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu };

export interface InitOptions {
  /** Force a backend (overrides GPTLAB_BACKEND). */
  backend?: BackendName;
  /** Print "backend: …" to stderr (default false; commands pass true). */
  log?: boolean;
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new Error(`GPTLAB_BACKEND=${value} is not a backend: use one of ${BACKENDS.join(', ')} (or leave it unset)`);
  }
  return value as BackendName;
}

/**
 * Chooses and initialises the backend once per process; later calls return the same answer.
 * Order: tensorflow → wasm → cpu, unless `options.backend` or GPTLAB_BACKEND forces one.
 */
export async function initBackend(options: InitOptions = {}): Promise<BackendName> {
  const info = await initBackendInfo(options);
  return info.backend;
}

export async function initBackendInfo(options: InitOptions = {}): Promise<BackendInfo> {
  const forced = options.backend ?? parseForced(process.env.GPTLAB_BACKEND);
  if (current && (!forced || forced === current.backend)) {
    if (tf.getBackend() !== current.backend) await tf.setBackend(current.backend);
    return current;
  }
  if (pending && !forced) return pending;
  pending = choose(forced).then((info) => {
    current = info;
    if (options.log) process.stderr.write(describeBackend(info) + '\n');
    return info;
  });
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

async function choose(forced: BackendName | undefined): Promise<BackendInfo> {
  const skipped: BackendInfo['skipped'] = [];
  const order = forced ? [forced] : BACKENDS;
  for (const name of order) {
    try {
      await loaders[name]();
      const native = await loadNative(name);
      setFastMatMul(native.active || (name === 'wasm' && wasmFastKernelsActive()));
      const threads = name === 'wasm' && !native.active ? 1 : native.active ? native.threads : defaultThreads(name);
      return { backend: name, skipped, native, threads };
    } catch (e) {
      if (forced) {
        throw new Error(`GPTLAB_BACKEND=${forced}: the ${forced} backend could not be loaded: ${errorText(e)}`);
      }
      skipped.push({ backend: name, reason: errorText(e) });
    }
  }
  throw new Error('no TensorFlow.js backend could be loaded: ' + skipped.map((s) => `${s.backend}: ${s.reason}`).join('; '));
}

function defaultThreads(name: BackendName): number {
  if (name === 'tensorflow') return os.cpus().length;
  return 1;
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
