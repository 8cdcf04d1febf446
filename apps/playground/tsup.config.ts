import { cpSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import { library } from '../../tooling/tsup/library';

export default defineConfig([
  // The library build every package shares; the UI is plain static files, served from dist/ui.
  library({
    onSuccess: async () => {
      cpSync('src/ui', 'dist/ui', { recursive: true });
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
