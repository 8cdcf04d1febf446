// The browser platform of backend.ts: webgpu → webgl → wasm → cpu, whichever initialises first. webgl and
// cpu come with @tensorflow/tfjs; wasm with @tensorflow/tfjs-backend-wasm (its .wasm files are fetched from
// InitOptions.wasmPaths); webgpu is tried when the page imported @tensorflow/tfjs-backend-webgpu. No native
// kernels here. Installed by the browser entry (browser.ts).
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from './tf';
import { loadCpu, loadWasm, setBackendPlatform, type BackendName } from './backend';

/** Browsers' backends in order of preference. */
export const BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

async function loadRegistered(name: BackendName): Promise<void> {
  if (!tf.findBackendFactory(name)) {
    throw new Error(`not registered (import '@tensorflow/tfjs-backend-${name}' before initBackend)`);
  }
  // setBackend answers false (and warns) when the backend's initialisation fails, e.g. no GPU adapter.
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend did not initialise`);
}

/** Makes initBackend choose among the browser backends (called by the entry point). */
export function installBrowserBackends(): void {
  setBackendPlatform({
    order: BACKENDS,
    load: async (name, options) => {
      if (name === 'cpu') return loadCpu();
      if (name === 'wasm') {
        if (options.wasmPaths) setWasmPaths(options.wasmPaths);
        return loadWasm();
      }
      if (name === 'tensorflow') throw new Error('tensorflow (tfjs-node) runs only in Node');
      return loadRegistered(name);
    },
    loadNative: async () => ({ active: false, detail: 'not in browsers', threads: 0 }),
    threads: () => 1,
    log: (line) => console.info(line),
  });
}
