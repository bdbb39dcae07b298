// Web Request → plain values for the Next.js adapter (HttpResult → Web Response is ../web.ts, shared with Hono).
// Next.js has no body parser for route handlers, so JSON bodies are read here, within a size limit.
import { InvalidRequestError, PayloadTooLargeError, type TesseraError } from '../../core/errors.js';
import { AdapterRequest, type AuthRequest, type RequestFacts } from '../../core/transport/request.js';
import { isJsonMediaType } from '../../core/transport/body.js';
import { parseJsonText } from '../web.js';

/** What `toAuthRequest` answers: the request as plain values, or the refusal of its body. */
export type Translated = AuthRequest | TesseraError;

const FACTS: RequestFacts<Request> = {
  protocol: (request) => new URL(request.url).protocol.replace(/:$/, ''),
  path: (request) => new URL(request.url).pathname,
  // A route handler sees no socket, and X-Forwarded-For is only as true as the proxy in front: no address is recorded.
  ip: () => undefined,
};

/** The headers as the flat `[name, value, …]` list the core reads (a merged pair of Authorization values stays visible). */
export function headerList(headers: Headers): string[] {
  const list: string[] = [];
  headers.forEach((value, name) => list.push(name, value));
  return list;
}

/** A request read as a GET with no body, from its headers alone: what a page render, a server action or proxy.ts checks. */
export function asRead(headers: Headers): AuthRequest {
  return { method: 'GET', headers: headerList(headers) };
}

/**
 * The request as plain values, with its JSON body (never for GET or HEAD) read from a clone, so the
 * route's own handler can still read it; other media types and an empty body give no body. With
 * `readBody` false (a guard whose token is never in the body) the body is left to the handler alone.
 */
export async function toAuthRequest(request: Request, bodyLimit: number, readBody = true): Promise<Translated> {
  const method = request.method;
  let body: unknown;
  if (readBody && method !== 'GET' && method !== 'HEAD' && isJsonMediaType(request.headers.get('content-type') ?? undefined)) {
    const text = await readText(request.clone(), bodyLimit);
    if (typeof text !== 'string') return text;
    body = parseJsonText(text);
    if (body instanceof InvalidRequestError) return body;
  }
  return new AdapterRequest(method, headerList(request.headers), body, request, FACTS);
}

/** The body as text, refused once it passes `limit` bytes (declared or streamed): an unbounded body is a memory DoS. */
async function readText(request: Request, limit: number): Promise<string | TesseraError> {
  const tooLarge = (): TesseraError =>
    new PayloadTooLargeError({ message: `The body is larger than ${limit % 1024 === 0 ? `${limit / 1024} KiB` : `${limit} bytes`}` });
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) return tooLarge();
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Not awaited: a branch of a cloned body settles its cancel only when the other branch is cancelled too.
      void reader.cancel().catch(() => undefined);
      return tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * The handler's response with the guard's cookies set ahead of its own (a later cookie of the same
 * name wins, as the other adapters write them).
 */
export function withCookies(response: Response, cookies: readonly string[]): Response {
  if (cookies.length === 0) return response;
  // A copy: Response.redirect() and fetched responses have immutable headers.
  const target = new Response(response.body, response);
  const own = target.headers.getSetCookie();
  target.headers.delete('set-cookie');
  for (const cookie of [...cookies, ...own]) target.headers.append('set-cookie', cookie);
  return target;
}
