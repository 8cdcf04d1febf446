// @gptlab/model/node: checkpoints in folders (Node only): loadGPT(dir) / saveGPT(model, dir) and safetensors
// files read through a file handle or written atomically.
export { loadGPT, saveGPT, type SaveOptions } from './checkpoint';
export { readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors-file';
export { saveVisionGPT, loadVisionGPT, hasVisionConfig } from './vision/checkpoint';
export { decodePngGray, readPngGray, encodePngGray, type GrayImage, type DecodeOptions } from './vision/png';
