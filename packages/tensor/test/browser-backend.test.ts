// The browser entry's backend platform, exercised in Node: webgpu (not registered here) and webgl (no WebGL
// context) are skipped with their reasons, then wasm loads from InitOptions.wasmPaths; tfjs-node is never tried.
import * as path from 'node:path';
import { BACKENDS, describeBackend, initBackendInfo, tf } from '../src/browser';

it('tries webgpu → webgl → wasm → cpu and reports why the first ones were skipped', async () => {
  expect(BACKENDS).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  const forced = process.env.GPTLAB_BACKEND;
  delete process.env.GPTLAB_BACKEND; // the automatic order is under test
  try {
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
    const info = await initBackendInfo({ wasmPaths: wasmDir });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped.map((s) => s.backend)).toEqual(['webgpu', 'webgl']);
    expect(info.skipped[0]!.reason).toMatch(/not registered \(import '@tensorflow\/tfjs-backend-webgpu'/);
    expect(info.native).toEqual({ active: false, detail: 'not in browsers', threads: 0 });
    expect(describeBackend(info)).toMatch(/^backend: wasm \(/);
    expect(tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0])).toBe(5);
  } finally {
    if (forced !== undefined) process.env.GPTLAB_BACKEND = forced;
  }
});

it('refuses the Node-only tensorflow backend', async () => {
  await expect(initBackendInfo({ backend: 'tensorflow' })).rejects.toThrow(
    'GPTLAB_BACKEND=tensorflow: the tensorflow backend could not be loaded: tensorflow (tfjs-node) runs only in Node',
  );
});
