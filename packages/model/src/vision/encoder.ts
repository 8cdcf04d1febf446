// The image encoder: a small ViT (Dosovitskiy et al. 2020) and LLaVA's projector (Liu et al. 2023).
//
//   patches = the image cut into non-overlapping ph × pw tiles, each flattened     [B, N, ph·pw]
//   x = patches · W_patch + b_patch + pos                                            (a stride = kernel convolution as one matmul)
//   x = pre-LN block(x) for each layer, attention bidirectional                      (@gptlab/model's GPT block)
//   visual tokens = projector(ln_f(x))                                               [B, N, n_embd of the language model]
//
// Pixels are gray levels in [0, 1] (0 black, 1 white), standardised per image before the patch embedding (ViT
// normalises its inputs too; see `standardize`). Weight names follow transformers' LLaVA (vision_tower.*, multi_modal_projector.*);
// dense layers are stored [in, out] like the GPT's Conv1D weights.
import { tf, gelu, layerNorm, linear } from '@gptlab/tensor';
import { causalSelfAttention } from '../attention';
import { block } from '../block';
import { initStd, normalArray, parameterSeed, type Affine, type BlockWeights, type Init } from '../layers';
import { numPatches, validateVisionConfig, type VisionConfig } from './config';

/**
 * How a tensor starts: the GPT's kinds, or 'fanIn' = N(0, 1/fan_in) (LeCun normal, as the JAX ViT initialises its
 * patch embedding; PyTorch's nn.Linear default in LLaVA's projector has the same 1/√fan_in scale). The GPT's
 * N(0, 0.02) there made visual tokens of norm ~0.2 that the projector's bias outgrew within a hundred steps: every
 * image then looked the same to the decoder and nothing was read.
 */
export type VisionInit = Init | 'fanIn';

export interface VisionParam {
  name: string;
  shape: number[];
  init: VisionInit;
}

/** Every tensor of the encoder and projector, in checkpoint order; `textEmbd` is the language model's width. */
export function visionParameterTable(c: VisionConfig, textEmbd: number): VisionParam[] {
  const D = c.hiddenSize;
  const out: VisionParam[] = [
    { name: 'vision_tower.patch_embedding.weight', shape: [c.patchHeight * c.patchWidth, D], init: 'fanIn' },
    { name: 'vision_tower.patch_embedding.bias', shape: [D], init: 'zeros' },
    { name: 'vision_tower.position_embedding.weight', shape: [numPatches(c), D], init: 'normal' },
  ];
  const blockShapes: [string, number[], Init][] = [
    ['ln_1.weight', [D], 'ones'],
    ['ln_1.bias', [D], 'zeros'],
    ['attn.c_attn.weight', [D, 3 * D], 'normal'],
    ['attn.c_attn.bias', [3 * D], 'zeros'],
    ['attn.c_proj.weight', [D, D], 'residual'],
    ['attn.c_proj.bias', [D], 'zeros'],
    ['ln_2.weight', [D], 'ones'],
    ['ln_2.bias', [D], 'zeros'],
    ['mlp.c_fc.weight', [D, 4 * D], 'normal'],
    ['mlp.c_fc.bias', [4 * D], 'zeros'],
    ['mlp.c_proj.weight', [4 * D, D], 'residual'],
    ['mlp.c_proj.bias', [D], 'zeros'],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    for (const [name, shape, init] of blockShapes) out.push({ name: `vision_tower.h.${i}.${name}`, shape, init });
  }
  out.push({ name: 'vision_tower.ln_f.weight', shape: [D], init: 'ones' }, { name: 'vision_tower.ln_f.bias', shape: [D], init: 'zeros' });
  out.push(
    { name: 'multi_modal_projector.linear_1.weight', shape: [D, textEmbd], init: 'fanIn' },
    { name: 'multi_modal_projector.linear_1.bias', shape: [textEmbd], init: 'zeros' },
  );
  if (c.projector === 'mlp') {
    out.push(
      { name: 'multi_modal_projector.linear_2.weight', shape: [textEmbd, textEmbd], init: 'fanIn' },
      { name: 'multi_modal_projector.linear_2.bias', shape: [textEmbd], init: 'zeros' },
    );
  }
  return out;
}

/** Is `name` a tensor of the image side (encoder or projector)? */
export const isVisionTensor = (name: string): boolean => name.startsWith('vision_tower.') || name.startsWith('multi_modal_projector.');

/** images [B, H, W] → flattened patches [B, N, ph·pw], row-major over the patch grid (ViT's order). */
export function extractPatches(images: tf.Tensor, ph: number, pw: number): tf.Tensor3D {
  const [B, H, W] = images.shape as [number, number, number];
  const gh = H / ph;
  const gw = W / pw;
  // [B·gh, ph, gw, pw] → [B·gh, gw, ph, pw]: rank 4 keeps every backend's transpose kernel in play.
  const tiles = tf.transpose(tf.reshape(images, [B * gh, ph, gw, pw]), [0, 2, 1, 3]);
  return tf.reshape(tiles, [B, gh * gw, ph * pw]) as tf.Tensor3D;
}

/** The patch embedding: a convolution with stride = kernel = patch, computed as one matmul over the patches. */
export function patchEmbedding(images: tf.Tensor, weight: tf.Tensor2D, bias: tf.Tensor1D, ph: number, pw: number): tf.Tensor3D {
  return linear(extractPatches(images, ph, pw), weight, bias) as tf.Tensor3D;
}

/**
 * Each image to mean 0 and standard deviation 1 (TensorFlow's per_image_standardization): paper, whatever its
 * level, sits near 0 and strokes stand out, so the patch embedding sees the strokes rather than the contrast.
 */
export function standardize(images: tf.Tensor3D): tf.Tensor3D {
  const { mean, variance } = tf.moments(images, [1, 2], true);
  const minStd = 1 / Math.sqrt(images.shape[1] * images.shape[2]); // a blank image stays finite
  return tf.div(tf.sub(images, mean), tf.maximum(tf.sqrt(variance), minStd)) as tf.Tensor3D;
}

interface EncoderWeights {
  patch: Affine;
  pos: tf.Variable;
  h: BlockWeights[];
  ln_f: Affine;
  linear_1: Affine;
  linear_2: Affine | null;
}

export class VisionEncoder {
  readonly config: VisionConfig;
  readonly textEmbd: number;
  private readonly weights = new Map<string, tf.Variable>();
  private readonly w: EncoderWeights;
  private disposed = false;

  private constructor(config: VisionConfig, textEmbd: number, tensors: ReadonlyMap<string, tf.Tensor>, where: string) {
    this.config = validateVisionConfig({ ...config });
    this.textEmbd = textEmbd;
    for (const { name, shape } of visionParameterTable(this.config, textEmbd)) {
      const t = tensors.get(name);
      if (!t) throw new Error(`${where}: missing vision tensor '${name}'`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        throw new Error(`${where}: vision tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
      this.weights.set(name, tf.variable(t, true));
    }
    const get = (n: string) => this.weights.get(n)!;
    const affine = (n: string): Affine => ({ weight: get(`${n}.weight`), bias: get(`${n}.bias`) });
    this.w = {
      patch: affine('vision_tower.patch_embedding'),
      pos: get('vision_tower.position_embedding.weight'),
      h: Array.from({ length: this.config.nLayer }, (_, i) => {
        const b = (n: string) => affine(`vision_tower.h.${i}.${n}`);
        return {
          ln_1: b('ln_1'),
          attn: { c_attn: b('attn.c_attn'), c_proj: b('attn.c_proj') },
          ln_2: b('ln_2'),
          mlp: { c_fc: b('mlp.c_fc'), c_proj: b('mlp.c_proj') },
        };
      }),
      ln_f: affine('vision_tower.ln_f'),
      linear_1: affine('multi_modal_projector.linear_1'),
      linear_2: this.config.projector === 'mlp' ? affine('multi_modal_projector.linear_2') : null,
    };
  }

  /** Weights drawn as the GPT's are (N(0, 0.02), residual projections scaled by 1/√(2·nLayer)); same seed → same weights. */
  static create(config: VisionConfig, textEmbd: number, seed = 0): VisionEncoder {
    validateVisionConfig(config);
    const scaled = { postLN: false, nLayer: config.nLayer } as Parameters<typeof initStd>[1];
    const tensors = new Map<string, tf.Tensor>();
    visionParameterTable(config, textEmbd).forEach((p, i) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (p.init === 'ones') tensors.set(p.name, tf.ones(p.shape));
      else if (p.init === 'zeros') tensors.set(p.name, tf.zeros(p.shape));
      else {
        const std = p.init === 'fanIn' ? 1 / Math.sqrt(p.shape[0]!) : initStd(p.init, scaled);
        tensors.set(p.name, tf.tensor(normalArray(n, std, parameterSeed(seed ^ 0x1ab, i)), p.shape));
      }
    });
    try {
      return new VisionEncoder(config, textEmbd, tensors, 'VisionEncoder.create');
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /** An encoder holding copies of `tensors` (by checkpoint name); `where` names their source in errors. */
  static fromWeights(
    config: VisionConfig,
    textEmbd: number,
    tensors: ReadonlyMap<string, tf.Tensor>,
    where = 'VisionEncoder',
  ): VisionEncoder {
    return new VisionEncoder(config, textEmbd, tensors, where);
  }

  /** The weights by checkpoint name, in checkpoint order. */
  namedWeights(): Map<string, tf.Variable> {
    this.check('namedWeights');
    return new Map(this.weights);
  }

  /** Visual tokens [B, N, textEmbd] of gray images [B, H, W] in [0, 1]. */
  encode(images: tf.Tensor3D): tf.Tensor3D {
    this.check('encode');
    const c = this.config;
    if (images.rank !== 3 || images.shape[1] !== c.imageHeight || images.shape[2] !== c.imageWidth || images.dtype !== 'float32') {
      throw new Error(
        `VisionEncoder.encode: images must be float32 [batch, ${c.imageHeight}, ${c.imageWidth}], got ${images.dtype} [${images.shape}]`,
      );
    }
    const w = this.w;
    return tf.tidy(() => {
      const pixels = standardize(images);
      let x: tf.Tensor = tf.add(
        patchEmbedding(pixels, w.patch.weight as tf.Tensor2D, w.patch.bias as tf.Tensor1D, c.patchHeight, c.patchWidth),
        w.pos,
      );
      const bidirectional = tf.zeros([1, 1, 1, 1]); // replaces the causal mask: every patch sees every patch
      const identity = (t: tf.Tensor) => t;
      for (const bw of w.h) {
        x = block(
          x,
          bw,
          { postLN: false, layerNormEpsilon: c.layerNormEpsilon },
          (h) =>
            causalSelfAttention(h, bw.attn, { nHead: c.nHead, pattern: null, dropout: identity, dropoutActive: false, mask: bidirectional })
              .y,
          identity,
        );
      }
      x = layerNorm(x, w.ln_f.weight, w.ln_f.bias, c.layerNormEpsilon);
      let y = linear(x, w.linear_1.weight as tf.Tensor2D, w.linear_1.bias as tf.Tensor1D);
      if (w.linear_2) y = linear(gelu(y), w.linear_2.weight as tf.Tensor2D, w.linear_2.bias as tf.Tensor1D);
      return y as tf.Tensor3D;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.weights.values()) v.dispose();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`VisionEncoder.${op}: the encoder was disposed`);
  }
}
