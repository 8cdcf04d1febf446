// Pictures of patterns: the familiar grid of kept blocks (SVG, PNG, ASCII) and the element mask (SVG, ASCII).
// Rows are query blocks (top = first), columns key blocks (left = first).
import { DEFAULT_BLOCK_SIZE, makePredicate, patternToString, type AttentionPattern } from './patterns';
import type { BlockLayout } from './layout';

export interface RenderOptions {
  /** Pixel size of one block (layout) or one position (mask); default fits the picture into ~512 px. */
  cellSize?: number;
  /** Caption above the grid; default describes the pattern, length, block size and density. Empty: none. */
  title?: string;
  /** Colour of kept cells (default #1f4e9c). */
  keptColor?: string;
  /** Colour of causal cells that are skipped (default #e8edf5). */
  skippedColor?: string;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function layoutCaption(layout: BlockLayout): string {
  return `${patternToString(layout.pattern)} · n=${layout.seqLen} · block ${layout.blockSize} · ${layout.keptBlocks}/${(layout.numBlocks * (layout.numBlocks + 1)) / 2} blocks (density ${(layout.density * 100).toFixed(1)}%)`;
}

/** SVG from a boolean grid given as runs: for each row, [start, endExclusive) runs of kept cells. */
function gridSVG(n: number, keptRuns: (row: number) => [number, number][], opts: RenderOptions, caption: string): string {
  const cell = opts.cellSize ?? Math.max(1, Math.floor(512 / n));
  const kept = opts.keptColor ?? '#1f4e9c';
  const skipped = opts.skippedColor ?? '#e8edf5';
  const title = opts.title ?? caption;
  const top = title ? 22 : 0;
  const size = n * cell;
  const w = Math.max(size, title ? Math.min(8 * title.length, 900) : 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w + 2}" height="${size + top + 2}" viewBox="-1 ${-top - 1} ${w + 2} ${size + top + 2}">`,
  );
  parts.push(`<rect x="-1" y="${-top - 1}" width="${w + 2}" height="${size + top + 2}" fill="#ffffff"/>`);
  if (title) parts.push(`<text x="0" y="-7" font-family="monospace" font-size="12" fill="#222">${escapeXml(title)}</text>`);
  // The causal triangle as one polygon (staircase), then kept runs on top.
  const stair: string[] = ['0,0'];
  for (let r = 0; r < n; r++) stair.push(`${(r + 1) * cell},${r * cell}`, `${(r + 1) * cell},${(r + 1) * cell}`);
  stair.push(`0,${size}`);
  parts.push(`<polygon points="${stair.join(' ')}" fill="${skipped}"/>`);
  parts.push(`<g fill="${kept}">`);
  for (let r = 0; r < n; r++) {
    for (const [a, b] of keptRuns(r)) parts.push(`<rect x="${a * cell}" y="${r * cell}" width="${(b - a) * cell}" height="${cell}"/>`);
  }
  parts.push('</g>');
  if (cell >= 6 && n <= 256) {
    const lines: string[] = [];
    for (let i = 0; i <= n; i++) lines.push(`M${i * cell} 0V${size}M0 ${i * cell}H${size}`);
    parts.push(`<path d="${lines.join('')}" stroke="#ffffff" stroke-width="${cell >= 12 ? 1 : 0.5}" fill="none"/>`);
  }
  parts.push(`<rect x="0" y="0" width="${size}" height="${size}" fill="none" stroke="#888" stroke-width="1"/>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function runsOf(flags: (j: number) => boolean, n: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let j = 0; j <= n; j++) {
    const on = j < n && flags(j);
    if (on && start < 0) start = j;
    if (!on && start >= 0) {
      runs.push([start, j]);
      start = -1;
    }
  }
  return runs;
}

function rowRuns(row: Int32Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let s = 0; s < row.length; ) {
    let e = s;
    while (e + 1 < row.length && row[e + 1] === row[e]! + 1) e++;
    runs.push([row[s]!, row[e]! + 1]);
    s = e + 1;
  }
  return runs;
}

/** SVG of the block grid: kept blocks dark, skipped causal blocks light, the future blank. */
export function renderLayoutSVG(layout: BlockLayout, opts: RenderOptions = {}): string {
  return gridSVG(layout.numBlocks, (r) => rowRuns(layout.rows[r]!), opts, layoutCaption(layout));
}

/** SVG of the element mask for T positions (query rows × key columns). */
export function renderMaskSVG(p: AttentionPattern, T: number, opts: RenderOptions & { blockSize?: number } = {}): string {
  if (!Number.isInteger(T) || T < 1) throw new Error(`renderMaskSVG: T must be an integer ≥ 1, got ${T}`);
  const f = makePredicate(p, opts.blockSize ?? DEFAULT_BLOCK_SIZE);
  return gridSVG(T, (i) => runsOf((j) => j <= i && f(i, j), T), opts, `${patternToString(p)} · element mask, n=${T}`);
}

/**
 * Terminal picture of the block grid, one character per block ('█' kept, '·' skipped, ' ' future). Grids wider
 * than `maxWidth` (default 96) fold f×f blocks into one character: '█' all kept, '▒' some, '·' none.
 */
export function renderLayoutASCII(layout: BlockLayout, opts: { maxWidth?: number; caption?: boolean } = {}): string {
  const nb = layout.numBlocks;
  const f = Math.max(1, Math.ceil(nb / (opts.maxWidth ?? 96)));
  const n = Math.ceil(nb / f);
  const kept = layout.rows.map((row) => {
    const s = new Uint8Array(nb);
    for (const kb of row) s[kb] = 1;
    return s;
  });
  const lines: string[] = [];
  if (opts.caption !== false) lines.push(layoutCaption(layout) + (f > 1 ? ` · 1 char = ${f}×${f} blocks` : ''));
  for (let R = 0; R < n; R++) {
    let line = '';
    for (let C = 0; C <= R; C++) {
      let on = 0;
      let causal = 0;
      for (let r = R * f; r < Math.min((R + 1) * f, nb); r++) {
        for (let c = C * f; c < Math.min((C + 1) * f, nb); c++) {
          if (c > r) continue;
          causal++;
          on += kept[r]![c]!;
        }
      }
      line += on === 0 ? '·' : on === causal ? '█' : '▒';
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/** Terminal picture of the element mask for small T ('█' attend, '·' causal but skipped). */
export function renderMaskASCII(p: AttentionPattern, T: number, blockSize = DEFAULT_BLOCK_SIZE): string {
  const f = makePredicate(p, blockSize);
  const lines: string[] = [];
  for (let i = 0; i < T; i++) {
    let line = '';
    for (let j = 0; j <= i; j++) line += f(i, j) ? '█' : '·';
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
