// A Nest request and response on either platform (Express or Fastify) as plain values, and an
// HttpResult written back as it is: the only place the Nest adapter meets the platform underneath.
import type { Identity } from '../adapter-kit.js';
import { AdapterRequest, requestPath, type AuthRequest, type RequestFacts } from '../../core/transport/request.js';
import type { HttpResult } from '../../core/transport/error-response.js';

/**
 * What Tessera reads of the request Nest hands a guard or `@Req()`: Express's `Request`, or Fastify's
 * request with Node's message as `raw`. Both platforms' request types fit it.
 */
export interface NestRequest {
  readonly method: string;
  readonly body?: unknown;
  readonly protocol?: string | undefined;
  readonly ip?: string | undefined;
  /** Express: Node's header list as received. */
  readonly rawHeaders?: readonly string[] | undefined;
  /** Express: the request target before any router took its part (DPoP `htu`). */
  readonly originalUrl?: string | undefined;
  /** Fastify: Node's message, with the header list and the request target as received. */
  readonly raw?: { readonly rawHeaders: readonly string[]; readonly url?: string | undefined } | undefined;
  /** Set by `TesseraGuard`: the verified caller, or null on an optional route without a token. */
  auth?: Identity<unknown> | null | undefined;
}

const FACTS: RequestFacts<NestRequest> = {
  protocol: (request) => request.protocol,
  ip: (request) => request.ip,
  path: (request) => requestPath(request.originalUrl ?? request.raw?.url),
};

export function toAuthRequest(request: NestRequest): AuthRequest {
  // The raw list, not parsed headers: Node keeps only the first of two Authorization lines there, and the core refuses two.
  const headers = request.rawHeaders ?? request.raw?.rawHeaders ?? [];
  return new AdapterRequest(request.method, headers, request.body, request, FACTS);
}

/** The subset of Express's `Response` written to. */
interface ExpressResponse {
  status(code: number): unknown;
  setHeader(name: string, value: string | readonly string[]): unknown;
  append(name: string, value: string[]): unknown;
  end(body?: string): unknown;
}

/** The subset of Fastify's `FastifyReply` written to. */
interface FastifyReply {
  readonly raw: object;
  code(status: number): unknown;
  header(name: string, value: string | string[]): unknown;
  send(body?: string): unknown;
}

function isFastify(response: object): response is FastifyReply {
  return 'raw' in response && typeof (response as Partial<FastifyReply>).code === 'function';
}

/** Writes a result as it is, on either platform: the same bytes the other adapters write. */
export function writeResult(response: object, result: HttpResult): void {
  if (isFastify(response)) {
    response.code(result.status);
    for (const [name, value] of Object.entries(result.headers)) response.header(name, typeof value === 'string' ? value : [...value]);
    // A string body with a JSON content-type is sent as it is: no serializer, no added headers.
    response.send(result.body);
    return;
  }
  const res = response as ExpressResponse;
  res.status(result.status);
  for (const [name, value] of Object.entries(result.headers)) {
    // append keeps cookies a guard already added (implicit refresh).
    if (name === 'set-cookie') res.append(name, [...value]);
    else res.setHeader(name, value);
  }
  // end(), not send(): no ETag and no content-type guessing.
  res.end(result.body);
}

/** Adds cookies to the answer a handler will write later (a guard's re-issued access cookie). */
export function addCookies(response: object, cookies: readonly string[]): void {
  if (isFastify(response)) response.header('set-cookie', [...cookies]);
  else (response as ExpressResponse).append('set-cookie', [...cookies]);
}
