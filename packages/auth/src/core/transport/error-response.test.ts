import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import {
  CsrfError,
  ERRORS,
  FreshTokenRequiredError,
  InsufficientScopeError,
  InvalidRequestError,
  OriginRefusedError,
  RateLimitedError,
  RefreshTokenReusedError,
  StoreUnavailableError,
  TesseraError,
  TokenConflictError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTypeError,
  type ErrorCode,
} from '../errors.js';
import { errorResponse, errorResult, refusalOf, wwwAuthenticate } from './error-response.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { createTessera } from '../tessera.js';

async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a TesseraError, but the promise resolved');
}

describe('errorResponse', () => {
  it('answers {"error", "message"} as JSON, no-store, with the status of the code', () => {
    const response = errorResponse(new TokenExpiredError());
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({ error: 'token_expired', message: 'Token has expired' });
    expect(response.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="Token has expired"');
  });

  it.each(Object.keys(ERRORS) as ErrorCode[])('writes %s with its status and exactly two body fields', (code) => {
    const response = errorResponse(new TesseraError(code));
    expect(response.status).toBe(ERRORS[code].status);
    expect(JSON.parse(response.body)).toStrictEqual({ error: code, message: ERRORS[code].message });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^application\/json(;|$)/);
  });

  it('keeps a specific message in the body', () => {
    const response = errorResponse(new TokenConflictError({ message: 'Two different refresh tokens were sent' }));
    expect(JSON.parse(response.body)).toEqual({ error: 'token_conflict', message: 'Two different refresh tokens were sent' });
  });

  it('writes only lower-case header names, so adapters never send one header twice', () => {
    const response = errorResponse(new TokenInvalidError());
    for (const name of Object.keys(response.headers)) expect(name).toBe(name.toLowerCase());
  });

  it('answers a real refusal from authenticate the same way', async () => {
    const auth = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), clock: fixedClock(Date.UTC(2030, 0, 1)) });
    const missing = errorResponse(await rejection(auth.authenticate({ method: 'GET', headers: [] })));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ error: 'token_missing' });
    expect(missing.headers['www-authenticate']).toBe('Bearer');

    const invalid = errorResponse(await rejection(auth.authenticate({ method: 'GET', headers: ['Authorization', 'Bearer a.b.c'] })));
    expect(invalid.status).toBe(401);
    expect(JSON.parse(invalid.body)).toMatchObject({ error: 'token_invalid' });
    expect(invalid.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
  });
});

describe('WWW-Authenticate (RFC 6750 §3)', () => {
  it('is Bearer alone when no token was sent (§3.1: no error attribute)', () => {
    expect(wwwAuthenticate(new TokenMissingError())).toBe('Bearer');
    expect(wwwAuthenticate(new TokenMissingError({ message: 'No access token was found in the Authorization header' }))).toBe('Bearer');
    expect(errorResponse(new TokenMissingError()).headers['www-authenticate']).toBe('Bearer');
  });

  it.each([
    new TokenInvalidError(),
    new TokenExpiredError(),
    new TokenNotYetValidError(),
    new TokenTypeError(),
    new TokenRevokedError(),
    new FreshTokenRequiredError(),
    new RefreshTokenReusedError(),
  ])('gives invalid_token with a description for a 401: $code', (error) => {
    expect(error.status).toBe(401);
    expect(wwwAuthenticate(error)).toBe(`Bearer error="invalid_token", error_description="${error.message}"`);
  });

  it('gives no error attribute on a 401 raised when no token was presented', () => {
    expect(wwwAuthenticate(new TesseraError('token_invalid', { tokenPresented: false }))).toBe('Bearer');
  });

  it.each([new InvalidRequestError(), new TokenConflictError()])('gives invalid_request for a 400: $code', (error) => {
    expect(error.status).toBe(400);
    expect(wwwAuthenticate(error)).toBe(`Bearer error="invalid_request", error_description="${error.message}"`);
  });

  it('gives insufficient_scope for a 403 insufficient_scope', () => {
    const error = new InsufficientScopeError();
    expect(wwwAuthenticate(error)).toBe('Bearer error="insufficient_scope", error_description="Token lacks the required claims"');
    const scoped = new InsufficientScopeError({ message: 'The token lacks the scope "docs:write"', scope: 'docs:read docs:write' });
    expect(wwwAuthenticate(scoped)).toBe(
      'Bearer error="insufficient_scope", error_description="The token lacks the scope docs:write", scope="docs:read docs:write"',
    );
    expect(errorResponse(error).headers['www-authenticate']).toBe(wwwAuthenticate(error));
  });

  it('remembers the refusal behind each answer it built, for adapters that hand it to the framework', () => {
    const error = new TokenExpiredError();
    expect(refusalOf(errorResult(error, 'flask'))).toBe(error);
    expect(refusalOf({ status: 204, headers: {}, body: undefined })).toBeUndefined();
  });

  it.each([new CsrfError(), new OriginRefusedError(), new StoreUnavailableError()])('is absent for $code', (error) => {
    expect(wwwAuthenticate(error)).toBeUndefined();
    expect(errorResponse(error).headers).not.toHaveProperty('www-authenticate');
  });

  it('strips quotes, backslashes, control and non-ASCII characters from the description', () => {
    const error = new TokenInvalidError({ message: 'Say "hi" \\ now\r\n\ttab\x00\x7fé…end' });
    expect(wwwAuthenticate(error)).toBe('Bearer error="invalid_token", error_description="Say hi  nowtabend"');
  });

  it('cannot be used to inject a header line', () => {
    const error = new InvalidRequestError({ message: 'bad\r\nSet-Cookie: stolen=1' });
    const value = errorResponse(error).headers['www-authenticate'] as string;
    expect(value).not.toMatch(/[\r\n]/);
    expect(value).toBe('Bearer error="invalid_request", error_description="badSet-Cookie: stolen=1"');
  });
});

describe('errorResult (the one rendering of a refusal)', () => {
  it.each(Object.keys(ERRORS) as ErrorCode[])('is errorResponse for %s in the Tessera format without cookies', (code) => {
    const error = new TesseraError(code);
    expect(errorResult(error)).toStrictEqual(errorResponse(error));
  });

  it('answers {"msg"} in the flask format, with the same status and headers', () => {
    const error = new TokenExpiredError();
    const result = errorResult(error, 'flask');
    expect(result.body).toBe('{"msg":"Token has expired"}');
    expect(result.status).toBe(401);
    expect(result.headers).toStrictEqual(errorResponse(error).headers);
  });

  it('adds the extra cookies as a set-cookie list, after the other headers', () => {
    const result = errorResult(new TokenMissingError(), 'tessera', ['a=; Max-Age=0', 'b=; Max-Age=0']);
    expect(result.headers['set-cookie']).toEqual(['a=; Max-Age=0', 'b=; Max-Age=0']);
    expect(Object.keys(result.headers)).toEqual(['content-type', 'cache-control', 'www-authenticate', 'set-cookie']);
  });

  it('sends Retry-After in whole seconds, at least one', () => {
    expect(errorResult(new RateLimitedError({ retryAfter: 12.2 })).headers['retry-after']).toBe('13');
    expect(errorResult(new RateLimitedError({ retryAfter: 0.01 })).headers['retry-after']).toBe('1');
    expect(errorResult(new RateLimitedError()).headers).not.toHaveProperty('retry-after');
  });

  it('renders a refusal with no error class (a server fault) in the same shape, without a challenge', () => {
    const result = errorResult({ code: 'internal_error', status: 500, message: 'Something went wrong on our side' });
    expect(result).toStrictEqual({
      status: 500,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: '{"error":"internal_error","message":"Something went wrong on our side"}',
    });
    expect(wwwAuthenticate({ code: 'constructor', status: 400, message: 'x' })).toBeUndefined();
  });
});
