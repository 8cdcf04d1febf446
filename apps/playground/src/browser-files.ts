// What "run in this browser" fetches, under /browser: the bundle (gptlab-browser.js, built by
// scripts/browser-bundle.mjs), the .wasm files of @tensorflow/tfjs-backend-wasm, and a checkpoint's files
// (config, weights, tokenizer) by name. Only named files are served: each is one path component matched
// against a fixed list, and model names go through resolveModelDir, so no request reaches anything else.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { resolveModelDir } from './models-dir';
import { HttpError, type ModelRegistry } from './types';

export interface BrowserFilesOptions {
  registry: ModelRegistry;
  /** Folder holding gptlab-browser.js (default: browser/ next to this file, i.e. dist/browser once built). */
  bundleDir?: string;
}

const BUNDLE_FILE = /^gptlab-browser\.js(\.map)?$/;
const WASM_FILE = /^tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/;
const MODEL_FILE =
  /^(config\.json|generation_config\.json|model\.safetensors(\.index\.json)?|model-\d{5}-of-\d{5}\.safetensors|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|encoder\.json|vocab\.bpe)$/;

function contentType(file: string): string {
  if (file.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (file.endsWith('.wasm')) return 'application/wasm';
  if (file.endsWith('.json') || file.endsWith('.map')) return 'application/json; charset=utf-8';
  if (file.endsWith('.txt') || file.endsWith('.bpe')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

async function sendFile(reply: FastifyReply, file: string, missing: string): Promise<FastifyReply> {
  let size: number;
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new HttpError(404, missing);
  }
  return reply.type(contentType(file)).header('content-length', size).header('cache-control', 'no-cache').send(fs.createReadStream(file));
}

/** The folder of a package's main file (the wasm backend keeps its .wasm files next to it). */
function packageDistDir(name: string): string {
  return path.dirname(createRequire(path.join(__dirname, 'index.js')).resolve(name));
}

/** Registers the /browser routes; register with `{ prefix: '/browser' }`. */
export async function browserFiles(app: FastifyInstance, opts: BrowserFilesOptions): Promise<void> {
  const bundleDir = opts.bundleDir ?? path.join(__dirname, 'browser');
  const root = (opts.registry as { root?: unknown }).root;

  app.get<{ Params: { file: string } }>('/:file', async (req, reply) => {
    if (!BUNDLE_FILE.test(req.params.file)) throw new HttpError(404, `no browser file ${req.params.file}`);
    const missing = `${req.params.file} is not built: run pnpm --filter @gptlab/playground build (it writes ${bundleDir})`;
    return sendFile(reply, path.join(bundleDir, req.params.file), missing);
  });

  app.get<{ Params: { file: string } }>('/wasm/:file', async (req, reply) => {
    if (!WASM_FILE.test(req.params.file)) throw new HttpError(404, `no wasm file ${req.params.file}`);
    const dir = packageDistDir('@tensorflow/tfjs-backend-wasm');
    return sendFile(reply, path.join(dir, req.params.file), `${req.params.file} is missing from ${dir}`);
  });

  app.get<{ Params: { name: string; file: string } }>('/models/:name/:file', async (req, reply) => {
    if (typeof root !== 'string') throw new HttpError(404, "this server's models are not files in a models directory");
    const { name, file } = req.params;
    if (!MODEL_FILE.test(file)) throw new HttpError(404, `${file} is not a checkpoint file the browser mode serves`);
    const dir = resolveModelDir(root, name);
    return sendFile(reply, path.join(dir, file), `model '${name}' has no ${file}`);
  });
}
