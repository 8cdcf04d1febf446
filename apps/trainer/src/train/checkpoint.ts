// Checkpoints: <run>/checkpoints/step-000123/ holding the model (config.json + model.safetensors, Hugging Face
// layout), optimizer.safetensors (AdamW moments), trainer_state.json (step, RNG and data position, config)
// and the tokenizer. A checkpoint is written into a temporary directory and renamed into place, so a
// directory named step-* is always complete; killing the process at any moment leaves the last good one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, UsageError } from '@gptlab/common/node';
import { tf } from '@gptlab/tensor';
import type { AdamW } from './adamw';
import { readSafetensors, writeSafetensors, type SafetensorsInput } from '@gptlab/model';

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const LATEST_FILE = 'LATEST';

export interface TrainerState {
  format: 'gptlab-trainer-state';
  version: 1;
  /** Completed optimizer steps. */
  step: number;
  totalSteps: number;
  tokensSeen: number;
  elapsedSeconds: number;
  /** The data position (pretraining: the window sampler's RNG word), so a resumed run draws the same batches. */
  samplerState: unknown;
  optimizer: { step: number; beta1: number; beta2: number; eps: number; weightDecay: number };
  /** The run configuration (what --resume continues with). */
  config: Record<string, unknown>;
  /** Anything else the caller wants back (e.g. last losses). */
  extra?: Record<string, unknown>;
  savedAt: string;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

export interface SaveCheckpointOptions {
  runDir: string;
  step: number;
  /** Writes the model files into the given (temporary) directory. */
  saveModel: (dir: string) => Promise<void> | void;
  optimizer: AdamW;
  state: Omit<TrainerState, 'format' | 'version' | 'savedAt' | 'optimizer' | 'step'>;
  /** Extra files to copy in (e.g. tokenizer.json). */
  files?: string[];
  /** Complete checkpoints to keep (default 2; the newest are kept). */
  keep?: number;
}

/** Writes a checkpoint atomically and returns its directory. */
export async function saveCheckpoint(o: SaveCheckpointOptions): Promise<string> {
  const root = path.join(o.runDir, 'checkpoints');
  fs.mkdirSync(root, { recursive: true });
  const name = checkpointName(o.step);
  const final = path.join(root, name);
  const staging = path.join(root, `.tmp-${name}-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    await o.saveModel(staging);
    const tensors: Record<string, SafetensorsInput> = {};
    for (const [k, t] of Object.entries(o.optimizer.stateArrays())) {
      tensors[k] = { dtype: 'F32', shape: [...t.shape], data: t.data };
    }
    await writeSafetensors(path.join(staging, OPTIMIZER_FILE), tensors, { format: 'gptlab-adamw', step: String(o.optimizer.step) });
    const state: TrainerState = {
      format: 'gptlab-trainer-state',
      version: 1,
      step: o.step,
      ...o.state,
      optimizer: o.optimizer.stateMeta(),
      savedAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(staging, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    for (const f of o.files ?? []) fs.copyFileSync(f, path.join(staging, path.basename(f)));
    // Replace an older checkpoint of the same step (e.g. an interval save followed by the end save).
    if (fs.existsSync(final)) {
      const old = path.join(root, `.old-${name}-${process.pid}`);
      fs.renameSync(final, old);
      fs.renameSync(staging, final);
      fs.rmSync(old, { recursive: true, force: true });
    } else fs.renameSync(staging, final);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  writeFileAtomic(path.join(root, LATEST_FILE), name + '\n');
  prune(root, o.keep ?? 2);
  return final;
}

/** Complete checkpoints of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n) && fs.existsSync(path.join(root, n, STATE_FILE)))
    .map((n) => ({ step: Number(n.slice(5)), dir: path.join(root, n) }))
    .sort((a, b) => a.step - b.step);
}

function prune(root: string, keep: number): void {
  const all = listCheckpoints(path.dirname(root));
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) fs.rmSync(c.dir, { recursive: true, force: true });
  // Leftovers of interrupted saves by dead processes.
  for (const n of fs.readdirSync(root)) {
    const m = /^\.(tmp|old)-.*-(\d+)$/.exec(n);
    if (m && Number(m[2]) !== process.pid) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}

/** The checkpoint directory a path names: a checkpoint itself, or a run directory (its newest checkpoint). */
export function resolveCheckpoint(p: string): string {
  if (!fs.existsSync(p)) throw new Error(`--resume ${p}: no such directory`);
  if (fs.existsSync(path.join(p, STATE_FILE))) return p;
  const list = listCheckpoints(p);
  if (list.length === 0) throw new Error(`--resume ${p}: no complete checkpoint found (expected ${p}/checkpoints/step-*/${STATE_FILE})`);
  return list[list.length - 1]!.dir;
}

export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, STATE_FILE);
  let s: TrainerState;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
  } catch (e) {
    throw new Error(`${file}: cannot read the trainer state (${(e as Error).message})`);
  }
  if (s.format !== 'gptlab-trainer-state') throw new Error(`${file}: not a gptlab trainer state`);
  return s;
}

/** Restores the optimizer moments of a checkpoint into `optimizer`. */
export async function loadOptimizer(dir: string, optimizer: AdamW, params: Record<string, tf.Variable>, step: number): Promise<void> {
  const { tensors } = await readSafetensors(path.join(dir, OPTIMIZER_FILE));
  const arrays: Record<string, Float32Array> = {};
  for (const [k, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${dir}/${OPTIMIZER_FILE}: "${k}" is not F32`);
    arrays[k] = t.data;
  }
  const missing = Object.keys(params).filter((n) => !arrays[`m.${n}`]);
  if (step > 0 && missing.length)
    throw new Error(`${dir}/${OPTIMIZER_FILE}: no moments for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`);
  optimizer.loadState(step, arrays, params);
}

/**
 * The settings of a resumed run: the checkpoint's, with the given ones that may change (`changeable`); any
 * other given setting must equal the saved one. Keys are camelCase; errors name the flag.
 */
export function resumedSettings<C extends object>(saved: C, given: Partial<C>, changeable: readonly string[]): C {
  const savedRec = saved as Record<string, unknown>;
  const over: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!changeable.includes(k) && JSON.stringify(v) !== JSON.stringify(savedRec[k])) {
      const flag = k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw new UsageError(
        `--${flag} cannot change when resuming (the checkpoint says ${JSON.stringify(savedRec[k])}); changeable: ${changeable.join(', ')}`,
      );
    }
    over[k] = v;
  }
  return { ...saved, ...over };
}

/** The run directory a checkpoint directory belongs to (<run>/checkpoints/step-N). */
export function runDirOf(checkpointDir: string): string {
  return path.dirname(path.dirname(checkpointDir));
}
