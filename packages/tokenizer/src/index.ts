// @gptlab/tokenizer under Node: everything in the browser entry, with the file system installed behind the
// path-taking methods (fromGPT2Files, fromDir, load, save, saveGPT2Files).
import { installNodeFileIO } from './node-file-io';

installNodeFileIO();

export * from './browser';
