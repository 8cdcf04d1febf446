// OpenAI's error object for every /v1 failure: {"error": {"message", "type", "param", "code"}} with the HTTP
// status OpenAI uses for the same failure, so the official clients raise their matching exception classes
// (BadRequestError, AuthenticationError, NotFoundError, RateLimitError, InternalServerError).
import { HttpError } from '../types';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPE_BY_STATUS: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['authentication_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'model_not_found'],
  413: ['invalid_request_error', 'request_too_large'],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
  504: ['timeout_error', 'request_timeout'],
};

/** The status, headers and OpenAI error body for any error thrown while serving a /v1 request. */
export function openAIError(err: Error & { statusCode?: number }): {
  status: number;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
} {
  const http = err instanceof HttpError;
  // Fastify's own 4xx (unparsable JSON, body too large) carry statusCode; anything else is our fault.
  const status = http ? err.statusCode : typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 500;
  const [type, code] = TYPE_BY_STATUS[status] ?? (status >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
  const param = http ? (err.extra.param ?? null) : null;
  const message = status === 500 && !http ? `internal error: ${err.message}` : err.message;
  return {
    status,
    headers: http ? (err.extra.headers ?? {}) : {},
    body: { error: { message, type, param, code: status === 404 && !/model/.test(message) ? 'not_found' : code } },
  };
}
