// One place that turns every failure into the `{error, message}` answer of docs/architecture.md: Tessera's own
// refusals, Fastify's (bad JSON, size, media type, validation, 404) and anything unexpected
// (500, logged, never a stack trace on the wire).
import type { Duplex } from 'node:stream';
import {
  errorResult,
  HeadersTooLargeError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  ServerBusyError,
  StoreUnavailableError,
  TesseraError,
  UnsupportedMediaTypeError,
  ValidationError,
  type HttpResult,
} from '@tessera/auth';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailableError } from './db/connect.js';
import { HasherBusyError } from './users/hasher.js';

/** Maps an error to a Tessera refusal, or undefined when it is a real fault (500). */
export function asRefusal(err: unknown): TesseraError | undefined {
  if (err instanceof TesseraError) return err;
  if (err instanceof HasherBusyError) return new ServerBusyError({ retryAfter: 1 });
  if (err instanceof DatabaseUnavailableError) return new StoreUnavailableError({ cause: err });
  const fastify = err as Partial<FastifyError> | undefined;
  switch (fastify?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError();
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequestError({ message: 'The body is not valid JSON' });
    case 'FST_ERR_VALIDATION':
      return new ValidationError({ message: validationMessage(fastify) });
    case 'FST_ERR_NOT_FOUND':
      return new NotFoundError();
  }
  if (fastify?.statusCode !== undefined && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return fastify.statusCode === 404 ? new NotFoundError() : new InvalidRequestError();
  }
  return undefined;
}

/** Writes a plain HttpResult on a Fastify reply. */
export function send(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status);
  for (const [name, value] of Object.entries(result.headers)) reply.header(name, typeof value === 'string' ? value : [...value]);
  return reply.send(result.body);
}

/**
 * Answers what Node's HTTP parser refuses before any route runs (conflicting Content-Length,
 * oversize headers, garbage) in the same `{error, message}` shape, then closes the connection.
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const refusal =
    err.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLargeError() : new InvalidRequestError({ message: 'The request could not be parsed' });
  const { status, headers, body } = errorResult(refusal);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${String(v)}`),
    `content-length: ${Buffer.byteLength(body ?? '')}`,
    'connection: close',
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 431: 'Request Header Fields Too Large' };

/** The Fastify error handler. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const refusal = asRefusal(err);
  if (refusal !== undefined) {
    if (refusal.status >= 500)
      request.log.warn({ code: refusal.code, cause: String(refusal.cause ?? '') }, 'request refused: dependency unavailable');
    return send(reply, errorResult(refusal));
  }
  request.log.error({ err }, 'unexpected error');
  return reply
    .code(500)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ error: 'internal_error', message: 'Something went wrong on our side' }));
}

function validationMessage(err: Partial<FastifyError>): string {
  const first = err.validation?.[0];
  if (first === undefined) return 'The request body is not valid';
  const field =
    (first.instancePath || '').replace(/^\//, '').replace(/\//g, '.') ||
    (first.params as { missingProperty?: string } | undefined)?.missingProperty ||
    'body';
  return `${field} ${first.message ?? 'is not valid'}`;
}
