// A body that came but that nobody parsed: the handlers read JSON, and an app that forgot its JSON parser
// (or a client that posted a form) deserves that sentence, not "invalid credentials" or "no token".
import { InvalidRequestError, UnsupportedMediaTypeError, type TesseraError } from '../errors.js';
import type { AuthRequest } from './request.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Whether a Content-Type names JSON (`application/json`, `application/*+json`, with or without parameters). */
export function isJsonMediaType(type: string | undefined): boolean {
  return type !== undefined && JSON_TYPE.test(type);
}

/**
 * The refusal for a request whose body was sent but left unparsed (`body` undefined): JSON that the
 * app's parser never saw is 400, naming `jsonParser` to mount; any other media type is 415, since the
 * login, refresh and logout handlers read JSON. Undefined when there is a parsed body or none was sent.
 * @example const refusal = unreadBody(request, 'express.json()');
 */
export function unreadBody(request: AuthRequest, jsonParser = "your framework's JSON body parser"): TesseraError | undefined {
  if (request.body !== undefined) return undefined;
  let type: string | undefined;
  let length: string | undefined;
  let chunked = false;
  const headers = request.headers;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (name === 'content-type') type = headers[i + 1];
    else if (name === 'content-length') length = headers[i + 1];
    else if (name === 'transfer-encoding') chunked = true;
  }
  // A typed body without a length (a fetch Request, a chunked upload) counts as sent.
  const sent = chunked || (length !== undefined ? Number(length) > 0 : type !== undefined);
  if (!sent) return undefined;
  if (isJsonMediaType(type)) {
    return new InvalidRequestError({ message: `The JSON body was not parsed: mount ${jsonParser} before the Tessera handlers` });
  }
  return new UnsupportedMediaTypeError();
}
