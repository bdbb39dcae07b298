import { describe, expect, it } from 'vitest';
import { unreadBody } from './body.js';

const post = (headers: string[], body?: unknown) => ({ method: 'POST', headers, ...(body === undefined ? {} : { body }) });

describe('unreadBody', () => {
  it('names the JSON parser for a JSON body left unparsed, and answers 415 for another media type', () => {
    const json = unreadBody(post(['Content-Type', 'application/json', 'Content-Length', '12']), 'express.json()');
    expect([json?.status, json?.code, json?.message]).toEqual([
      400,
      'invalid_request',
      'The JSON body was not parsed: mount express.json() before the Tessera handlers',
    ]);
    const form = unreadBody(post(['content-type', 'application/x-www-form-urlencoded', 'content-length', '5']));
    expect([form?.status, form?.code]).toEqual([415, 'unsupported_media_type']);
    expect(unreadBody(post(['content-type', 'text/plain', 'transfer-encoding', 'chunked']))?.status).toBe(415);
    expect(unreadBody(post(['content-type', 'text/plain']))?.status).toBe(415);
  });

  it('has nothing to say about a parsed body or no body at all', () => {
    expect(unreadBody(post(['content-type', 'application/json', 'content-length', '2'], {}))).toBeUndefined();
    expect(unreadBody(post(['content-type', 'application/json', 'content-length', '0']))).toBeUndefined();
    expect(unreadBody(post(['authorization', 'Bearer x']))).toBeUndefined();
  });
});
