// Checkpoints live one level below a models directory: MODELS/NAME/{config.json, model.safetensors, ...}.
// A name is a single path component; it is checked syntactically and the resolved path must stay inside
// the models directory, so no request can make the server read anything else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HttpError, type LoadedModel, type ModelLease, type ModelRegistry } from './types';

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

interface CacheEntry {
  model: Promise<LoadedModel>;
  /** Requests holding the model (acquire without release yet). */
  users: number;
  /** Out of the cache: dispose when the last user releases it. */
  evicted: boolean;
}

/**
 * A registry over a models directory: lists checkpoints, loads them with `loader`, keeps the `maxLoaded`
 * most recently used ones in memory and shares one load between concurrent requests for the same name.
 * A model pushed out of the cache is disposed only once no request holds it: `acquire` counts its users
 * (a long generation must not lose its weights because another request loaded a third model).
 */
export class DirRegistry implements ModelRegistry {
  private readonly cache = new Map<string, CacheEntry>();
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

  /** The model without holding it: it may be disposed once evicted (use `acquire` while computing with it). */
  async load(name: string): Promise<LoadedModel> {
    return this.entry(name).model;
  }

  async acquire(name: string): Promise<ModelLease> {
    const entry = this.entry(name);
    entry.users++;
    let model: LoadedModel;
    try {
      model = await entry.model;
    } catch (e) {
      entry.users--;
      throw e;
    }
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.evicted && entry.users === 0) model.dispose?.();
      },
    };
  }

  /** Models loaded or loading, most recently used last, with their user counts (for tests and /api/health). */
  get loaded(): { name: string; users: number }[] {
    return [...this.cache].map(([name, e]) => ({ name, users: e.users }));
  }

  private entry(name: string): CacheEntry {
    const dir = resolveModelDir(this.root, name);
    const hit = this.cache.get(name);
    if (hit) {
      this.cache.delete(name);
      this.cache.set(name, hit);
      return hit;
    }
    const entry: CacheEntry = { model: this.loader(dir, name), users: 0, evicted: false };
    this.cache.set(name, entry);
    entry.model.catch(() => {
      if (this.cache.get(name) === entry) this.cache.delete(name);
    });
    while (this.cache.size > this.maxLoaded) {
      const [oldName, old] = this.cache.entries().next().value as [string, CacheEntry];
      this.cache.delete(oldName);
      old.evicted = true;
      old.model.then(
        (m) => {
          if (old.users === 0) m.dispose?.();
        },
        () => undefined,
      );
    }
    return entry;
  }
}
