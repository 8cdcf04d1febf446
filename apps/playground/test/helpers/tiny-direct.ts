// The tiny fixture checkpoint loaded without the playground (@gptlab/model + @gptlab/tokenizer), so a test
// can compare what the server answers with a direct @gptlab/decoding run.
import * as path from 'node:path';
import { loadGPT, type GPT } from '@gptlab/model';
import { initBackend } from '@gptlab/tensor';
import { BPETokenizer } from '@gptlab/tokenizer';

export const TINY_DIR = path.join(__dirname, '..', 'fixtures', 'tiny');

export async function loadTinyDirect(): Promise<{ gpt: GPT; tok: BPETokenizer }> {
  await initBackend();
  return { gpt: await loadGPT(TINY_DIR), tok: BPETokenizer.fromDir(TINY_DIR) };
}
