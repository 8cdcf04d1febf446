import { initBackend, initBackendInfo, describeBackend, tf } from '../src';

it('chooses a backend (tensorflow → wasm → cpu), reports it, and never picks cpu when wasm loads', async () => {
  const name = await initBackend();
  expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
  expect(tf.getBackend()).toBe(name);
  const info = await initBackendInfo();
  expect(describeBackend(info)).toMatch(new RegExp(`^backend: ${name}`));
  if (!process.env.GPTLAB_BACKEND && name === 'cpu') {
    // cpu only when both faster backends failed, and then the reasons are recorded.
    expect(info.skipped.map((s) => s.backend)).toEqual(['tensorflow', 'wasm']);
  }
  if (!process.env.GPTLAB_BACKEND && name === 'wasm') {
    expect(info.skipped[0]!.backend).toBe('tensorflow');
  }
});

it('forcing a backend that cannot load fails clearly', async () => {
  const saved = process.env.GPTLAB_BACKEND;
  process.env.GPTLAB_BACKEND = 'gpu9000';
  await expect(initBackend()).rejects.toThrow(/GPTLAB_BACKEND=gpu9000 is not a backend/);
  if (saved === undefined) delete process.env.GPTLAB_BACKEND;
  else process.env.GPTLAB_BACKEND = saved;
});

it('an explicit choice wins over the automatic one', async () => {
  expect(await initBackend({ backend: 'cpu' })).toBe('cpu');
  expect(tf.getBackend()).toBe('cpu');
});
