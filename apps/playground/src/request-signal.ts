// One AbortSignal per request that fires when the client goes away before the response is complete or when
// the server's --request-timeout passes, whichever comes first: either way the request's generation stops
// (or it leaves the queue) and its slot is freed.
import { isAbortError } from './queue';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './types';

export interface RequestSignal {
  signal: AbortSignal;
  /** True when the timeout (not the client) fired the signal. */
  timedOut(): boolean;
  /** Stops the timer (call when the response is complete). */
  clear(): void;
}

/** `timeoutMs` 0 or Infinity: no timeout. */
export function requestSignal(request: FastifyRequest, reply: FastifyReply, timeoutMs = 0): RequestSignal {
  const ac = new AbortController();
  let timedOut = false;
  const onClose = () => {
    if (!reply.raw.writableEnded) ac.abort();
  };
  reply.raw.on('close', onClose);
  request.raw.socket?.on?.('close', onClose);
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          timedOut = true;
          ac.abort();
        }, timeoutMs)
      : undefined;
  timer?.unref?.();
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
      request.raw.socket?.off?.('close', onClose);
    },
  };
}

/** The error of a request stopped by --request-timeout (504). */
export function timeoutError(timeoutMs: number): HttpError {
  return new HttpError(504, `the request took longer than --request-timeout (${timeoutMs / 1000} s)`);
}

/** Starts a server-sent-events response on a hijacked reply; the returned `write` ignores a closed socket. */
export function startEventStream(reply: FastifyReply): { write: (text: string) => void; end: () => void } {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return {
    write: (text) => {
      if (!res.writableEnded && !res.destroyed) res.write(text);
    },
    end: () => res.end(),
  };
}

/**
 * Runs a JSON request's work under its signal and always clears it: a timeout becomes a 504 (HttpError), a client
 * that went away gets a 499, anything else propagates.
 */
export async function underRequestSignal<T>(rs: RequestSignal, reply: FastifyReply, timeoutMs: number, work: () => Promise<T>) {
  try {
    return await work();
  } catch (e) {
    if (isAbortError(e) && rs.timedOut()) throw timeoutError(timeoutMs);
    if (isAbortError(e)) return reply.code(499).send({ error: 'client closed the request' });
    throw e;
  } finally {
    rs.clear();
  }
}
