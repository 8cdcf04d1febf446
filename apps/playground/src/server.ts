// The playground's HTTP server: the single-page UI, a small JSON/SSE API (/api) and the OpenAI-compatible API
// (/v1, src/v1) over a ModelRegistry. Generations are scheduled by a Generator (src/generator.ts).
import { timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { STRATEGY_FIELDS } from '@gptlab/decoding';
import { BatchingGenerator, type Generator } from './generator';
import { JobQueue, isAbortError } from './queue';
import { requestSignal, startEventStream, timeoutError, underRequestSignal } from './request-signal';
import {
  HttpError,
  withModel,
  type Alternative,
  type GenerateRequest,
  type GenerateResult,
  type LoadedModel,
  type ModelRegistry,
  type GenerateHooks,
} from './types';
import { DEFAULT_LIMITS, checkAgainstModel, parseAttentionBody, parseGenerateBody, resolveStrategy, type Limits } from './requests';
import { openAIError } from './v1/errors';
import { v1Routes } from './v1/routes';
import { browserFiles } from './browser-files';

export interface ServerOptions {
  registry: ModelRegistry;
  limits?: Partial<Limits>;
  /**
   * Jobs (generation, attention) run through this queue; default: one at a time, 256 waiting at most. Its
   * maxPending also bounds the requests waiting for a row of a model's batch engine.
   */
  queue?: JobQueue;
  /**
   * Schedules generations. Default: a BatchingGenerator over `queue` (continuous batching for models with a batch
   * engine, the queue for the rest).
   */
  generator?: Generator;
  /** Seconds a request may take, queue wait included, before its generation is stopped (default 120; 0: none). */
  requestTimeoutS?: number;
  /** When set, /api and /v1 requests need `Authorization: Bearer <apiKey>` (the static UI stays open). */
  apiKey?: string;
  /** Directory holding index.html, style.css and the UI's ES modules (default: the ui folder next to this file). */
  uiDir?: string;
  /** Folder of the "run in this browser" bundle, gptlab-browser.js (default: dist/browser of the build). */
  browserBundleDir?: string;
  /** Fastify's pino logger: a level ('info', 'debug', ...; 'silent' or false: none). */
  logger?: boolean | string;
}

export const DEFAULT_REQUEST_TIMEOUT_S = 120;

/** Constant-time check of an `Authorization: Bearer KEY` header. */
function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(key);
  return given.length === want.length && timingSafeEqual(given, want);
}

// The UI is static files: index.html at /, and the stylesheet and ES modules of the ui folder by name.
const UI_FILE = /^[a-z][a-z0-9-]*\.(js|css|html)$/;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export function defaultUiDir(): string {
  // src/ui when running from source (tests), dist/ui when running the build.
  return path.join(__dirname, 'ui');
}

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const generator = opts.generator ?? new BatchingGenerator(opts.queue ?? new JobQueue());
  const registry = opts.registry;
  const uiDir = opts.uiDir ?? defaultUiDir();
  const requestTimeoutMs = (opts.requestTimeoutS ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
  const level = opts.logger === true ? 'info' : opts.logger === false || opts.logger === undefined ? 'silent' : opts.logger;
  const app = Fastify({ logger: level === 'silent' ? false : { level }, bodyLimit: 4 * 1024 * 1024 });

  if (opts.apiKey) {
    const apiKey = opts.apiKey;
    app.addHook('onRequest', async (req, reply) => {
      const url = req.url;
      const isV1 = url === '/v1' || url.startsWith('/v1/');
      if (!isV1 && !(url === '/api' || url.startsWith('/api/') || url.startsWith('/browser/models/'))) return;
      if (bearerMatches(req.headers.authorization, apiKey)) return;
      const message = 'missing or wrong API key: send Authorization: Bearer <key> (the server runs with --api-key)';
      if (isV1) {
        const { body } = openAIError(new HttpError(401, message));
        return reply.code(401).header('www-authenticate', 'Bearer').send(body);
      }
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: message });
    });
  }

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError)
      return reply
        .code(err.statusCode)
        .headers(err.extra.headers ?? {})
        .send({ error: err.message });
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message });
    }
    app.log.error(err);
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `no route ${req.method} ${req.url}`;
    if (req.url.startsWith('/v1/')) return reply.code(404).send(openAIError(new HttpError(404, message)).body);
    return reply.code(404).send({ error: message });
  });
  await app.register(
    (v1, _o, done) => {
      v1Routes(v1, { registry, generator, limits, requestTimeoutMs }).then(() => done(), done);
    },
    { prefix: '/v1' },
  );
  // "Run in this browser": the bundle, the wasm backend's files and the checkpoints' files (src/browser-files.ts).
  await app.register((b, _o, done) => void browserFiles(b, { registry, bundleDir: opts.browserBundleDir }).then(() => done(), done), {
    prefix: '/browser',
  });

  const sendUiFile = async (file: string, reply: FastifyReply) => {
    let body: string;
    try {
      body = await fs.promises.readFile(path.join(uiDir, file), 'utf8');
    } catch {
      if (file !== 'index.html') throw new HttpError(404, `no UI file ${file}`);
      throw new HttpError(500, `UI file ${file} is missing from ${uiDir} (was the package built?)`);
    }
    return reply.type(CONTENT_TYPES[path.extname(file)]!).header('cache-control', 'no-cache').send(body);
  };
  app.get('/', (_req, reply) => sendUiFile('index.html', reply));
  app.get<{ Params: { file: string } }>('/:file', (req, reply) => {
    // One path component matching UI_FILE: no request can reach outside the ui folder.
    if (!UI_FILE.test(req.params.file)) throw new HttpError(404, `no route GET ${req.url}`);
    return sendUiFile(req.params.file, reply);
  });

  // The decoding strategy schema (@gptlab/decoding's field table) and this server's limits: the web form is made from it.
  app.get('/api/schema', async () => ({ fields: STRATEGY_FIELDS, limits }));

  app.get('/api/health', async () => ({ ok: true, queue: { active: generator.active, pending: generator.pending } }));

  app.get('/api/models', async () => ({ models: await registry.list() }));

  app.get<{ Params: { name: string } }>('/api/models/:name', async (req) => {
    const model = await registry.load(req.params.name);
    return { ...model.card, limits };
  });

  app.post('/api/generate', async (req, reply) => {
    const body = parseGenerateBody(req.body, limits);
    return withModel(registry, body.model, (model) => generate(body, model, req, reply));
  });

  const generate = async (body: ReturnType<typeof parseGenerateBody>, model: LoadedModel, req: FastifyRequest, reply: FastifyReply) => {
    const promptIds = body.promptIds ?? model.encode(body.prompt!);
    const strategy = resolveStrategy(body.strategy, model, limits);
    checkAgainstModel(promptIds, strategy.maxNewTokens, model, body.promptIds ? 'promptIds' : 'prompt');
    const request: GenerateRequest = { promptIds, strategy, ...(body.image ? { image: body.image } : {}) };
    model.checkRequest?.(request);
    const rs = requestSignal(req, reply, requestTimeoutMs);
    const wantsStream = (req.headers.accept ?? '').includes('text/event-stream');
    if (!wantsStream) {
      return underRequestSignal(rs, reply, requestTimeoutMs, () => runGenerate(generator, model, request, body.topAlternatives, rs.signal));
    }
    // Server-sent events: `queued` (position), `start`, one `token` per new token, then `done` or `error`.
    const sse = startEventStream(reply);
    const send = (event: string, data: unknown) => sse.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const position = generator.queuePosition(model, request);
    if (position > 0) send('queued', { position });
    try {
      const out = await runGenerate(generator, model, request, body.topAlternatives, rs.signal, {
        onStart: () => send('start', { promptIds, promptTokens: model.tokenTexts(promptIds) }),
        onToken: (ev) => send('token', ev),
      });
      send('done', { ...out, tokens: model.tokenTexts(out.ids) });
    } catch (e) {
      const err = isAbortError(e) && rs.timedOut() ? timeoutError(requestTimeoutMs) : e;
      if (!isAbortError(err)) {
        const status = err instanceof HttpError ? err.statusCode : 500;
        if (status >= 500) app.log.error(err);
        send('error', { error: (err as Error).message, statusCode: status });
      }
    } finally {
      rs.clear();
      sse.end();
    }
  };

  app.post('/api/attention', async (req, reply) => {
    const body = parseAttentionBody(req.body, limits);
    return withModel(registry, body.model, (model) => attention(body, model, req, reply));
  });

  const attention = async (body: ReturnType<typeof parseAttentionBody>, model: LoadedModel, req: FastifyRequest, reply: FastifyReply) => {
    const promptIds = body.promptIds ?? model.encode(body.prompt!);
    const ids = [...promptIds, ...body.generatedIds];
    checkAgainstModel(ids, 0, model, 'ids');
    if (ids.length > limits.maxAttentionTokens) {
      throw new HttpError(400, `the attention view shows at most ${limits.maxAttentionTokens} tokens (got ${ids.length})`);
    }
    if (body.layer >= model.card.nLayer) throw new HttpError(400, `layer must be in [0, ${model.card.nLayer - 1}] (got ${body.layer})`);
    if (body.head >= model.card.nHead) throw new HttpError(400, `head must be in [0, ${model.card.nHead - 1}] (got ${body.head})`);
    const rs = requestSignal(req, reply, requestTimeoutMs);
    return underRequestSignal(rs, reply, requestTimeoutMs, () =>
      generator.run(async () => {
        const probs = await model.attention(ids, body.layer, body.head, body.image);
        // With an image the rows start with its visual tokens: id -1, labelled <img 0>, <img 1>, …
        const visual = probs.length - ids.length;
        return {
          ids: [...new Array<number>(visual).fill(-1), ...ids],
          tokens: [...Array.from({ length: visual }, (_, i) => `<img ${i}>`), ...model.tokenTexts(ids)],
          promptLength: visual + promptIds.length,
          layer: body.layer,
          head: body.head,
          probs,
          sparse: model.sparsePattern(body.layer, ids.length),
        };
      }, rs.signal),
    );
  };

  return app;
}

async function runGenerate(
  generator: Generator,
  model: LoadedModel,
  request: GenerateRequest,
  topAlternatives: number,
  signal: AbortSignal,
  hooks: Omit<GenerateHooks, 'signal'> = {},
): Promise<GenerateResult & { alternatives?: Alternative[][] }> {
  const result = await generator.generate(model, request, { ...hooks, signal });
  // (Alternatives are scored on the text alone: an image request gets none.)
  if (topAlternatives > 0 && result.ids.length > 0 && !signal.aborted && !request.image) {
    const { promptIds } = request;
    const all = [...promptIds, ...result.ids];
    const positions = result.ids.map((_, i) => promptIds.length + i);
    const alternatives = await generator.run(() => model.topAlternatives(all, positions, topAlternatives), signal);
    return { ...result, alternatives };
  }
  return result;
}
