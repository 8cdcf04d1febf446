import { inflateSync } from 'node:zlib';
import {
  compileLayout,
  parsePattern,
  renderLayoutASCII,
  renderLayoutSVG,
  renderMaskSVG,
  renderMaskASCII,
  renderLayoutPNG,
} from './imports';

const local = compileLayout(parsePattern('local:8'), 24, 4); // 6 blocks; each keeps itself and the 2 before

it('ASCII shows kept blocks, skipped causal blocks and nothing above the diagonal', () => {
  expect(renderLayoutASCII(local, { caption: false })).toBe(['█', '██', '███', '·███', '··███', '···███', ''].join('\n'));
  expect(renderLayoutASCII(local).split('\n')[0]).toBe('local:8 · n=24 · block 4 · 15/21 blocks (density 71.4%)');
  // folding: 6 blocks into 3 characters per side
  expect(renderLayoutASCII(local, { maxWidth: 3, caption: false })).toBe(['█', '▒█', '·▒█', ''].join('\n'));
});

it('mask ASCII is element-level', () => {
  // strided:2, row 4: 4 − j < 2 → 3, 4; (4 − j) even → 0, 2, 4
  expect(renderMaskASCII(parsePattern('strided:2'), 5)).toBe(['█', '██', '███', '·███', '█·███', ''].join('\n'));
});

it('SVG draws one rect per run of kept blocks', () => {
  const svg = renderLayoutSVG(local, { cellSize: 10 });
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
  const kept = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="10"\/>/g)].map((m) => m.slice(1, 4).map(Number));
  expect(kept).toEqual([
    [0, 0, 10],
    [0, 10, 20],
    [0, 20, 30],
    [10, 30, 30],
    [20, 40, 30],
    [30, 50, 30],
  ]);
  expect(svg).toContain('local:8 · n=24');
  const mask = renderMaskSVG(parsePattern('fixed:4:1'), 8, { cellSize: 4, title: '' });
  expect(mask).not.toContain('<text');
  // row 5: own block 4..5 and summary 3 → runs [3, 6)
  expect(mask).toContain('<rect x="12" y="20" width="12" height="4"/>');
});

it('PNG is a valid grayscale image of the grid', () => {
  const png = renderLayoutPNG(local, { cellSize: 2 });
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset);
  expect(view.getUint32(16)).toBe(12); // width
  expect(view.getUint32(20)).toBe(12); // height
  const idatLen = view.getUint32(33);
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  const px = (x: number, y: number) => raw[y * 13 + 1 + x]!;
  expect(px(0, 0)).toBe(30); // kept
  expect(px(1, 0 + 2 * 0 + 0)).toBe(30);
  expect(px(2, 0)).toBe(255); // future
  expect(px(0, 6)).toBe(225); // block (3, 0): skipped
  expect(px(6, 6)).toBe(30); // block (3, 3): kept
});
