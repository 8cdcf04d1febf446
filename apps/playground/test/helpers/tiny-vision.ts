// The tiny vision checkpoint the vision tests share: a byte-level tokenizer (257 tokens, <|endoftext|> last), one
// text layer over a 32-token context and one vision layer reading an 8×16 gray image as four 8×4 patches.
import { VisionGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';

export const TINY_IMAGE = { height: 8, width: 16 };

/** A fresh seeded VisionGPT (the caller disposes it) and its tokenizer. */
export function tinyVision(): { model: VisionGPT; tok: BPETokenizer } {
  const tok = BPETokenizer.train([], { vocabSize: 257, specialTokens: ['<|endoftext|>'] });
  const text = {
    vocabSize: 257,
    nPositions: 32,
    nEmbd: 16,
    nLayer: 1,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new' as const,
    postLN: false,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  };
  const vision = {
    imageHeight: TINY_IMAGE.height,
    imageWidth: TINY_IMAGE.width,
    patchHeight: 8,
    patchWidth: 4,
    hiddenSize: 8,
    nLayer: 1,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    projector: 'mlp' as const,
  };
  return { model: VisionGPT.create(text, vision, { seed: 3 }), tok };
}
