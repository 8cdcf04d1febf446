// Writes the README's pictures: docs/<pattern>.svg (block grid, n = 1024, block 32) and docs/mask-*.svg
// (element masks, n = 64). Run: pnpm --filter @gptlab/sparse-attention pictures
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { compileLayout, parsePattern, renderLayoutASCII, renderLayoutSVG, renderMaskSVG } from '../src';

// pnpm runs package scripts in the package folder.
const dir = path.resolve(process.cwd(), 'docs');
mkdirSync(dir, { recursive: true });
const file = (spec: string) => spec.replace(/:/g, '-');
for (const spec of ['dense', 'local:256', 'strided:128', 'fixed:128:32', 'bigbird:96:32:1:0']) {
  const layout = compileLayout(parsePattern(spec), 1024, 32);
  writeFileSync(path.join(dir, `${file(spec)}.svg`), renderLayoutSVG(layout, { cellSize: 10 }));
  process.stdout.write(renderLayoutASCII(layout) + '\n');
}
for (const spec of ['local:12', 'strided:8', 'fixed:8:2', 'bigbird:8:4:1:0']) {
  writeFileSync(path.join(dir, `mask-${file(spec)}.svg`), renderMaskSVG(parsePattern(spec), 64, { cellSize: 5, blockSize: 8 }));
}
process.stdout.write(`wrote ${dir}\n`);
