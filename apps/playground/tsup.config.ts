import { cpSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import { library } from '../../tooling/tsup/library';
// @ts-expect-error: a plain ES module script without type declarations
import { buildBrowserBundle } from './scripts/browser-bundle.mjs';

export default defineConfig([
  // The library build every package shares; the UI is plain static files, served from dist/ui, and the
  // "run in this browser" bundle is dist/browser/gptlab-browser.js (esbuild, platform=browser).
  library({
    onSuccess: async () => {
      cpSync('src/ui', 'dist/ui', { recursive: true });
      await buildBrowserBundle();
    },
  }) as Options,
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    shims: true,
    clean: false,
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
