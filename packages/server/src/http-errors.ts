// The server's one renderer of failures (docs/architecture.md "Errors"): every refusal — Tessera's own,
// the server's (validation, throttling, a busy hasher, a database down) and Fastify's (bad JSON, size,
// media type, 404), and what Node's parser refuses on the raw socket — becomes the library's `errorResult`;
// anything unexpected is a 500, logged, never a stack trace on the wire. Routes throw; they build no error body.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
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
  type Refusal,
} from '@tessera/auth';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { databaseProblem, DatabaseUnavailableError } from './db/connect.js';
import { HashThreadError } from './users/hash-workers.js';
import { HasherBusyError } from './users/hasher.js';

/** A real fault: no error class, the same shape; the cause goes to the log only. */
const INTERNAL_ERROR: Refusal = { code: 'internal_error', status: 500, message: 'Something went wrong on our side' };

/** Maps an error to a Tessera refusal, or undefined when it is a real fault (500). */
export function asRefusal(err: unknown): TesseraError | undefined {
  if (err instanceof TesseraError) return err;
  if (err instanceof HasherBusyError || err instanceof HashThreadError) return new ServerBusyError({ retryAfter: 1 });
  if (err instanceof DatabaseUnavailableError) return new StoreUnavailableError({ cause: err });
  // A driver failure that escaped a store (a timeout, a serialization failure, a refused connection): 503, never its code.
  if (databaseProblem(err) !== undefined) return new StoreUnavailableError({ cause: err });
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

/** The answer to any failure: its refusal through the library's `errorResult`, or the 500. */
export function errorAnswer(err: unknown): HttpResult {
  return errorResult(asRefusal(err) ?? INTERNAL_ERROR);
}

/** Writes a plain HttpResult on a Fastify reply. */
export function send(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status);
  const headers = result.headers;
  // for…in over the plain headers object: no array of entries per answer.
  for (const name in headers) {
    const value = headers[name] as string | readonly string[];
    reply.header(name, typeof value === 'string' ? value : [...value]);
  }
  return reply.send(result.body);
}

/**
 * Logs what is not the caller's fault (a real fault, or a 5xx refusal) and answers the refusal, if `err` is one.
 * Every error handler calls it (this one, the OAuth form endpoints', the authorization page's).
 */
export function logFailure(err: unknown, request: FastifyRequest): TesseraError | undefined {
  const refusal = asRefusal(err);
  if (refusal === undefined) request.log.error({ err }, 'unexpected error');
  else if (refusal.status >= 500) {
    // The cause as a sentence ("Postgres at host:port refused the connection"), for the operator; the client gets the code alone.
    const problem = databaseProblem(refusal.cause);
    request.log.warn(
      problem === undefined ? { code: refusal.code, cause: String(refusal.cause ?? '') } : { code: refusal.code, problem },
      `request refused: ${problem ?? 'dependency unavailable'}`,
    );
  }
  return refusal;
}

/** The Fastify error handler: logs what is not the caller's fault, then answers. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return send(reply, errorAnswer(logFailure(err, request) ?? err));
}

/** The Fastify not-found handler: 404 `not_found`. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return handleError(new NotFoundError(), request, reply);
}

/** The refusal of /metrics without the right token: 401 `token_invalid` with a bare `Bearer` challenge, `no-store` like every refusal. */
export function metricsTokenRefused(): HttpResult {
  return errorResult(new TesseraError('token_invalid', { message: 'The metrics token is missing or wrong', tokenPresented: false }));
}

/**
 * Answers what Node's HTTP parser refuses before any route runs (conflicting Content-Length,
 * oversize headers, garbage) in the same `{error, message}` shape, then closes the connection.
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const refusal =
    err.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLargeError() : new InvalidRequestError({ message: 'The request could not be parsed' });
  writeAndClose(socket, errorAnswer(refusal));
}

/**
 * Answers CONNECT (RFC 9110 §9.3.6), which Node hands to the server's `'connect'` listeners and, with
 * none, answers by dropping the socket. This server is no proxy: 400 `invalid_request` in the JSON
 * contract (no code of the table is a 405), then the connection closes, as a tunnel request's must.
 */
export function handleConnect(_request: IncomingMessage, socket: Duplex): void {
  // Node has taken its own listeners off a CONNECT socket: a reset must not become an uncaught 'error'.
  socket.on('error', () => socket.destroy());
  if (!socket.writable) return void socket.destroy();
  writeAndClose(socket, errorAnswer(new InvalidRequestError({ message: 'This server is not a proxy: CONNECT is not served' })));
}

/**
 * The refusal of an HTTP/1.1 request without exactly one Host line (RFC 9112 §3.2: the server MUST answer 400),
 * or undefined. HTTP/1.0 may leave Host out. Node's own check answers a bare 400 with no body, so the server
 * turns it off (`requireHostHeader: false`) and refuses here, in the JSON contract.
 */
export function hostRefusal(request: IncomingMessage): InvalidRequestError | undefined {
  if (request.httpVersionMajor !== 1 || request.httpVersionMinor < 1) return undefined;
  // Node keeps only the first of two Host lines in `headers`; the raw list shows them all.
  const raw = request.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts === 1) return undefined;
  return new InvalidRequestError({ message: hosts === 0 ? 'An HTTP/1.1 request must send a Host header' : 'Send one Host header' });
}

/** Writes an answer straight on a socket Node has given up on (no ServerResponse exists), then closes it. */
function writeAndClose(socket: Duplex, result: HttpResult): void {
  const { status, headers, body = '' } = result;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${String(v)}`),
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
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
