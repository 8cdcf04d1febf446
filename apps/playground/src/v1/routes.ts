// The OpenAI-compatible API under /v1: GET /v1/models, POST /v1/completions and /v1/chat/completions, JSON or
// (stream: true) server-sent events of OpenAI's chunk objects ending in `data: [DONE]`. Generations go through
// the server's Generator, so they share its queue, --max-queue (429) and --request-timeout with /api. A timed
// out request answers 504 (timeout_error); a timed out stream ends with finish_reason "length" and [DONE],
// since its 200 status and first tokens are already sent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateResultJSON } from '@gptlab/decoding';
import type { Generator } from '../generator';
import { isAbortError } from '../queue';
import { bad, checkAgainstModel, resolveStrategy, type Limits } from '../requests';
import { requestSignal, startEventStream, timeoutError } from '../request-signal';
import { HttpError, acquireModel, type GenerateRequest, type LoadedModel, type ModelRegistry } from '../types';
import { renderChat } from './chat-template';
import { openAIError } from './errors';
import { parseChatBody, parseCompletionBody, type ChatParams, type CompletionParams } from './params';
import {
  chatLogprobs,
  chunk,
  completionLogprobs,
  finishReason,
  fullResponse,
  responseId,
  usage,
  usageChunk,
  type ResponseHead,
  type TokenLogprobs,
} from './responses';

export interface V1Options {
  registry: ModelRegistry;
  generator: Generator;
  limits: Limits;
  /** Milliseconds a request may take, queue wait included (0: no limit). */
  requestTimeoutMs: number;
}

/** Registers the /v1 routes (call inside `app.register(..., {prefix: '/v1'})` so the error handler stays local). */
export async function v1Routes(app: FastifyInstance, opts: V1Options): Promise<void> {
  const { registry, generator, limits } = opts;

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const { status, headers, body } = openAIError(err);
    if (status >= 500) app.log.error(err);
    return reply.code(status).headers(headers).send(body);
  });

  const modelRoot = (registry as { root?: string }).root;
  const modelObject = (id: string) => {
    // `created` is the checkpoint directory's modification time when the registry is a directory.
    let created = 0;
    if (modelRoot) created = Math.floor((fs.statSync(path.join(modelRoot, id), { throwIfNoEntry: false })?.mtimeMs ?? 0) / 1000);
    return { id, object: 'model', created, owned_by: 'gptlab' };
  };
  app.get('/models', async () => ({ object: 'list', data: (await registry.list()).map(modelObject) }));
  app.get<{ Params: { model: string } }>('/models/:model', async (req) => {
    if (!(await registry.list()).includes(req.params.model))
      throw new HttpError(404, `The model '${req.params.model}' does not exist`, { param: 'model' });
    return modelObject(req.params.model);
  });

  const handle = async (params: CompletionParams | ChatParams, req: FastifyRequest, reply: FastifyReply) => {
    if (params.stream && params.topLogprobs > 0)
      bad(
        'top log-probs are not computed in streams on this server: use stream: false, or logprobs without alternatives',
        params.kind === 'chat' ? 'top_logprobs' : 'logprobs',
      );
    const lease = await acquireModel(registry, params.model).catch((e: Error) => {
      if (e instanceof HttpError && !e.extra.param) throw new HttpError(e.statusCode, e.message, { param: 'model' });
      throw e;
    });
    try {
      const { model } = lease;
      const promptField = params.kind === 'chat' ? 'messages' : 'prompt';
      let promptText: string;
      let promptIds: number[];
      if (params.kind === 'chat') {
        promptText = renderChat(params.model, model.chatTemplate, params.messages);
        // The template writes special tokens (turn ends, <|endoftext|>) as text: they are read back as their ids.
        promptIds = model.encodeChat ? model.encodeChat(promptText) : model.encode(promptText);
      } else if (typeof params.prompt === 'string') {
        promptText = params.prompt;
        promptIds = model.encode(promptText);
      } else {
        promptIds = params.prompt;
        checkAgainstModel(promptIds, 0, model, promptField);
        promptText = model.decode(promptIds);
      }
      const input = { ...params.strategy };
      // Chat without max_tokens: as much as the context and this server allow (OpenAI's "until done").
      if (!Object.keys(input).some((k) => k === 'maxNewTokens' || k === 'max_tokens' || k === 'maxTokens' || k === 'max_new_tokens'))
        input.maxNewTokens = Math.max(1, Math.min(limits.maxNewTokens, model.contextLength - promptIds.length));
      const strategy = resolveStrategy(input, model, limits);
      checkAgainstModel(promptIds, strategy.maxNewTokens, model, promptField);
      const request: GenerateRequest = { promptIds, strategy };
      model.checkRequest?.(request);
      const head: ResponseHead = { id: responseId(params.kind), created: Math.floor(Date.now() / 1000), model: params.model };
      const rs = requestSignal(req, reply, opts.requestTimeoutMs);
      try {
        if (!params.stream) return await answer(model, request, params, head, promptText, rs.signal);
        await stream(model, request, params, head, promptText, reply, rs.signal, rs.timedOut);
      } catch (e) {
        if (!isAbortError(e)) throw e;
        if (rs.timedOut()) throw timeoutError(opts.requestTimeoutMs);
        return reply
          .code(499)
          .send({ error: { message: 'client closed the request', type: 'invalid_request_error', param: null, code: null } });
      } finally {
        rs.clear();
      }
    } finally {
      lease.release();
    }
  };

  /** The choices of one generation: n samples, or the greedy answer repeated n times. */
  const choicesOf = (result: GenerateResultJSON & { sequences?: GenerateResultJSON[] }, params: CompletionParams | ChatParams) =>
    params.repeatGreedy ? Array.from({ length: params.n }, () => result) : (result.sequences ?? [result]);

  const tokenLogprobs = async (
    model: LoadedModel,
    promptIds: number[],
    c: GenerateResultJSON,
    k: number,
    signal: AbortSignal,
  ): Promise<TokenLogprobs> => {
    const t: TokenLogprobs = { texts: model.tokenTexts(c.ids), logprobs: c.logprobs };
    if (k > 0 && c.ids.length > 0) {
      const all = [...promptIds, ...c.ids];
      const positions = c.ids.map((_, i) => promptIds.length + i);
      t.alternatives = await generator.run(() => model.topAlternatives(all, positions, k), signal);
    }
    return t;
  };

  async function answer(
    model: LoadedModel,
    request: GenerateRequest,
    params: CompletionParams | ChatParams,
    head: ResponseHead,
    promptText: string,
    signal: AbortSignal,
  ) {
    const result = await generator.generate(model, request, { signal });
    const choices = choicesOf(result, params);
    let logprobs: (object | null)[] = choices.map(() => null);
    if (params.logprobs) {
      // Greedy repeats share one computation.
      const distinct = params.repeatGreedy ? [choices[0]!] : choices;
      const per = await Promise.all(distinct.map((c) => tokenLogprobs(model, request.promptIds, c, params.topLogprobs, signal)));
      const shaped = per.map((t) => (params.kind === 'chat' ? chatLogprobs(t) : completionLogprobs(t, promptText.length)));
      logprobs = choices.map((_, i) => shaped[params.repeatGreedy ? 0 : i]!);
    }
    return fullResponse(params.kind, head, choices, logprobs, usage(request.promptIds.length, choices));
  }

  async function stream(
    model: LoadedModel,
    request: GenerateRequest,
    params: CompletionParams | ChatParams,
    head: ResponseHead,
    promptText: string,
    reply: FastifyReply,
    signal: AbortSignal,
    timedOut: () => boolean,
  ) {
    const sse = startEventStream(reply);
    const send = (data: unknown) => sse.write(`data: ${JSON.stringify(data)}\n\n`);
    const kind = params.kind;
    const indexes = Array.from({ length: params.n }, (_, i) => i);
    if (kind === 'chat') indexes.forEach((i) => send(chunk(kind, head, i, { role: true, text: '' })));
    let streamed = '';
    let streamedTokens = 0;
    const tokenLp = (token: number, logprob: number, offset: number) => {
      const t: TokenLogprobs = { texts: model.tokenTexts([token]), logprobs: [logprob] };
      return kind === 'chat' ? chatLogprobs(t) : completionLogprobs(t, offset);
    };
    try {
      // One sequence streams token by token; several (n > 1) are only known together, then sent per choice.
      const single = params.n === 1;
      const result = await generator.generate(model, request, {
        signal,
        onToken: single
          ? (ev) => {
              streamedTokens++;
              const logprobs = params.logprobs ? tokenLp(ev.token, ev.logprob, promptText.length + streamed.length) : null;
              streamed += ev.text;
              if (ev.text || logprobs) send(chunk(kind, head, 0, { text: ev.text, logprobs }));
            }
          : undefined,
      });
      const choices = choicesOf(result, params);
      choices.forEach((c, i) => {
        const rest = single && c.text.startsWith(streamed) ? c.text.slice(streamed.length) : single ? '' : c.text;
        if (rest) send(chunk(kind, head, i, { text: rest }));
        send(chunk(kind, head, i, { text: kind === 'chat' ? undefined : '', finish: finishReason(c.finishReason) }));
      });
      if (params.includeUsage) send(usageChunk(kind, head, usage(request.promptIds.length, choices)));
      sse.write('data: [DONE]\n\n');
    } catch (e) {
      if (isAbortError(e) && timedOut()) {
        // Out of time: what was sent stands, cut off like a length limit.
        send(chunk(kind, head, 0, { text: kind === 'chat' ? undefined : '', finish: 'length' }));
        if (params.includeUsage) {
          const p = request.promptIds.length;
          send(usageChunk(kind, head, { prompt_tokens: p, completion_tokens: streamedTokens, total_tokens: p + streamedTokens }));
        }
        sse.write('data: [DONE]\n\n');
      } else if (!isAbortError(e)) {
        const { status, body } = openAIError(e as Error);
        if (status >= 500) reply.log.error(e);
        send(body);
      }
    } finally {
      sse.end();
    }
  }

  app.post('/completions', async (req, reply) => handle(parseCompletionBody(req.body, limits), req, reply));
  app.post('/chat/completions', async (req, reply) => handle(parseChatBody(req.body, limits), req, reply));
}
