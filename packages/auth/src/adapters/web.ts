// The Web-standard half shared by the adapters whose framework speaks `Request`/`Response` (Hono, Next.js):
// the body as JSON, and an HttpResult as a Response, written once so both send the same bytes.
import { InvalidRequestError } from '../core/errors.js';
import type { HttpResult } from '../core/transport/error-response.js';

/** A body's text as JSON; empty text is no body; anything else that does not parse is 400 `invalid_request`. */
export function parseJsonText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // No cause kept: V8's SyntaxError quotes the body, which may hold a token or a password.
    return new InvalidRequestError({ message: 'The body is not valid JSON' });
  }
}

/** The Web Response of a result, headers and body as the core built them. */
export function toWebResponse(result: HttpResult): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else for (const item of value) headers.append(name, item);
  }
  return new Response(result.body ?? null, { status: result.status, headers });
}
