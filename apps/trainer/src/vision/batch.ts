// Examples as model batches: the images stacked, and per row prompt + answer + end-of-text as ids, with
// targets on the answer and the end-of-text token only (the prompt is never scored), right-padded.
import { Rng, mixSeed } from '@gptlab/tensor';
import { IGNORE_INDEX } from '@gptlab/tensor';
import { ocrExample, ocrWords, type OcrWords } from './ocr-data';
import { sceneExample } from './scene-data';
import type { ImageSize, VisionExample } from './examples';

/** The text side: a tokenizer with an end-of-text token (a byte-level BPETokenizer by default). */
export interface VisionTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  readonly eosId?: number;
}

export interface VisionBatch {
  /** [rows, height, width] gray levels. */
  images: Float32Array;
  /** [rows, T] input ids and targets (IGNORE_INDEX where nothing is scored). */
  ids: Int32Array;
  targets: Int32Array;
  rows: number;
  T: number;
  height: number;
  width: number;
}

export function eosOf(tok: VisionTokenizer): number {
  if (tok.eosId === undefined) throw new Error('vision: the tokenizer has no <|endoftext|> token (it ends every answer)');
  return tok.eosId;
}

export function makeVisionBatch(tok: VisionTokenizer, examples: readonly VisionExample[], size: ImageSize): VisionBatch {
  const eos = eosOf(tok);
  const seqs = examples.map((ex) => {
    const prompt = tok.encode(ex.prompt);
    const full = [...prompt, ...tok.encode(ex.answer), eos];
    // Position t predicts full[t + 1]; answer tokens start at prompt.length.
    return { ids: full.slice(0, -1), targets: full.slice(1).map((id, t) => (t + 1 >= prompt.length ? id : IGNORE_INDEX)) };
  });
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const rows = examples.length;
  const ids = new Int32Array(rows * T).fill(eos);
  const targets = new Int32Array(rows * T).fill(IGNORE_INDEX);
  const images = new Float32Array(rows * size.height * size.width);
  seqs.forEach((s, r) => {
    ids.set(s.ids, r * T);
    targets.set(s.targets, r * T);
    images.set(examples[r]!.pixels, r * size.height * size.width);
  });
  return { images, ids, targets, rows, T, height: size.height, width: size.width };
}

export interface VisionDataOptions {
  size: ImageSize;
  seed: number;
  /** Share of training examples that are OCR (the rest are scene questions). */
  ocrFraction: number;
  /** The word list (default: WordNet's). */
  words?: Iterable<string>;
}

/** The training stream (a pure function of seed and step, so --resume is exact) and the fixed held-out sets. */
export class VisionData {
  readonly words: OcrWords;

  constructor(readonly o: VisionDataOptions) {
    this.words = ocrWords(o.size, o.seed, o.words);
  }

  /** `n` fresh training examples of step `step`. */
  trainExamples(step: number, n: number): VisionExample[] {
    const rng = new Rng(mixSeed(this.o.seed * 1000003 + step));
    return Array.from({ length: n }, () =>
      rng.next() < this.o.ocrFraction
        ? ocrExample(this.words.train[rng.int(this.words.train.length)]!, this.o.size, rng)
        : sceneExample(this.o.size, rng, false, this.o.seed),
    );
  }

  /** Held-out OCR images of `n` distinct held-out words, and `n` questions on held-out scenes. */
  heldOut(n: number): { ocr: VisionExample[]; vqa: VisionExample[] } {
    const rng = new Rng(mixSeed(this.o.seed + 0x0c7));
    const words = rng.shuffle([...this.words.heldOut]).slice(0, n);
    return {
      ocr: words.map((w) => ocrExample(w, this.o.size, rng)),
      vqa: Array.from({ length: n }, () => sceneExample(this.o.size, rng, true, this.o.seed)),
    };
  }
}
