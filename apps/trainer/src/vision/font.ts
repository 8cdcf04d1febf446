// gptlab's own bitmap font: 5×7 glyphs for lower-case ASCII letters, digits and a little punctuation, one
// glyph per line as its seven rows top to bottom ('#' ink, '.' paper). The OCR data of `gptlab-train vision`
// is rendered with it, so the images need nothing downloaded and every character is known.
import type { GrayCanvas } from './canvas';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Columns from one glyph to the next at scale 1 (one column of spacing). */
export const GLYPH_PITCH = 6;

const TABLE: Record<string, string> = {
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# ####. #.... #....',
  q: '..... ..... .##.# #..## .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
};

/** Each glyph as rows of booleans (ink), parsed once. */
const GLYPHS = new Map<string, boolean[][]>(
  Object.entries(TABLE).map(([ch, rows]) => [ch, rows.split(' ').map((row) => Array.from(row, (c) => c === '#'))]),
);

/** Characters the font draws. */
export const FONT_CHARS: ReadonlySet<string> = new Set(GLYPHS.keys());

/** Can `text` be drawn with this font? */
export function drawable(text: string): boolean {
  return Array.from(text).every((c) => GLYPHS.has(c));
}

/** Pixel width and height of `text` at scale (sx, sy). */
export function textSize(text: string, sx = 1, sy = 1): { width: number; height: number } {
  return { width: text.length === 0 ? 0 : (text.length * GLYPH_PITCH - 1) * sx, height: GLYPH_HEIGHT * sy };
}

/** Draws `text` with its top-left corner at (x, y), each glyph pixel an sx × sy block of `ink`. */
export function drawText(canvas: GrayCanvas, text: string, x: number, y: number, ink: number, sx = 1, sy = 1): void {
  Array.from(text).forEach((ch, k) => {
    const glyph = GLYPHS.get(ch);
    if (!glyph) throw new Error(`font: no glyph for ${JSON.stringify(ch)} (the font draws ${[...FONT_CHARS].join('')})`);
    glyph.forEach((row, r) =>
      row.forEach((on, c) => {
        if (on) canvas.fillRect(x + (k * GLYPH_PITCH + c) * sx, y + r * sy, sx, sy, ink);
      }),
    );
  });
}
