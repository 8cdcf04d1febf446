// The playground's HTTP server: the single-page UI plus a small JSON/SSE API over a ModelRegistry.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { STRATEGY_FIELDS } from '@gptlab/decoding';
import { JobQueue, isAbortError } from './queue';
import {
  HttpError,
  type Alternative,
  type GenerateRequest,
  type GenerateResult,
  type LoadedModel,
  type ModelRegistry,
  type TokenEvent,
} from './types';
import { DEFAULT_LIMITS, checkAgainstModel, parseAttentionBody, parseGenerateBody, resolveStrategy, type Limits } from './requests';

export interface ServerOptions {
  registry: ModelRegistry;
  limits?: Partial<Limits>;
  /** Jobs (generation, attention) run through this queue; default: one at a time, 32 waiting at most. */
  queue?: JobQueue;
  /** Directory holding index.html, style.css and the UI's ES modules (default: the ui folder next to this file). */
  uiDir?: string;
  logger?: boolean;
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

/** An AbortController that fires when the client goes away before the response is complete. */
function disconnectSignal(request: FastifyRequest, reply: FastifyReply): AbortController {
  const ac = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableEnded) ac.abort();
  };
  reply.raw.on('close', onClose);
  request.raw.socket?.on?.('close', onClose);
  return ac;
}

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const queue = opts.queue ?? new JobQueue(1, 32);
  const registry = opts.registry;
  const uiDir = opts.uiDir ?? defaultUiDir();
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 4 * 1024 * 1024 });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message });
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message });
    }
    app.log.error(err);
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

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

  app.get('/api/health', async () => ({ ok: true, queue: { active: queue.active, pending: queue.pending } }));

  app.get('/api/models', async () => ({ models: await registry.list() }));

  app.get<{ Params: { name: string } }>('/api/models/:name', async (req) => {
    const model = await registry.load(req.params.name);
    return { ...model.card, limits };
  });

  app.post('/api/generate', async (req, reply) => {
    const body = parseGenerateBody(req.body, limits);
    const model = await registry.load(body.model);
    const promptIds = body.promptIds ?? model.encode(body.prompt!);
    const strategy = resolveStrategy(body.strategy, model, limits);
    checkAgainstModel(promptIds, strategy.maxNewTokens, model, body.promptIds ? 'promptIds' : 'prompt');
    const request: GenerateRequest = { promptIds, strategy };
    model.checkRequest?.(request);
    const ac = disconnectSignal(req, reply);
    const wantsStream = (req.headers.accept ?? '').includes('text/event-stream');
    if (!wantsStream) {
      try {
        const out = await queue.run(() => runGenerate(model, request, body.topAlternatives, ac.signal), ac.signal);
        return out;
      } catch (e) {
        if (isAbortError(e)) return reply.code(499).send({ error: 'client closed the request' });
        throw e;
      }
    }
    // Server-sent events: `queued` (position), `start`, one `token` per new token, then `done` or `error`.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    if (queue.active > 0) send('queued', { position: queue.pending + 1 });
    try {
      const out = await queue.run(() => {
        send('start', { promptIds, promptTokens: model.tokenTexts(promptIds) });
        return runGenerate(model, request, body.topAlternatives, ac.signal, (ev) => send('token', ev));
      }, ac.signal);
      send('done', { ...out, tokens: model.tokenTexts(out.ids) });
    } catch (e) {
      if (!isAbortError(e)) {
        const status = e instanceof HttpError ? e.statusCode : 500;
        if (status >= 500) app.log.error(e);
        send('error', { error: (e as Error).message, statusCode: status });
      }
    } finally {
      res.end();
    }
  });

  app.post('/api/attention', async (req, reply) => {
    const body = parseAttentionBody(req.body, limits);
    const model = await registry.load(body.model);
    const promptIds = body.promptIds ?? model.encode(body.prompt!);
    const ids = [...promptIds, ...body.generatedIds];
    checkAgainstModel(ids, 0, model, 'ids');
    if (ids.length > limits.maxAttentionTokens) {
      throw new HttpError(400, `the attention view shows at most ${limits.maxAttentionTokens} tokens (got ${ids.length})`);
    }
    if (body.layer >= model.card.nLayer) throw new HttpError(400, `layer must be in [0, ${model.card.nLayer - 1}] (got ${body.layer})`);
    if (body.head >= model.card.nHead) throw new HttpError(400, `head must be in [0, ${model.card.nHead - 1}] (got ${body.head})`);
    const ac = disconnectSignal(req, reply);
    try {
      return await queue.run(async () => {
        const probs = await model.attention(ids, body.layer, body.head);
        return {
          ids,
          tokens: model.tokenTexts(ids),
          promptLength: promptIds.length,
          layer: body.layer,
          head: body.head,
          probs,
          sparse: model.sparsePattern(body.layer, ids.length),
        };
      }, ac.signal);
    } catch (e) {
      if (isAbortError(e)) return reply.code(499).send({ error: 'client closed the request' });
      throw e;
    }
  });

  return app;
}

async function runGenerate(
  model: LoadedModel,
  request: GenerateRequest,
  topAlternatives: number,
  signal: AbortSignal,
  onToken?: (ev: TokenEvent) => void,
): Promise<GenerateResult & { alternatives?: Alternative[][] }> {
  const result = await model.generate(request, { signal, onToken });
  if (topAlternatives > 0 && result.ids.length > 0 && !signal.aborted) {
    const { promptIds } = request;
    const all = [...promptIds, ...result.ids];
    const positions = result.ids.map((_, i) => promptIds.length + i);
    const alternatives = await model.topAlternatives(all, positions, topAlternatives);
    return { ...result, alternatives };
  }
  return result;
}
