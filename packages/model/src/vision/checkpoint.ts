// VisionGPT checkpoints: a GPT checkpoint (saveGPT: config.json, model.safetensors, tokenizer files) whose
// config.json also holds `vision_config` and whose safetensors also hold the vision_tower.* and
// multi_modal_projector.* tensors. loadGPT still reads it as a text model (the vision tensors land in
// extraTensors); loadVisionGPT(dir) reads both sides.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicAsync } from '@gptlab/common/node';
import type { tf } from '@gptlab/tensor';
import { loadGPT, saveGPT, type SaveOptions } from '../checkpoint';
import { fromHFVisionConfig, toHFVisionConfig } from './config';
import { isVisionTensor, VisionEncoder } from './encoder';
import { VisionGPT } from './vision-gpt';

/** Writes the GPT checkpoint with the vision tensors, then config.json with its `vision_config` (each atomic). */
export async function saveVisionGPT(model: VisionGPT, dir: string, opts: SaveOptions = {}): Promise<void> {
  if (model.isDisposed) throw new Error('saveVisionGPT: the model was disposed');
  const extraTensors: Record<string, tf.Tensor> = { ...opts.extraTensors };
  for (const [name, v] of model.vision.namedWeights()) extraTensors[name] = v;
  await saveGPT(model.gpt, dir, { ...opts, extraTensors });
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  config.vision_config = toHFVisionConfig(model.vision.config);
  await writeFileAtomicAsync(file, JSON.stringify(config, null, 2) + '\n');
}

/** Does `dir`'s config.json have a `vision_config` (an image-reading checkpoint)? */
export async function hasVisionConfig(dir: string): Promise<boolean> {
  try {
    const json = JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    return json.vision_config !== undefined;
  } catch {
    return false;
  }
}

/** Loads a checkpoint written by saveVisionGPT; a text-only checkpoint is an error saying so. */
export async function loadVisionGPT(dir: string): Promise<VisionGPT> {
  const file = path.join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: cannot read the model config (${(e as Error).message})`);
  }
  if (json.vision_config === undefined) throw new Error(`${file}: no vision_config (a text-only checkpoint: load it with loadGPT)`);
  const vision = fromHFVisionConfig(json.vision_config, file);
  const gpt = await loadGPT(dir);
  try {
    const tensors = new Map([...gpt.extraTensors].filter(([name]) => isVisionTensor(name)));
    const encoder = VisionEncoder.fromWeights(vision, gpt.config.nEmbd, tensors, path.join(dir, 'model.safetensors'));
    for (const [name, t] of tensors) {
      t.dispose();
      gpt.extraTensors.delete(name);
    }
    return new VisionGPT(gpt, encoder);
  } catch (e) {
    gpt.dispose();
    throw e;
  }
}
