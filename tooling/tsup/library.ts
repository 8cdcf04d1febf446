// The build every gptlab library shares: ESM + CJS + .d.ts for Node 20, with tsup's shims so that source
// written with __dirname/__filename works in the ESM output too. A package's tsup.config.ts is one line.
import { defineConfig, type Options } from 'tsup';

export function library(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    shims: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...overrides,
  });
}
