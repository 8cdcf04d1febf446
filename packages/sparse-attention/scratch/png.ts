import { writeFileSync } from 'node:fs';
import { compileLayout, parsePattern, renderLayoutPNG } from '../src';
writeFileSync('/tmp/bb.png', renderLayoutPNG(compileLayout(parsePattern('bigbird:96:32:1:0'), 1024, 32), { cellSize: 8 }));
