import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import type { TokenKind, TokenLocation } from '../types.js';
import { InvalidRequestError, TesseraError, TokenConflictError, TokenMissingError } from '../errors.js';
import { extractToken, type ExtractedToken } from './extract.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { readHeaders } from './request.js';
import { createTessera } from '../tessera.js';

const clock = fixedClock(Date.UTC(2030, 0, 1));
const auth = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), clock });
// Another deployment: its tokens look right but are signed by keys this one does not know.
const stranger = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), clock });

const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
const other = auth.createTokenPair({ sub: 'bob', csrf: true });
const access = pair.access.token;
const refresh = pair.refresh.token;
const names = auth.config.cookies.names;

function extract(raw: readonly string[], kind: TokenKind, options: { body?: unknown; locations?: readonly TokenLocation[] } = {}): ExtractedToken {
  return extractToken(readHeaders(raw, auth.config.csrfHeader), options.body, kind, options.locations ?? auth.config.locations[kind], auth.config);
}

function refusal(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a TesseraError, but nothing was thrown');
}

async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a TesseraError, but the promise resolved');
}

describe('extractToken: the Authorization header', () => {
  it.each([`Bearer ${access}`, `bearer ${access}`, `BEARER ${access}`, `BeArEr ${access}`, `Bearer    ${access}`])(
    'reads %#: any scheme case, one or more spaces',
    (value) => {
      expect(extract(['Authorization', value], 'access')).toEqual({ token: access, location: 'header' });
    },
  );

  it.each([
    ['a tab instead of a space', `Bearer\t${access}`],
    ['a space then a tab', `Bearer \t${access}`],
    ['no token', 'Bearer'],
    ['no token after the space', 'Bearer '],
    ['only spaces', 'Bearer    '],
    ['two tokens', `Bearer ${access} ${access}`],
    ['a trailing space', `Bearer ${access} `],
    ['a character outside b64token', `Bearer ${access}!`],
  ])('refuses %s as invalid_request (400)', (_label, value) => {
    const err = refusal(() => extract(['Authorization', value, 'Cookie', `${names.access}=${access}`], 'access'));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
  });

  it('refuses two Authorization headers, even with the same value', () => {
    for (const second of [access, other.access.token]) {
      const err = refusal(() => extract(['Authorization', `Bearer ${access}`, 'authorization', `Bearer ${second}`], 'access'));
      expect(err.code).toBe('invalid_request');
    }
  });

  it('refuses two credentials merged into one line ("a, b", as fetch and @hono/node-server join them)', () => {
    for (const merged of [`Bearer ${access}, Bearer ${other.access.token}`, `Bearer ${access}, Bearer ${access}`]) {
      expect(refusal(() => extract(['Authorization', merged], 'access')).code).toBe('invalid_request');
    }
  });

  it('refuses a Bearer credential merged after another scheme rather than ignoring the header', () => {
    const merged = `Basic dXNlcjpwYXNz, Bearer ${access}`;
    expect(refusal(() => extract(['Authorization', merged, 'Cookie', `${names.access}=${other.access.token}`], 'access')).code).toBe(
      'invalid_request',
    );
  });

  it.each(['Basic dXNlcjpwYXNz', `Token ${access}`, `Bearerx ${access}`, `Digest username="a"`])('finds no token in another scheme: %s', (value) => {
    expect(refusal(() => extract(['Authorization', value], 'access')).code).toBe('token_missing');
    // ...and the other places are still looked in.
    expect(extract(['Authorization', value, 'Cookie', `${names.access}=${access}`], 'access')).toEqual({ token: access, location: 'cookie' });
  });
});

describe('extractToken: the header is judged alone', () => {
  it('keeps a bad header token rather than falling back to a good cookie', async () => {
    const forged = stranger.createAccessToken({ sub: 'alice' }).token;
    const raw = ['Authorization', `Bearer ${forged}`, 'Cookie', `${names.access}=${access}`];
    // The header token is the one judged; the different cookie is remembered as a conflict for later.
    expect(extract(raw, 'access')).toEqual({ token: forged, location: 'header', conflict: true });
    expect((await rejection(auth.authenticate({ method: 'GET', headers: raw }))).code).toBe('token_invalid');
  });

  it('refuses a valid header token beside a different valid token of the same kind: token_conflict', async () => {
    const other = auth.createAccessToken({ sub: 'bob' }).token;
    const raw = ['Authorization', `Bearer ${other}`, 'Cookie', `${names.access}=${access}`];
    expect((await rejection(auth.authenticate({ method: 'GET', headers: raw }))).code).toBe('token_conflict');
    const same = ['Authorization', `Bearer ${access}`, 'Cookie', `${names.access}=${access}`];
    expect((await auth.authenticate({ method: 'GET', headers: same })).location).toBe('header');
  });

  it('keeps a header that is not a JWT at all rather than falling back to a good cookie', async () => {
    const raw = ['Authorization', 'Bearer not-a-jwt', 'Cookie', `${names.access}=${access}`];
    expect(extract(raw, 'access')).toEqual({ token: 'not-a-jwt', location: 'header' });
    expect((await rejection(auth.authenticate({ method: 'GET', headers: raw }))).code).toBe('token_invalid');
  });

  it('answers a malformed header with its own error, never with the cookie', async () => {
    const raw = ['Authorization', 'Bearer', 'Cookie', `${names.access}=${access}`];
    expect((await rejection(auth.authenticate({ method: 'GET', headers: raw }))).code).toBe('invalid_request');
  });

  it('answers an expired header token with token_expired even beside a valid cookie', async () => {
    const local = fixedClock(Date.UTC(2030, 0, 1));
    const a = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), clock: local });
    const old = a.createAccessToken({ sub: 'alice', ttl: 60 }).token;
    local.advance(120_000);
    const fresh = a.createAccessToken({ sub: 'alice' }).token;
    const raw = ['Authorization', `Bearer ${old}`, 'Cookie', `${a.config.cookies.names.access}=${fresh}`];
    expect((await rejection(a.authenticate({ method: 'GET', headers: raw }))).code).toBe('token_expired');
  });
});

describe('extractToken: tokens of different kinds', () => {
  it('uses the refresh cookie beside an access token as Bearer (logout)', () => {
    const raw = ['Authorization', `Bearer ${access}`, 'Cookie', `${names.refresh}=${refresh}`];
    expect(extract(raw, 'refresh')).toEqual({ token: refresh, location: 'cookie', setAside: access });
    // The same request still yields its access token from the header.
    expect(extract(raw, 'access')).toEqual({ token: access, location: 'header' });
  });

  it('uses the refresh body field beside an access token as Bearer', () => {
    const raw = ['Authorization', `Bearer ${access}`];
    expect(extract(raw, 'refresh', { body: { refresh_token: refresh } })).toEqual({ token: refresh, location: 'body', setAside: access });
  });

  it('uses the access cookie beside a refresh token as Bearer', () => {
    const raw = ['Authorization', `Bearer ${refresh}`, 'Cookie', `${names.access}=${access}`];
    expect(extract(raw, 'access')).toEqual({ token: access, location: 'cookie', setAside: refresh });
  });

  it('verifies a header token set aside as the other kind: a forged one is refused, never excused by the cookie', async () => {
    const forgedHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'rt+jwt', kid: 'nope' })).toString('base64url');
    const junk = `${forgedHeader}.${Buffer.from('{}').toString('base64url')}.AAAA`;
    const raw = ['Authorization', `Bearer ${junk}`, 'Cookie', `${names.access}=${access}`];
    expect((await rejection(auth.authenticate({ method: 'GET', headers: raw }))).code).toBe('token_invalid');
    const genuine = ['Authorization', `Bearer ${refresh}`, 'Cookie', `${names.access}=${access}`];
    expect((await auth.authenticate({ method: 'GET', headers: genuine })).location).toBe('cookie');
  });

  it('refuses a header token of the other kind when nothing else was sent: token_type_invalid', async () => {
    const refreshAsAccess = ['Authorization', `Bearer ${refresh}`];
    expect(extract(refreshAsAccess, 'access')).toEqual({ token: refresh, location: 'header' });
    expect((await rejection(auth.authenticate({ method: 'GET', headers: refreshAsAccess }))).code).toBe('token_type_invalid');
    const accessAsRefresh = ['Authorization', `Bearer ${access}`];
    expect((await rejection(auth.authenticate({ method: 'POST', headers: accessAsRefresh }, { token: 'refresh' }))).code).toBe('token_type_invalid');
  });

  it('verifies the token used in the logout case as the wanted kind', async () => {
    const raw = ['Authorization', `Bearer ${access}`];
    const result = await auth.authenticate({ method: 'POST', headers: raw, body: { refresh_token: refresh } }, { token: 'refresh' });
    expect(result.location).toBe('body');
    expect(result.claims.type).toBe('refresh');
    expect(result.token).toBe(refresh);
  });
});

describe('extractToken: cookie and body', () => {
  it('accepts the same token in the cookie and the body', () => {
    const raw = ['Cookie', `${names.refresh}=${refresh}`];
    expect(extract(raw, 'refresh', { body: { refresh_token: refresh } })).toEqual({ token: refresh, location: 'cookie' });
  });

  it('refuses different tokens of one kind in the cookie and the body: token_conflict', () => {
    const raw = ['Cookie', `${names.refresh}=${refresh}`];
    const err = refusal(() => extract(raw, 'refresh', { body: { refresh_token: other.refresh.token } }));
    expect(err).toBeInstanceOf(TokenConflictError);
    expect(err.code).toBe('token_conflict');
    expect(err.status).toBe(400);
  });

  it('refuses two cookies of the same name with different values: token_conflict', () => {
    const oneHeader = ['Cookie', `${names.access}=${access}; ${names.access}=${other.access.token}`];
    expect(refusal(() => extract(oneHeader, 'access')).code).toBe('token_conflict');
    const twoHeaders = ['Cookie', `${names.access}=${access}`, 'Cookie', `${names.access}=${other.access.token}`];
    expect(refusal(() => extract(twoHeaders, 'access')).code).toBe('token_conflict');
  });

  it('accepts two cookies of the same name with the same value', () => {
    const raw = ['Cookie', `${names.access}=${access}; ${names.access}=${access}`];
    expect(extract(raw, 'access')).toEqual({ token: access, location: 'cookie' });
  });

  it.each([[42], [true], [{ token: 'x' }], [['x']]])('refuses a body field that is not a string (%j): invalid_request', (value) => {
    const err = refusal(() => extract([], 'refresh', { body: { refresh_token: value } }));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.code).toBe('invalid_request');
  });

  it('treats an empty or null body field as absent', () => {
    for (const value of ['', null]) {
      expect(refusal(() => extract([], 'refresh', { body: { refresh_token: value } })).code).toBe('token_missing');
    }
  });

  it('ignores a body that is not an object', () => {
    for (const body of [refresh, [refresh], null, 42]) {
      expect(refusal(() => extract([], 'refresh', { body })).code).toBe('token_missing');
    }
  });

  it('reads the body field for its own kind only', () => {
    expect(refusal(() => extract([], 'refresh', { body: { access_token: refresh } })).code).toBe('token_missing');
    expect(extract([], 'access', { body: { access_token: access }, locations: ['body'] })).toEqual({ token: access, location: 'body' });
  });

  it('never reads the query string, nor URL-looking values in a header or the body', () => {
    const raw = [
      ':path',
      `/auth/refresh?refresh_token=${refresh}&access_token=${access}`,
      'Referer',
      `https://app.example/?refresh_token=${refresh}`,
    ];
    for (const body of [
      `refresh_token=${refresh}`,
      { url: `/auth/refresh?refresh_token=${refresh}` },
      new URLSearchParams({ refresh_token: refresh }),
    ]) {
      expect(refusal(() => extract(raw, 'refresh', { body })).code).toBe('token_missing');
    }
    expect(refusal(() => extract(raw, 'access', { body: `access_token=${access}`, locations: ['header', 'cookie', 'body'] })).code).toBe(
      'token_missing',
    );
  });
});

describe('extractToken: token_missing', () => {
  function expectInOrder(message: string, parts: readonly string[]): void {
    let from = 0;
    for (const part of parts) {
      const at = message.indexOf(part, from);
      expect(at, `${JSON.stringify(part)} after position ${from} in ${JSON.stringify(message)}`).toBeGreaterThanOrEqual(0);
      from = at + part.length;
    }
  }

  it('names every place looked, in order (refresh defaults: header, cookie, body)', () => {
    const err = refusal(() => extract([], 'refresh'));
    expect(err).toBeInstanceOf(TokenMissingError);
    expect(err.code).toBe('token_missing');
    expect(err.status).toBe(401);
    expectInOrder(err.message, ['Authorization', names.refresh, 'refresh_token']);
  });

  it('names every place looked, in order (access defaults: header, cookie)', () => {
    const err = refusal(() => extract([], 'access'));
    expect(err.code).toBe('token_missing');
    expectInOrder(err.message, ['Authorization', names.access]);
  });

  it('follows the locations given, in their order', () => {
    const err = refusal(() => extract([], 'access', { locations: ['body', 'cookie', 'header'] }));
    expect(err.code).toBe('token_missing');
    expectInOrder(err.message, ['access_token', names.access, 'Authorization']);
  });

  it('looks only in the locations given', () => {
    const raw = ['Authorization', `Bearer ${access}`];
    expect(refusal(() => extract(raw, 'access', { locations: ['cookie'] })).code).toBe('token_missing');
  });

  it('never puts a token in the message', () => {
    const err = refusal(() => extract(['Cookie', `${names.access}=${access}`], 'refresh', { body: { access_token: access } }));
    expect(err.code).toBe('token_missing');
    expect(err.message).not.toContain(access);
  });
});
