// A GPT that reads images (LLaVA's design, Liu et al. 2023): the image encoder's visual tokens are a prefix of
// input embeddings before the text, and the decoder is the plain GPT. Generation prefills the prefix once into
// the KV cache; @gptlab/decoding runs on `withImage(image)` exactly as on a text-only GPT.
import { tf, crossEntropy } from '@gptlab/tensor';
import { GPT, type ForwardOptions, type ForwardResult } from '../gpt';
import type { GPTConfig } from '../config';
import type { KVCache } from '../kv-cache';
import { numPatches, type VisionConfig } from './config';
import { VisionEncoder } from './encoder';

/** The KV cache of a generation with a visual prefix: its length counts text positions only. */
export class PrefixedCache {
  constructor(
    /** @internal */ readonly inner: KVCache,
    private readonly prefixLength: number,
  ) {}

  get length(): number {
    return Math.max(0, this.inner.length - this.prefixLength);
  }

  reorder(rows: number[]): void {
    this.inner.reorder(rows);
  }

  dispose(): void {
    this.inner.dispose();
  }
}

/** One image's view of a VisionGPT as a text model (@gptlab/decoding's GPTLike); dispose() frees its visual tokens. */
export interface ImageConditionedGPT {
  readonly config: { readonly vocabSize: number; readonly nPositions: number };
  /** Logits of the text positions only; with an empty cache the visual prefix goes first. */
  forward(ids: tf.Tensor2D, opts?: { cache?: PrefixedCache; attentionProbs?: { layer: number; head: number } }): ForwardResult;
  createCache(batchSize: number): PrefixedCache;
  /** Visual tokens before the text. */
  readonly prefixLength: number;
  dispose(): void;
}

export class VisionGPT {
  constructor(
    readonly gpt: GPT,
    readonly vision: VisionEncoder,
  ) {
    if (vision.textEmbd !== gpt.config.nEmbd)
      throw new Error(`VisionGPT: the projector outputs ${vision.textEmbd} wide tokens, the GPT is ${gpt.config.nEmbd} wide`);
    if (numPatches(vision.config) >= gpt.config.nPositions)
      throw new Error(`VisionGPT: ${numPatches(vision.config)} visual tokens leave no room in nPositions = ${gpt.config.nPositions}`);
  }

  static create(text: GPTConfig, vision: VisionConfig, opts: { seed?: number } = {}): VisionGPT {
    const gpt = GPT.create(text, opts);
    try {
      return new VisionGPT(gpt, VisionEncoder.create(vision, text.nEmbd, opts.seed ?? 0));
    } catch (e) {
      gpt.dispose();
      throw e;
    }
  }

  /** Visual tokens per image. */
  get prefixLength(): number {
    return numPatches(this.vision.config);
  }

  /** Every weight by checkpoint name: the GPT's, then the encoder's and the projector's. */
  namedWeights(): Map<string, tf.Variable> {
    return new Map([...this.gpt.namedWeights(), ...this.vision.namedWeights()]);
  }

  /** Logits [B, N + T, V] of images [B, H, W] followed by token ids [B, T]. */
  forward(images: tf.Tensor3D, ids: tf.Tensor2D, opts: Omit<ForwardOptions, 'prefix'> = {}): ForwardResult {
    const prefix = this.vision.encode(images);
    try {
      return this.gpt.forward(ids, { ...opts, prefix });
    } finally {
      prefix.dispose();
    }
  }

  /**
   * Mean next-token cross-entropy over the text: `targets` [B, T] holds, at text position t, the id that should
   * follow it (IGNORE_INDEX where nothing is scored, e.g. the prompt); the visual positions are never scored.
   */
  loss(images: tf.Tensor3D, ids: tf.Tensor2D, targets: tf.Tensor2D, opts: { training?: boolean; seed?: number } = {}): tf.Scalar {
    if (targets.rank !== 2 || targets.shape[0] !== ids.shape[0] || targets.shape[1] !== ids.shape[1])
      throw new Error(`VisionGPT.loss: targets shape [${targets.shape}] must equal ids shape [${ids.shape}]`);
    return tf.tidy(() => {
      const { logits } = this.forward(images, ids, opts);
      const [B, NT, V] = logits.shape;
      const T = ids.shape[1];
      return crossEntropy(tf.slice(logits, [0, NT - T, 0], [B, T, V]) as tf.Tensor3D, targets);
    });
  }

  /** The model conditioned on one image [1, H, W] (or [H, W]) for decoding: every row of a batch sees it. */
  withImage(image: tf.Tensor): ImageConditionedGPT {
    const one = image.rank === 2 ? tf.expandDims(image, 0) : image;
    if (one.rank !== 3 || one.shape[0] !== 1) throw new Error(`VisionGPT.withImage: expected one image [1, H, W], got [${image.shape}]`);
    const prefix = this.vision.encode(one as tf.Tensor3D);
    if (one !== image) one.dispose();
    const P = prefix.shape[1];
    const gpt = this.gpt;
    return {
      config: { vocabSize: gpt.config.vocabSize, nPositions: gpt.config.nPositions - P },
      prefixLength: P,
      createCache: (batchSize) => new PrefixedCache(gpt.createCache(batchSize), P),
      forward(ids, opts = {}) {
        const cache = opts.cache?.inner;
        if (cache && cache.length > 0) return gpt.forward(ids, { cache, attentionProbs: opts.attentionProbs });
        const B = ids.shape[0];
        const rows = tf.tidy(() => (B === 1 ? tf.clone(prefix) : tf.tile(prefix, [B, 1, 1])) as tf.Tensor3D);
        try {
          const out = gpt.forward(ids, { cache, prefix: rows, attentionProbs: opts.attentionProbs });
          const [, NT, V] = out.logits.shape;
          const text = tf.slice(out.logits, [0, P, 0], [B, NT - P, V]) as tf.Tensor3D;
          out.logits.dispose();
          return { ...out, logits: text };
        } finally {
          rows.dispose();
        }
      },
      dispose: () => prefix.dispose(),
    };
  }

  dispose(): void {
    this.gpt.dispose();
    this.vision.dispose();
  }

  get isDisposed(): boolean {
    return this.gpt.isDisposed;
  }
}
