// A `tessera serve` process on SQLite, stopped and started again: users, sessions, revocations
// and keys are in the database, so everything issued before the restart means the same after it.
// The second start serves metrics on a port of their own.
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt, freePort, loginTokens as login, register, sqliteBackend, tokens, type ServerProcess } from '@tessera/test-kit';
import { expectError } from './support/contract-suite.js';
import { call, spawnServer } from './support/harness.js';

describe('restarting a server on SQLite', () => {
  const backend = sqliteBackend();
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    await backend.cleanup();
  });

  it('keeps users, sessions, revocations and keys; a refresh token from before still rotates after', async () => {
    server = await spawnServer(backend.env);
    const user = await register(server.url);
    const kept = await login(server.url, user.username);
    // One rotation before the restart, so the session carries a previous token too.
    const rotated = tokens(await call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: kept.refresh_token } }));
    const ended = await login(server.url, user.username);
    expect((await call(server.url, 'POST', '/auth/logout', { json: { refresh_token: ended.refresh_token } })).status).toBe(204);
    const jwksBefore = (await call(server.url, 'GET', '/.well-known/jwks.json')).body;
    expect(await server.stop()).toBe(0);

    // Started again with metrics on a separate port, which needs no token (and the main port serves none).
    const metricsPort = await freePort();
    server = await spawnServer({ ...backend.env, TESSERA_METRICS_PORT: String(metricsPort) });
    const url = server.url;
    expect((await call(url, 'GET', '/.well-known/jwks.json')).body).toEqual(jwksBefore);
    // The access token signed before the restart still verifies, and its session is still live.
    const me = await call(url, 'GET', '/auth/me', { bearer: rotated.access_token! });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, username: user.username });
    // The refresh token issued before the restart rotates after it, in the same session.
    const after = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: rotated.refresh_token } }));
    expect(decodeJwt(after.refresh_token!).claims.sid).toBe(decodeJwt(kept.refresh_token!).claims.sid);
    expect(decodeJwt(after.refresh_token!).header.kid).toBe(decodeJwt(kept.refresh_token!).header.kid);
    // The token rotated away before the restart is still recognised as reuse.
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: kept.refresh_token } }), 401, 'refresh_token_reused');
    // The session logged out before the restart stays ended.
    expectError(await call(url, 'GET', '/auth/me', { bearer: ended.access_token! }), 401, 'token_revoked');
    // And the account itself is there: the password still logs in.
    expect((await login(url, user.username)).access_token).toBeTruthy();

    expectError(await call(url, 'GET', '/metrics'), 404, 'not_found');
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^tessera_logins_total\{result="success"\} 1$/m);
    expect(text).toMatch(/^tessera_reuse_detections_total 1$/m);
  });
});
