// Builds the "run in this browser" bundle: src/browser/gptlab-browser.ts and gptlab's packages through their
// `browser` export conditions, for platform=browser, into OUT_DIR/gptlab-browser.js (one ES module). A Node
// built-in reached from the bundle is a build error, so the bundle cannot silently depend on Node.
// Usage: node scripts/browser-bundle.mjs [OUT_DIR]   (default dist/browser; the playground build runs it)
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function buildBrowserBundle(outDir = path.join(here, '..', 'dist', 'browser')) {
  const outfile = path.join(outDir, 'gptlab-browser.js');
  await build({
    entryPoints: [path.join(here, '..', 'src', 'browser', 'gptlab-browser.ts')],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildBrowserBundle(process.argv[2]);
  console.log(`browser bundle: ${path.relative(process.cwd(), out)}`);
}
