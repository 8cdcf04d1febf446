// Checkpoints live one level below a models directory: MODELS/NAME/{config.json, model.safetensors, ...}.
// A name is a single path component; it is checked syntactically and the resolved path must stay inside
// the models directory, so no request can make the server read anything else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HttpError, type LoadedModel, type ModelRegistry } from './types';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Why `name` is not an acceptable model name, or null when it is. */
export function modelNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'model must be a string';
  if (name.length === 0) return 'model must not be empty';
  if (name.includes('/') || name.includes('\\')) return 'model must be a name, not a path (no path separators)';
  if (name.includes('..')) return "model must not contain '..'";
  if (name.includes('\0')) return 'model must not contain NUL';
  if (!NAME_RE.test(name)) return 'model may only contain letters, digits, ".", "_" and "-" and must start with a letter or digit';
  return null;
}

/** The directory of model `name` inside `root`; throws HttpError 400 for a bad name, 404 when absent. */
export function resolveModelDir(root: string, name: unknown): string {
  const problem = modelNameProblem(name);
  if (problem) throw new HttpError(400, problem);
  const base = path.resolve(root);
  const dir = path.resolve(base, name as string);
  if (path.dirname(dir) !== base || !dir.startsWith(base + path.sep)) {
    throw new HttpError(400, 'model resolves outside the models directory');
  }
  if (!isCheckpointDir(dir)) throw new HttpError(404, `no model named '${name as string}' in the models directory`);
  return dir;
}

export function isCheckpointDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && fs.statSync(path.join(dir, 'config.json')).isFile();
  } catch {
    return false;
  }
}

/** Names of the checkpoint directories directly inside `root`, sorted. */
export function listModelNames(root: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch (e) {
    throw new Error(`cannot read the models directory ${root}: ${(e as Error).message}`);
  }
  return entries.filter((n) => modelNameProblem(n) === null && isCheckpointDir(path.join(root, n))).sort();
}

export type ModelLoader = (dir: string, name: string) => Promise<LoadedModel>;

/**
 * A registry over a models directory: lists checkpoints, loads them with `loader`, keeps the `maxLoaded`
 * most recently used ones in memory (older ones are disposed) and shares one load between concurrent
 * requests for the same name.
 */
export class DirRegistry implements ModelRegistry {
  private readonly cache = new Map<string, Promise<LoadedModel>>();
  readonly root: string;

  constructor(
    root: string,
    private readonly loader: ModelLoader,
    private readonly maxLoaded = 2,
  ) {
    this.root = path.resolve(root);
    if (!fs.existsSync(this.root) || !fs.statSync(this.root).isDirectory()) {
      throw new Error(`--models: ${root} is not a directory`);
    }
  }

  async list(): Promise<string[]> {
    return listModelNames(this.root);
  }

  load(name: string): Promise<LoadedModel> {
    let dir: string;
    try {
      dir = resolveModelDir(this.root, name);
    } catch (e) {
      return Promise.reject(e);
    }
    const hit = this.cache.get(name);
    if (hit) {
      this.cache.delete(name);
      this.cache.set(name, hit);
      return hit;
    }
    const p = this.loader(dir, name);
    this.cache.set(name, p);
    p.catch(() => this.cache.delete(name));
    while (this.cache.size > this.maxLoaded) {
      const [oldName, old] = this.cache.entries().next().value as [string, Promise<LoadedModel>];
      this.cache.delete(oldName);
      old.then(
        (m) => m.dispose?.(),
        () => undefined,
      );
    }
    return p;
  }
}
