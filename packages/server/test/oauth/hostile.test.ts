// What the token, revocation and introspection endpoints answer to bad and hostile requests, over real sockets:
// every answer a 4xx in the OAuth shape (`{error, error_description}`, no-store, Pragma: no-cache), never a 500.
// Client authentication in every variant (RFC 6749 §2.3): Basic with form-urlencoded credentials, the form, none.
import { InvalidClientError, RefreshTokenReusedError, TesseraError, UseDpopNonceError, type ErrorCode } from '@tessera/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer } from '@tessera/test-kit';
import { parseForm } from '../../src/oauth/form.js';
import { oauthErrorResult } from '../../src/oauth/oauth-errors.js';
import { INTROSPECTION_LIMIT } from '../../src/oauth/introspect.js';
import { call, rawCall } from '../support/harness.js';
import { addClient, registerUser, startOAuthServer, type OAuthServer } from '../support/oauth-server.js';

const ENDPOINTS = ['/oauth/token', '/oauth/revoke', '/oauth/introspect'] as const;

/** HTTP Basic of the form-urlencoded id and secret (RFC 6749 §2.3.1). */
const basic = (id: string, secret: string, encode = true): string => {
  const enc = (s: string): string => (encode ? encodeURIComponent(s) : s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
};

/** The OAuth shape: status, code, and the headers every OAuth answer has. */
function expectOAuthError(answer: Answer, status: number, error: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(Object.keys(answer.json).sort(), answer.text).toEqual(['error', 'error_description']);
  expect(answer.json.error, answer.text).toBe(error);
  expect(answer.json.error_description).toBeTypeOf('string');
  expect(answer.header('cache-control')).toBe('no-store');
  expect(answer.header('pragma')).toBe('no-cache');
  expect(answer.header('content-type')).toMatch(/^application\/json/);
}

describe('parseForm', () => {
  it('keeps each parameter once, drops empty ones (RFC 6749 §3.1), refuses a repeated one even when empty', () => {
    expect([...parseForm('a=1&b=&c=x+y%21')]).toEqual([
      ['a', '1'],
      ['c', 'x y!'],
    ]);
    expect(() => parseForm('a=1&a=2')).toThrow(/sent more than once/);
    expect(() => parseForm('a=&a=2')).toThrow(/sent more than once/);
  });
});

describe('oauthErrorResult', () => {
  const body = (err: unknown): unknown => JSON.parse(oauthErrorResult(err, 'https://auth.example').body as string);

  it("turns every refusal of a presented token into invalid_grant (400), keeping the library's sentence", () => {
    const codes: ErrorCode[] = ['token_invalid', 'token_expired', 'token_not_yet_valid', 'token_type_invalid', 'token_revoked', 'user_invalid'];
    for (const code of codes) {
      const result = oauthErrorResult(new TesseraError(code), 'https://auth.example');
      expect([result.status, (JSON.parse(result.body as string) as { error: string }).error], code).toEqual([400, 'invalid_grant']);
    }
    expect(body(new RefreshTokenReusedError())).toEqual({ error: 'invalid_grant', error_description: 'Refresh token was already used' });
  });

  it('adds the Basic challenge, the DPoP nonce and no-store where they belong; a real fault is a bare 500', () => {
    const basic = oauthErrorResult(new InvalidClientError({ basic: true }), 'https://auth.example');
    expect(basic.headers).toMatchObject({
      'www-authenticate': 'Basic realm="https://auth.example", charset="UTF-8"',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    });
    expect(oauthErrorResult(new InvalidClientError(), 'x').headers['www-authenticate']).toBeUndefined();
    const nonce = oauthErrorResult(new UseDpopNonceError({ nonce: 'n-1', status: 400 }), 'x');
    expect([nonce.status, nonce.headers['dpop-nonce']]).toEqual([400, 'n-1']);
    const fault = oauthErrorResult(new Error('secret detail'), 'x');
    expect([fault.status, fault.body]).toEqual([
      500,
      JSON.stringify({ error: 'internal_error', error_description: 'Something went wrong on our side' }),
    ]);
  });
});

describe('hostile requests at the OAuth form endpoints', () => {
  let server: OAuthServer;
  let secret: string;
  let colonSecret: string;
  let refreshToken: string;

  beforeAll(async () => {
    server = await startOAuthServer();
    secret = (await addClient(server, { id: 'app', redirectUris: ['https://app.example/cb'], audiences: ['urn:tessera:api'] })).secret as string;
    // An id with a colon and a tilde: Basic must carry it form-urlencoded, or the colon splits it.
    colonSecret = (await addClient(server, { id: 'svc:one~x', audiences: ['urn:tessera:api'] })).secret as string;
    await addClient(server, { id: 'spa', public: true, redirectUris: ['https://spa.example/cb'] });
    const user = await registerUser(server);
    const login = await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: user.password, transport: 'bearer' } });
    refreshToken = login.json.refresh_token as string;
  });
  afterAll(() => server?.close());

  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> =>
    call(server.url, 'POST', path, { form, headers });

  it('refuses a repeated parameter on every endpoint (invalid_request), before anything else', async () => {
    for (const path of ENDPOINTS) {
      const answer = await call(server.url, 'POST', path, {
        body: `grant_type=refresh_token&token=x&client_id=app&client_secret=${secret}&client_id=app`,
        contentType: 'application/x-www-form-urlencoded',
      });
      expectOAuthError(answer, 400, 'invalid_request');
      expect(answer.json.error_description).toContain('client_id');
    }
  });

  it('refuses a JSON body, a text body and no body on every endpoint: forms only (RFC 6749 §3.2)', async () => {
    for (const path of ENDPOINTS) {
      expectOAuthError(await call(server.url, 'POST', path, { json: { grant_type: 'refresh_token', client_id: 'app' } }), 400, 'invalid_request');
      expectOAuthError(await call(server.url, 'POST', path, { body: 'grant_type=refresh_token', contentType: 'text/plain' }), 400, 'invalid_request');
      expectOAuthError(await call(server.url, 'POST', path, { body: '{"a":', contentType: 'application/json' }), 400, 'invalid_request');
      // No body names no client.
      expectOAuthError(await call(server.url, 'POST', path, { method: 'POST' }), 401, 'invalid_client');
    }
  });

  it('refuses a body over 8 KiB (invalid_request), on every endpoint', async () => {
    for (const path of ENDPOINTS) {
      const answer = await post(path, { client_id: 'spa', token: 'x'.repeat(9 * 1024) });
      expectOAuthError(answer, 400, 'invalid_request');
    }
  });

  it('refuses a missing, unknown, password or implicit grant_type', async () => {
    const auth = { authorization: basic('app', secret) };
    expectOAuthError(await post('/oauth/token', {}, auth), 400, 'invalid_request');
    for (const grant of ['password', 'token', 'implicit', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'])
      expectOAuthError(await post('/oauth/token', { grant_type: grant, username: 'a', password: 'b' }, auth), 400, 'unsupported_grant_type');
  });

  it('refuses a code grant with a missing parameter or a code_verifier of the wrong length or alphabet', async () => {
    const auth = { authorization: basic('app', secret) };
    const base = { grant_type: 'authorization_code', code: 'c'.repeat(43), redirect_uri: 'https://app.example/cb' };
    expectOAuthError(await post('/oauth/token', base, auth), 400, 'invalid_request');
    for (const verifier of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}!`])
      expectOAuthError(await post('/oauth/token', { ...base, code_verifier: verifier }, auth), 400, 'invalid_request');
    // A well-formed verifier with an unknown code: invalid_grant.
    expectOAuthError(await post('/oauth/token', { ...base, code_verifier: 'a'.repeat(43) }, auth), 400, 'invalid_grant');
  });

  it('refuses a refresh grant without refresh_token, or with garbage (invalid_grant)', async () => {
    const auth = { authorization: basic('app', secret) };
    expectOAuthError(await post('/oauth/token', { grant_type: 'refresh_token' }, auth), 400, 'invalid_request');
    expectOAuthError(await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'not.a.token' }, auth), 400, 'invalid_grant');
    expectOAuthError(await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x'.repeat(5000) }, auth), 400, 'invalid_grant');
  });

  it('authenticates with Basic only when id and secret are form-urlencoded inside it (RFC 6749 §2.3.1)', async () => {
    const ok = await post('/oauth/introspect', { token: 'x' }, { authorization: basic('svc:one~x', colonSecret) });
    expect([ok.status, ok.json]).toEqual([200, { active: false }]);
    // Not form-urlencoded, the colon of the id splits it: another (unknown) client.
    const raw = await post('/oauth/introspect', { token: 'x' }, { authorization: basic('svc:one~x', colonSecret, false) });
    expectOAuthError(raw, 401, 'invalid_client');
    expect(raw.header('www-authenticate')).toBe(`Basic realm="${server.issuer}", charset="UTF-8"`);
  });

  it('answers 401 invalid_client with a Basic challenge only when Basic was used', async () => {
    const wrongBasic = await post('/oauth/revoke', { token: 'x' }, { authorization: basic('app', 'wrong') });
    expectOAuthError(wrongBasic, 401, 'invalid_client');
    expect(wrongBasic.header('www-authenticate')).toMatch(/^Basic realm="/);
    const wrongPost = await post('/oauth/revoke', { token: 'x', client_id: 'app', client_secret: 'wrong' });
    expectOAuthError(wrongPost, 401, 'invalid_client');
    expect(wrongPost.header('www-authenticate') ?? undefined).toBeUndefined();
    for (const header of [
      'Basic',
      'Basic !!!!',
      'Basic YWJj',
      `Basic ${Buffer.from(':x').toString('base64')}`,
      `Basic ${Buffer.from('app:').toString('base64')}`,
      'Basic ' + Buffer.from('app:%zz').toString('base64'),
    ])
      expectOAuthError(await post('/oauth/revoke', { token: 'x' }, { authorization: header }), 401, 'invalid_client');
    // Another scheme is no client authentication.
    expectOAuthError(await post('/oauth/revoke', { token: 'x' }, { authorization: `Bearer ${refreshToken}` }), 401, 'invalid_client');
  });

  it('refuses two authentication methods at once, and a client_id beside Basic that names another client', async () => {
    expectOAuthError(
      await post('/oauth/revoke', { token: 'x', client_secret: secret }, { authorization: basic('app', secret) }),
      400,
      'invalid_request',
    );
    expectOAuthError(await post('/oauth/revoke', { token: 'x', client_id: 'spa' }, { authorization: basic('app', secret) }), 401, 'invalid_client');
    // The same client_id beside Basic is fine.
    expect((await post('/oauth/revoke', { token: 'x', client_id: 'app' }, { authorization: basic('app', secret) })).status).toBe(200);
  });

  it('refuses an unknown client, a confidential client without its secret, and a public client with one', async () => {
    expectOAuthError(await post('/oauth/revoke', { token: 'x', client_id: 'nobody' }), 401, 'invalid_client');
    expectOAuthError(await post('/oauth/revoke', { token: 'x', client_id: 'app' }), 401, 'invalid_client');
    expectOAuthError(await post('/oauth/revoke', { token: 'x', client_id: 'spa', client_secret: 'anything' }), 401, 'invalid_client');
    expectOAuthError(await post('/oauth/revoke', { token: 'x' }), 401, 'invalid_client');
    expect((await post('/oauth/revoke', { token: 'x', client_id: 'spa' })).status).toBe(200);
  });

  it('refuses two Authorization lines (invalid_request), sent over a raw socket', async () => {
    const body = 'token=x';
    const answer = await rawCall(
      server.url,
      'POST /oauth/revoke HTTP/1.1',
      [
        ['Authorization', basic('app', secret)],
        ['Authorization', basic('app', secret)],
        ['Content-Type', 'application/x-www-form-urlencoded'],
      ],
      body,
    );
    expectOAuthError(answer, 400, 'invalid_request');
  });

  it('refuses a malformed DPoP proof, and two DPoP headers, with invalid_dpop_proof (400)', async () => {
    const form = { grant_type: 'refresh_token', refresh_token: 'x' };
    expectOAuthError(await post('/oauth/token', form, { authorization: basic('app', secret), dpop: 'not-a-proof' }), 400, 'invalid_dpop_proof');
    const body = new URLSearchParams(form).toString();
    const answer = await rawCall(
      server.url,
      'POST /oauth/token HTTP/1.1',
      [
        ['Authorization', basic('app', secret)],
        ['DPoP', 'a.b.c'],
        ['DPoP', 'a.b.c'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
      ],
      body,
    );
    expectOAuthError(answer, 400, 'invalid_dpop_proof');
  });

  it('keeps the built-in client out of /oauth/token (unauthorized_client): it uses /auth/*', async () => {
    expectOAuthError(
      await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'tessera-web' }),
      400,
      'unauthorized_client',
    );
    // Its session is untouched.
    expect((await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: refreshToken } })).status).toBe(200);
  });

  it('refuses introspection without a token (invalid_request), and revocation without one', async () => {
    expectOAuthError(await post('/oauth/introspect', {}, { authorization: basic('app', secret) }), 400, 'invalid_request');
    expectOAuthError(await post('/oauth/revoke', {}, { authorization: basic('app', secret) }), 400, 'invalid_request');
  });

  it('answers a GET on the form endpoints with 404 in the server’s own shape, never a 500', async () => {
    for (const path of ENDPOINTS) expect((await call(server.url, 'GET', path)).status).toBe(404);
  });

  // Last: it spends the introspection budget of `app`.
  it('throttles introspection per client (429 rate_limited with Retry-After); other clients are not held back', async () => {
    for (let i = 0; i < INTROSPECTION_LIMIT.limit; i++) await server.runtime.throttle.hit('introspect:app', INTROSPECTION_LIMIT);
    const refused = await post('/oauth/introspect', { token: 'x' }, { authorization: basic('app', secret) });
    expectOAuthError(refused, 429, 'rate_limited');
    expect(refused.header('retry-after')).toMatch(/^\d+$/);
    const other = await post('/oauth/introspect', { token: 'x' }, { authorization: basic('svc:one~x', colonSecret) });
    expect([other.status, other.json]).toEqual([200, { active: false }]);
  });
});
