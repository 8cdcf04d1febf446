// Shared by the eval-*.test.ts files: the committed tiny checkpoint, loaded once per file on the fast
// backend, a scratch directory, and command lines run in-process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackendInfo } from '@gptlab/tensor';
import { loadGPT, type GPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { main } from '../src/commands';
import { tmpDir } from './helpers';

export const TINY_MODEL = path.resolve(__dirname, '..', '..', 'playground', 'test', 'fixtures', 'tiny');

/** Registers beforeAll/afterAll for the file; the fields are set once beforeAll has run. */
export function useTinyModel(name: string): { model: GPT; tok: BPETokenizer; scratch: string } {
  const env = {} as { model: GPT; tok: BPETokenizer; scratch: string };
  beforeAll(async () => {
    await initBackendInfo(); // the fast backend the CLI uses, not tfjs's plain-JS default
    env.model = await loadGPT(TINY_MODEL);
    env.tok = BPETokenizer.fromDir(TINY_MODEL);
    env.scratch = tmpDir(name);
  });
  afterAll(() => {
    env.model.dispose();
    fs.rmSync(env.scratch, { recursive: true, force: true });
  });
  return env;
}

/** A command line run in this process; output collected. */
export async function runIn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const collect = (key: 'stdout' | 'stderr') => (t: string) => void (out[key] += t);
  const code = await main(args, { stdout: collect('stdout'), stderr: collect('stderr'), stdin: process.stdin, isTTY: false });
  return { code, ...out };
}
