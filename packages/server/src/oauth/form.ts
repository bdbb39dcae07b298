// The frame of the OAuth endpoints that take a form (token, revoke, introspect): a form body and nothing else,
// bounded, every parameter at most once; refusals in the OAuth shape. Each endpoint registers inside its own
// Fastify scope, so these parsers and this error handler apply to these routes only (the rest of the server
// keeps its JSON contract).
import { InvalidRequestError, type AuthRequest } from '@tessera/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { logFailure, send } from '../http-errors.js';
import { oauthErrorResult } from './oauth-errors.js';

/** Token, revocation and introspection requests are a handful of short parameters: 8 KiB is generous, and a bound. */
export const OAUTH_BODY_LIMIT = 8 * 1024;

const FORM = 'application/x-www-form-urlencoded';

/** The parameters of a form body, each present at most once, empty ones left out (RFC 6749 §3.1). */
export type FormParams = ReadonlyMap<string, string>;

/**
 * Parses a form body. A parameter sent twice is refused (RFC 6749 §3.1 and §3.2: "Request and response
 * parameters MUST NOT be included more than once"), even when one of the two is empty; a parameter sent
 * without a value counts as omitted (§3.1).
 */
export function parseForm(body: string): FormParams {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (seen.has(name)) throw new InvalidRequestError({ message: `The parameter ${printable(name)} was sent more than once` });
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** The form parameters of a request in an OAuth scope (an empty map for a request without a body). */
export function formOf(request: FastifyRequest): FormParams {
  const body = request.body;
  return body instanceof Map ? (body as FormParams) : new Map();
}

/** The request as the library reads it (raw headers, so a second `DPoP` or `Authorization` line is seen). */
export function authRequestOf(request: FastifyRequest): AuthRequest & { path: string } {
  const path = request.url.split('?', 1)[0] ?? request.url;
  return {
    method: request.method,
    headers: request.raw.rawHeaders,
    body: undefined,
    get protocol() {
      return request.protocol;
    },
    get ip() {
      return request.ip;
    },
    path,
  };
}

/**
 * Registers `routes` inside a scope of their own that takes only form bodies (JSON and anything else: 400
 * `invalid_request`, as RFC 6749 §3.2 requires the form) of at most `OAUTH_BODY_LIMIT` bytes, and answers
 * every refusal as `{error, error_description}` (RFC 6749 §5.2). `realm` names the Basic challenge of a
 * failed client authentication (RFC 6749 §5.2, RFC 7617).
 */
export function oauthScope(app: FastifyInstance, realm: string, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: OAUTH_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    scope.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      // Logged as the server's own handler logs (http-errors.ts); answered in the OAuth shape.
      logFailure(err, request);
      return send(reply, oauthErrorResult(err, realm));
    });
    routes(scope);
  });
}

/** A parameter name as it may appear in a message: short, printable ASCII. */
function printable(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
