// The Node platform of backend.ts: tensorflow (tfjs-node, native libtensorflow) when it loads, else wasm
// (SIMD, .wasm read from the package's dist folder), else cpu; plus the optional @gptlab/tensor-native
// kernels. Installed by the Node entry (index.ts); never part of a browser bundle.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from './tf';
import { loadCpu, loadWasm, setBackendPlatform, type BackendName } from './backend';
import { envVar } from './env';
import type { NativeModule, NativeStatus } from './native';

const req = createRequire(import.meta.url);

/** Node's backends in order of preference. */
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

async function loadTensorflow(): Promise<void> {
  // tfjs-node registers the 'tensorflow' backend on import; it throws when libtensorflow is missing.
  req('@tensorflow/tfjs-node');
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but the tensorflow backend did not initialise');
}

async function loadNodeWasm(): Promise<void> {
  const wasm = req('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are read from the package's dist folder.
  const dir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(dir + path.sep);
  await loadWasm();
}

/** Registers @gptlab/tensor-native's kernels when that package is installed and built (GPTLAB_NATIVE=0: off). */
async function loadNative(backend: string): Promise<NativeStatus> {
  if (envVar('GPTLAB_NATIVE') === '0') return { active: false, detail: 'GPTLAB_NATIVE=0', threads: 0 };
  let mod: NativeModule;
  try {
    mod = req('@gptlab/tensor-native') as NativeModule;
  } catch {
    return { active: false, detail: 'not installed', threads: 0 };
  }
  if (typeof mod.register !== 'function') return { active: false, detail: 'no register()', threads: 0 };
  try {
    const r = mod.register(tf, backend);
    return { active: true, detail: r.detail, threads: r.threads };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { active: false, detail: msg.split('\n')[0]!.slice(0, 200), threads: 0 };
  }
}

const loaders: Partial<Record<BackendName, () => Promise<void>>> = { tensorflow: loadTensorflow, wasm: loadNodeWasm, cpu: loadCpu };

/** Makes initBackend choose among the Node backends (called by the entry point). */
export function installNodeBackends(): void {
  setBackendPlatform({
    order: BACKENDS,
    load: (name) => {
      const load = loaders[name];
      if (!load) throw new Error(`${name} is a browser backend`);
      return load();
    },
    loadNative,
    threads: (name, native) => {
      if (native.active) return native.threads;
      return name === 'tensorflow' ? os.cpus().length : 1;
    },
    log: (line) => process.stderr.write(line + '\n'),
  });
}
