// The HTTP contract on Postgres + Redis (a schema and a Redis logical database of this file's own),
// then what only networked stores do: become ready on their own, and be unreachable. Outages are
// simulated by TCP proxies in front of the shared services, which are never stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, PASSWORD, postgresBackend, postgresUrl, register, startTcpProxy, waitFor, type Backend, type TcpProxy } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { describeContract, expectError } from './support/contract-suite.js';
import { call, startServer } from './support/harness.js';

/** Redis logical database of this file (each server test file has its own). */
const REDIS_DB = 11;

describeContract('Postgres + Redis', () => postgresBackend('contract', REDIS_DB));

describe('Postgres + Redis outages', () => {
  let backend: Backend & { schema: string };
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let server: TestServer;

  beforeAll(async () => {
    backend = await postgresBackend('outage', REDIS_DB);
    pgProxy = await startTcpProxy(5432);
    redisProxy = await startTcpProxy(6379);
    server = await startServer({
      TESSERA_DATABASE_URL: postgresUrl(backend.schema, pgProxy.port),
      TESSERA_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/${REDIS_DB}`,
    });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.allSettled([pgProxy?.close(), redisProxy?.close()]);
    await backend?.cleanup();
  });

  it('is ready right after start, before any request has touched a session', async () => {
    // A load balancer waits for /readyz before it sends the first login: readiness cannot depend on one.
    await waitFor('/readyz to answer 200', async () => (await call(server.url, 'GET', '/readyz')).status === 200, 3000);
    expect((await call(server.url, 'GET', '/readyz')).body).toEqual({ status: 'ready', checks: { database: true, redis: true } });
  });

  it('answers 503 store_unavailable, fast, on every route that needs Postgres while it is down; recovers after', async () => {
    const a = await account(server.url);
    const user = await register(server.url);
    // The session is now known to be live here: only the user lookup still needs the database,
    // once the user read for this request is more than a second old.
    expect((await call(server.url, 'GET', '/auth/me', { bearer: a.access })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    pgProxy.cut();
    try {
      const ready = await call(server.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { database: false } });
      const started = Date.now();
      const requests = [
        call(server.url, 'GET', '/auth/me', { bearer: a.access }),
        call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }),
        call(server.url, 'POST', '/auth/register', { json: { username: `${user.username}x`, password: PASSWORD } }),
        call(server.url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }),
        call(server.url, 'GET', '/auth/sessions', { bearer: a.access }),
        call(server.url, 'POST', '/auth/logout-all', { bearer: a.access }),
      ];
      for (const reply of await Promise.all(requests)) expectError(reply, 503, 'store_unavailable');
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      pgProxy.restore();
    }
    await waitFor('Postgres to answer again', async () => (await call(server.url, 'GET', '/readyz')).status === 200, 5000);
    expect((await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
    expect((await call(server.url, 'GET', '/auth/me', { bearer: a.access })).status).toBe(200);
  });

  it('stays ready, degraded, while Redis is down (logins counted in memory), and is clean again once it is back', async () => {
    const user = await register(server.url);
    redisProxy.cut();
    try {
      const degraded = async () => ((await call(server.url, 'GET', '/readyz')).json as { degraded?: string[] }).degraded?.includes('redis') === true;
      await waitFor('/readyz to see Redis gone', degraded, 5000);
      const ready = await call(server.url, 'GET', '/readyz');
      expect({ status: ready.status, body: ready.body }).toEqual({
        status: 200,
        body: { status: 'ready', checks: { database: true, redis: false }, degraded: ['redis'] },
      });
      // Throttling counts in this instance's memory meanwhile: a login is counted, not refused and not let through uncounted.
      expect((await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } })).status).toBe(200);
    } finally {
      redisProxy.restore();
    }
    await waitFor('Redis to be back', async () => (await call(server.url, 'GET', '/readyz')).json.degraded === undefined, 8000);
    // /readyz watches the pub/sub connection; the command connections reconnect on their own backoff.
    await waitFor(
      'logins to work again',
      async () => (await call(server.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } })).status === 200,
      5000,
      100,
    );
  });
});
