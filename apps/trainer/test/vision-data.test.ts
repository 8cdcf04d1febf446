// The data `gptlab-train vision` renders: the shipped 5×7 font, words held out by word, scenes held out by
// scene with correct answers, and batches that score the answer (and end-of-text) only.
import { Rng } from '@gptlab/common';
import { BPETokenizer } from '@gptlab/tokenizer';
import { GrayCanvas } from '../src/vision/canvas';
import { drawText, FONT_CHARS, textSize } from '../src/vision/font';
import { makeVisionBatch, VisionData } from '../src/vision/batch';
import { ocrWords, renderWord } from '../src/vision/ocr-data';
import { isHeldOutScene, randomScene, renderScene, sceneKey, sceneQuestions, type Scene } from '../src/vision/scene-data';

const SIZE = { height: 16, width: 64 };
const WORDS = [
  'cat',
  'dog',
  'house',
  'red fox',
  'sea',
  'tree',
  'river',
  'stone',
  'plant',
  'light',
  'water',
  'fire',
  'bird',
  'Capital',
  'x-ray',
  'supercalifragilistic',
];

test('the font draws its glyphs pixel by pixel at any scale', () => {
  const c = new GrayCanvas(8, 12, 1);
  drawText(c, 'l1', 0, 0, 0);
  const rows = Array.from({ length: 7 }, (_, r) => Array.from({ length: 11 }, (_, x) => (c.pixels[r * 12 + x] === 0 ? '#' : '.')).join(''));
  expect(rows).toEqual(['.##.....#..', '..#....##..', '..#.....#..', '..#.....#..', '..#.....#..', '..#.....#..', '.###...###.']);
  const big = new GrayCanvas(14, 10, 1);
  drawText(big, 'i', 0, 0, 0, 2, 2);
  expect(big.pixels[4]).toBe(0); // row 0, column 2 of 'i' → pixels (4..5, 0..1)
  expect(big.pixels[14 * 10 - 1]).toBe(1);
  expect(textSize('abc', 2, 1)).toEqual({ width: 34, height: 7 });
  expect(() => drawText(c, 'A', 0, 0, 0)).toThrow(/font: no glyph for "A"/);
  expect(FONT_CHARS.size).toBeGreaterThanOrEqual(26 + 10 + 1);
});

test('words are split by word, deterministically, and only drawable words that fit are kept', () => {
  const a = ocrWords(SIZE, 3, WORDS);
  const b = ocrWords(SIZE, 3, WORDS);
  expect(a).toEqual(b);
  const all = [...a.train, ...a.heldOut].sort();
  expect(all).not.toContain('Capital');
  expect(all).not.toContain('x-ray');
  expect(all).not.toContain('supercalifragilistic');
  expect(new Set(a.train).size + new Set(a.heldOut).size).toBe(all.length);
  expect(a.train.filter((w) => a.heldOut.includes(w))).toEqual([]);
  // A rendered word has ink (dark pixels) and stays within [0, 1].
  const px = renderWord('house', SIZE, new Rng(1));
  expect(px.length).toBe(16 * 64);
  expect(Math.min(...px)).toBeLessThan(0.5);
  expect(Math.max(...px)).toBeLessThanOrEqual(1);
});

test('scenes: questions answer what is drawn, and held-out scenes never appear in training', () => {
  const scene: Scene = [{ shape: 'circle', colour: 'black' }, null, { shape: 'cross', colour: 'gray' }];
  const qa = Object.fromEntries(sceneQuestions(scene).map((q) => [q.prompt, q.answer]));
  expect(qa).toEqual({
    'how many shapes?': 'two',
    'which shapes?': 'circle cross',
    'what colour is the circle?': 'black',
    'what is right of the circle?': 'cross',
    'what colour is the cross?': 'gray',
    'what is left of the cross?': 'circle',
  });
  const rng = new Rng(4);
  const train = new Set(Array.from({ length: 300 }, () => sceneKey(randomScene(rng, false, 0))));
  const held = new Set(Array.from({ length: 100 }, () => sceneKey(randomScene(rng, true, 0))));
  expect([...held].filter((k) => train.has(k))).toEqual([]);
  expect(held.size).toBeGreaterThan(5);
  expect(isHeldOutScene(scene, 0)).toBe(isHeldOutScene(scene, 0));
  // The black circle is drawn in the left third, the gray cross in the right third.
  const px = renderScene(scene, SIZE, new Rng(2));
  const darkest = (x0: number, x1: number) =>
    Math.min(...Array.from({ length: 16 * (x1 - x0) }, (_, i) => px[Math.floor(i / (x1 - x0)) * 64 + x0 + (i % (x1 - x0))]!));
  expect(darkest(0, 21)).toBeLessThan(0.3);
  expect(darkest(21, 42)).toBeGreaterThan(0.5);
});

test('batches score the answer and the end-of-text token only; the stream is a function of (seed, step)', () => {
  const tok = BPETokenizer.train([], { vocabSize: 257, specialTokens: ['<|endoftext|>'] });
  const data = new VisionData({ size: SIZE, seed: 1, ocrFraction: 0.5, words: WORDS });
  const ex = data.trainExamples(7, 4);
  expect(data.trainExamples(7, 4)).toEqual(ex);
  const b = makeVisionBatch(tok, ex, SIZE);
  ex.forEach((e, r) => {
    const scored = Array.from(b.targets.subarray(r * b.T, (r + 1) * b.T)).filter((t) => t >= 0);
    expect(scored).toEqual([...tok.encode(e.answer), tok.eosId]);
    expect(tok.decode(Array.from(b.ids.subarray(r * b.T, r * b.T + e.prompt.length)))).toBe(e.prompt);
  });
  const held = data.heldOut(3);
  expect(held.ocr.map((e) => e.answer).every((w) => data.words.heldOut.includes(w))).toBe(true);
});
