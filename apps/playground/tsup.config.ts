import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    shims: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    // The UI is plain static files, served from dist/ui.
    onSuccess: async () => {
      cpSync('src/ui', 'dist/ui', { recursive: true });
    },
  },
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
