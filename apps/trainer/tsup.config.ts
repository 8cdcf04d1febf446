import { defineConfig } from 'tsup';

// index: the library API; cli: the `gptlab-train` bin (the shebang comes from src/cli.ts and tsup marks
// the file executable); worker: the gradient worker thread script, loaded by path next to the bundle.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts', 'src/worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  shims: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
