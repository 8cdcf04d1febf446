// The image encoder's configuration and its Hugging Face form, `vision_config` in config.json (keys as in
// transformers' ViTConfig / LLaVA: image_size, patch_size, hidden_size, num_hidden_layers, projector_type).
// Images are single-channel (grayscale) and may be rectangular, so image_size and patch_size are [height, width].

export interface VisionConfig {
  imageHeight: number;
  imageWidth: number;
  /** Patches are non-overlapping patchHeight × patchWidth tiles (ViT), in row-major order. */
  patchHeight: number;
  patchWidth: number;
  /** Width of the encoder's transformer. */
  hiddenSize: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  /** LLaVA's projector into the language model's width: one linear layer, or linear → GELU → linear (LLaVA-1.5). */
  projector: 'linear' | 'mlp';
}

export const VISION_DEFAULTS: VisionConfig = {
  imageHeight: 16,
  imageWidth: 72,
  patchHeight: 16,
  patchWidth: 6,
  hiddenSize: 64,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  projector: 'mlp',
};

/** Patches per image: the number of visual tokens the encoder puts before the text. */
export function numPatches(c: VisionConfig): number {
  return (c.imageHeight / c.patchHeight) * (c.imageWidth / c.patchWidth);
}

/** Checks every field; the error names the field (and `where`, e.g. the config file). */
export function validateVisionConfig(c: VisionConfig, where = 'vision config'): VisionConfig {
  const posInt = ['imageHeight', 'imageWidth', 'patchHeight', 'patchWidth', 'hiddenSize', 'nLayer', 'nHead'] as const;
  for (const k of posInt) {
    const v = c[k];
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${where}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (c.imageHeight % c.patchHeight !== 0 || c.imageWidth % c.patchWidth !== 0) {
    throw new Error(`${where}: the ${c.imageHeight}×${c.imageWidth} image does not divide into ${c.patchHeight}×${c.patchWidth} patches`);
  }
  if (c.hiddenSize % c.nHead !== 0) throw new Error(`${where}: nHead ${c.nHead} must divide hiddenSize ${c.hiddenSize}`);
  if (!(typeof c.layerNormEpsilon === 'number' && c.layerNormEpsilon > 0))
    throw new Error(`${where}: layerNormEpsilon must be a positive number, got ${JSON.stringify(c.layerNormEpsilon)}`);
  if (c.projector !== 'linear' && c.projector !== 'mlp')
    throw new Error(`${where}: projector must be "linear" or "mlp", got ${JSON.stringify(c.projector)}`);
  return c;
}

const PROJECTOR_TYPE = { linear: 'linear', mlp: 'mlp2x_gelu' } as const;

/** config.json's `vision_config`. */
export function toHFVisionConfig(c: VisionConfig): Record<string, unknown> {
  return {
    model_type: 'gptlab_vit',
    image_size: [c.imageHeight, c.imageWidth],
    patch_size: [c.patchHeight, c.patchWidth],
    num_channels: 1,
    hidden_size: c.hiddenSize,
    intermediate_size: 4 * c.hiddenSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    layer_norm_eps: c.layerNormEpsilon,
    projector_type: PROJECTOR_TYPE[c.projector],
  };
}

/** A `vision_config` object back to a VisionConfig; errors name `file` and the key. */
export function fromHFVisionConfig(json: unknown, file: string): VisionConfig {
  const where = `${file}: vision_config`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where} must be an object`);
  const j = json as Record<string, unknown>;
  const pair = (key: string): [number, number] => {
    const v = j[key];
    if (typeof v === 'number') return [v, v];
    if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) return [v[0] as number, v[1] as number];
    throw new Error(`${where}.${key} must be a number or [height, width], got ${JSON.stringify(v)}`);
  };
  const num = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number') throw new Error(`${where}.${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (j.num_channels !== undefined && j.num_channels !== 1)
    throw new Error(`${where}.num_channels must be 1 (grayscale images), got ${JSON.stringify(j.num_channels)}`);
  const [imageHeight, imageWidth] = pair('image_size');
  const [patchHeight, patchWidth] = pair('patch_size');
  const hiddenSize = num('hidden_size');
  if (j.intermediate_size !== undefined && j.intermediate_size !== 4 * hiddenSize)
    throw new Error(`${where}.intermediate_size must be 4 × hidden_size = ${4 * hiddenSize}, got ${JSON.stringify(j.intermediate_size)}`);
  const type = j.projector_type ?? PROJECTOR_TYPE.mlp;
  const projector = (Object.keys(PROJECTOR_TYPE) as (keyof typeof PROJECTOR_TYPE)[]).find((k) => PROJECTOR_TYPE[k] === type);
  if (!projector) throw new Error(`${where}.projector_type must be "linear" or "mlp2x_gelu", got ${JSON.stringify(type)}`);
  return validateVisionConfig(
    {
      imageHeight,
      imageWidth,
      patchHeight,
      patchWidth,
      hiddenSize,
      nLayer: num('num_hidden_layers'),
      nHead: num('num_attention_heads'),
      layerNormEpsilon: num('layer_norm_eps', 1e-5),
      projector,
    },
    where,
  );
}
