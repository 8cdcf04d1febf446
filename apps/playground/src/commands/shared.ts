// What the playground's commands share: their IO (injectable for tests), checkpoint loading and the
// --model / --ignore-eos flags.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, type FlagSpecs } from '@gptlab/common/node';
import type { GenerateResultJSON } from '@gptlab/decoding';
import { HttpError, type LoadedModel } from '../types';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** Loads a checkpoint directory for generate / repl (tests inject their own). */
export type CheckpointLoader = (dir: string, opts: { ignoreEos: boolean }) => Promise<LoadedModel>;

export const processIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });

/**
 * `dir` when it is a checkpoint directory; a trainer's `checkpoints/` folder resolves to the checkpoint its LATEST
 * file names. Anything else is a usage error naming `flag`.
 */
export function checkpointDir(flag: string, dir: string): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${flag}: ${dir} is not a directory`);
  const latest = path.join(dir, 'LATEST');
  if (!fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(latest)) {
    return checkpointDir(flag, path.join(dir, fs.readFileSync(latest, 'utf8').trim()));
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new UsageError(`${flag}: ${dir} has no config.json (not a checkpoint)`);
  return dir;
}

export const loadRealModel: CheckpointLoader = async (dir, { ignoreEos }) => {
  // Loaded lazily so --help and usage errors do not pay for tfjs start-up.
  const { RealModel } = await import('../real');
  return RealModel.load(path.resolve(dir), path.basename(path.resolve(dir)), { stopAtEos: !ignoreEos });
};

export async function writeBackendLine(io: CliIO): Promise<void> {
  const { describeBackend } = await import('@gptlab/tensor');
  io.stderr.write(`${describeBackend()}\n`);
}

/** Runs a check that throws HttpError(400) (request against model) as a usage error of the CLI. */
export function asUsageError(check: () => void): void {
  try {
    check();
  } catch (e) {
    throw e instanceof HttpError && e.statusCode === 400 ? new UsageError(e.message) : e;
  }
}

export const MODEL_FLAGS: FlagSpecs = {
  model: {
    type: 'string',
    required: true,
    metavar: 'DIR',
    help: 'checkpoint directory (config.json + model.safetensors + tokenizer files)',
  },
  'ignore-eos': { type: 'bool', help: "do not stop at the checkpoint's end-of-text token (an explicit --eos-token-id still counts)" },
};

export function resultLine(r: GenerateResultJSON): string {
  return `[${r.ids.length} tokens, finish: ${r.finishReason}, score ${r.score.toFixed(4)}]`;
}
