// Two `tessera serve` processes sharing one Postgres and one Redis (docs/architecture.md "Scaling out"):
// started together on an empty database they agree on one key; a session moves freely between
// them; a revocation on one reaches the other within a second; `tessera keys rotate` run from the
// command line makes both sign with the new key within seconds; throttling counts across both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeJwt,
  loginTokens as login,
  PASSWORD,
  postgresBackend,
  register,
  tokens,
  waitFor,
  type Backend,
  type ServerProcess,
} from '@tessera/test-kit';
import { expectError } from './support/contract-suite.js';
import { call, runCli, spawnServer } from './support/harness.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 10;

describe('two server processes on one Postgres and one Redis', () => {
  let backend: Backend;
  let a: ServerProcess;
  let b: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    backend = await postgresBackend('scale', REDIS_DB);
    env = { ...backend.env, TESSERA_LOGIN_LIMIT: '3/15m' };
    // Started at once on an empty database: migrations and first keys race, one wins.
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 30_000);

  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    await backend?.cleanup();
    // Both drained and exited cleanly on SIGTERM.
    expect(codes).toEqual([0, 0]);
  });

  it('publishes the same JWKS from both', async () => {
    const [fromA, fromB] = await Promise.all([call(a.url, 'GET', '/.well-known/jwks.json'), call(b.url, 'GET', '/.well-known/jwks.json')]);
    expect(fromA.body).toEqual(fromB.body);
    expect((fromA.body as { keys: unknown[] }).keys).toHaveLength(1);
  });

  it('lets a session move between them, and a logout on A is refused on B within one second', async () => {
    const user = await register(a.url);
    const first = await login(a.url, user.username);
    const second = tokens(await call(b.url, 'POST', '/auth/refresh', { json: { refresh_token: first.refresh_token } }));
    expect(decodeJwt(second.refresh_token!).claims.sid).toBe(decodeJwt(first.refresh_token!).claims.sid);
    // B has now seen the session live and may answer from its cache.
    expect((await call(b.url, 'GET', '/auth/me', { bearer: second.access_token! })).status).toBe(200);
    expect((await call(a.url, 'GET', '/auth/me', { bearer: second.access_token! })).status).toBe(200);

    expect((await call(a.url, 'POST', '/auth/logout', { json: { refresh_token: second.refresh_token } })).status).toBe(204);
    const loggedOutAt = Date.now();
    await waitFor(
      'B to refuse the access token',
      async () => (await call(b.url, 'GET', '/auth/me', { bearer: second.access_token! })).status === 401,
      1000,
      10,
    );
    expect(Date.now() - loggedOutAt).toBeLessThan(1000);
    expectError(await call(b.url, 'GET', '/auth/me', { bearer: second.access_token! }), 401, 'token_revoked');
    expectError(await call(b.url, 'POST', '/auth/refresh', { json: { refresh_token: second.refresh_token } }), 401, 'token_revoked');
  });

  it('detects reuse across instances: rotate on A, replay the old token on B', async () => {
    const user = await register(b.url);
    const first = await login(b.url, user.username);
    const second = tokens(await call(a.url, 'POST', '/auth/refresh', { json: { refresh_token: first.refresh_token } }));
    const third = tokens(await call(a.url, 'POST', '/auth/refresh', { json: { refresh_token: second.refresh_token } }));
    expect((await call(b.url, 'GET', '/auth/me', { bearer: third.access_token! })).status).toBe(200);
    expectError(await call(b.url, 'POST', '/auth/refresh', { json: { refresh_token: first.refresh_token } }), 401, 'refresh_token_reused');
    await waitFor(
      'A to refuse the session',
      async () => (await call(a.url, 'GET', '/auth/me', { bearer: third.access_token! })).status === 401,
      1000,
      10,
    );
  });

  it('counts login attempts across both instances', async () => {
    const user = await register(a.url);
    const wrong = { json: { username: user.username, password: 'wrong wrong' } };
    expect((await call(a.url, 'POST', '/auth/login', wrong)).status).toBe(401);
    expect((await call(b.url, 'POST', '/auth/login', wrong)).status).toBe(401);
    expect((await call(a.url, 'POST', '/auth/login', wrong)).status).toBe(401);
    expectError(await call(b.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }), 429, 'rate_limited');
  });

  it('signs with the new key on both within seconds after `tessera keys rotate`', async () => {
    const user = await register(a.url);
    const before = await login(a.url, user.username);
    const oldKid = decodeJwt(before.access_token!).header.kid;

    const rotated = await runCli(['keys', 'rotate', '--now'], env);
    expect(rotated.stderr).toMatch(/^Warning: \S+ signs at once/);
    expect(rotated.code).toBe(0);
    const newKid = /Now signing with (\S+)\./.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);

    let current = before.refresh_token!;
    const signsWithNew = async (url: string): Promise<boolean> => {
      const pair = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: current } }));
      current = pair.refresh_token!;
      return decodeJwt(pair.access_token!).header.kid === newKid;
    };
    await waitFor('A to sign with the new key', () => signsWithNew(a.url), 5000, 100);
    await waitFor('B to sign with the new key', () => signsWithNew(b.url), 5000, 100);

    for (const url of [a.url, b.url]) {
      const kids = ((await call(url, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
      // The retired key still verifies what it signed.
      expect((await call(url, 'GET', '/auth/me', { bearer: before.access_token! })).status).toBe(200);
    }
  });
});
