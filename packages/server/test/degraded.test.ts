// Degraded, not down (docs/architecture.md "Scaling out"): with Redis cut off (a TCP proxy; the shared services are
// never stopped) a real server keeps serving from SQL, the truth: guarded requests answer 200, a revocation made on
// another instance is seen within about a second, login throttling counts in memory at the same limit, and /readyz,
// the metrics and the log say so once. Redis back: clean again, and what was revoked meanwhile stays refused. With
// Postgres cut too, 503 store_unavailable, with no driver code on the wire and the cause as a sentence in the log.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimsOf,
  listenFastify,
  loginSession,
  metricSample,
  PASSWORD,
  PG_PORT,
  postgresBackend,
  postgresUrl,
  REDIS_PORT,
  REDIS_URL,
  register,
  sleep,
  startTcpProxy,
  waitFor,
  withAccess,
  type Backend,
  type CookieNames,
  type Session,
  type TcpProxy,
} from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { buildApp } from '../src/app.js';
import { createRuntime } from '../src/runtime.js';
import { loadConfig } from '../src/settings.js';
import { BASE_ENV, call, startServer } from './support/harness.js';

const REDIS_DB = 7;
const METRICS_TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
const ENV = { TESSERA_LOGIN_LIMIT: '3/15m', TESSERA_LOGIN_IP_LIMIT: '10000/15m', TESSERA_METRICS_TOKEN: METRICS_TOKEN };
/** What a driver or the network would say; none of it may reach a client. */
const DRIVER_CODES = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0\d|57014|08\d\d\d|40001|terminated|Connection|pg:|postgres:\/\//i;

let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let backend: Backend & { readonly schema: string };
/** Instance A, through both proxies, with its log kept in `lines`. */
let a: TestServer;
/** Instance B: Redis through the proxy, Postgres direct. */
let b: TestServer;
let names: CookieNames;
const lines: { level: number; msg: string; [key: string]: unknown }[] = [];

/** A server like the kit's, but logging at info into `lines`. */
async function loggedServer(env: Readonly<Record<string, string>>): Promise<TestServer> {
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const runtime = await createRuntime(loadConfig({ ...BASE_ENV, ...env }), { log, keyReloadMs: 0 });
  const app = await buildApp(runtime);
  const { url, port } = await listenFastify(app);
  return {
    url,
    origin: url,
    port,
    runtime,
    app,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** One metric's value from /metrics (undefined when absent). */
async function metric(server: TestServer, name: string): Promise<number | undefined> {
  const reply = await call(server.url, 'GET', '/metrics', { bearer: METRICS_TOKEN });
  expect(reply.status).toBe(200);
  return metricSample(reply.text, name);
}

const readyz = async (server: TestServer) => {
  const reply = await call(server.url, 'GET', '/readyz');
  return { status: reply.status, body: reply.body };
};
const isDegraded = async (server: TestServer): Promise<boolean> =>
  ((await call(server.url, 'GET', '/readyz')).json.degraded as string[] | undefined)?.includes('redis') === true;
const said = (text: string): number => lines.filter((l) => l.msg.includes(text)).length;

beforeAll(async () => {
  [pgProxy, redisProxy] = await Promise.all([startTcpProxy(PG_PORT), startTcpProxy(REDIS_PORT)]);
  backend = await postgresBackend('degraded', REDIS_DB, { pgPort: pgProxy.port, redisPort: redisProxy.port });
  a = await loggedServer({ ...backend.env, ...ENV });
  b = await startServer({ ...backend.env, ...ENV, TESSERA_DATABASE_URL: postgresUrl(backend.schema) });
  names = a.runtime.auth.config.cookies.names;
});

afterAll(async () => {
  pgProxy?.restore();
  redisProxy?.restore();
  await Promise.allSettled([a?.close(), b?.close()]);
  await Promise.allSettled([pgProxy?.close(), redisProxy?.close()]);
  await backend?.cleanup();
});

describe('Redis cut off: degraded, not down', () => {
  let live: Session;
  /** Live and cached on A before the cut; revoked on B during it. */
  let target: Session;
  let username: string;

  beforeAll(async () => {
    ({ username } = await register(a.url));
    [live, target] = await Promise.all([loginSession(a.url, username, 'bearer', names), loginSession(a.url, username, 'bearer', names)]);
    for (const s of [live, target]) expect((await call(a.url, 'GET', '/auth/me', withAccess(s))).status).toBe(200);
    expect(await readyz(a)).toEqual({ status: 200, body: { status: 'ready', checks: { database: true, redis: true } } });
    expect(await metric(a, 'tessera_redis_up')).toBe(1);
    redisProxy.cut();
    await waitFor('both instances to see Redis gone', async () => (await isDegraded(a)) && (await isDegraded(b)), 10_000);
  });

  it('/readyz stays ready and names the degradation; the gauge is 0; one warning in the log', async () => {
    for (const server of [a, b]) {
      expect(await readyz(server)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { database: true, redis: false }, degraded: ['redis'] },
      });
    }
    expect(await metric(a, 'tessera_redis_up')).toBe(0);
    expect(said('Redis cannot be reached')).toBe(1);
    expect(lines.find((l) => l.msg.includes('Redis cannot be reached'))?.level).toBe(40);
  });

  it('guarded requests answer 200 from SQL, past the one-second trust of a cached answer', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await call(a.url, 'GET', '/auth/me', withAccess(live))).status).toBe(200);
      expect((await call(b.url, 'GET', '/auth/me', withAccess(live))).status).toBe(200);
      await sleep(600);
    }
    expect(await metric(a, 'tessera_redis_fallbacks_total{what="session_check"}')).toBeGreaterThan(0);
    // Logged once, not once per request.
    expect(said('Redis cannot be reached')).toBe(1);
  });

  it('a session revoked on another instance meanwhile is refused within about a second', async () => {
    expect((await call(a.url, 'GET', '/auth/me', withAccess(target))).status).toBe(200);
    expect((await call(b.url, 'POST', '/auth/logout', { json: { refresh_token: target.refresh } })).status).toBe(204);
    const started = Date.now();
    await waitFor('A to refuse the revoked session', async () => (await call(a.url, 'GET', '/auth/me', withAccess(target))).status === 401, 3000);
    expect(Date.now() - started).toBeLessThan(1500);
    const reply = await call(a.url, 'GET', '/auth/me', withAccess(target));
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: 'token_revoked' });
  });

  it('login throttling still refuses past the limit, counted in memory: not a 503, not a free pass', async () => {
    const { username: victim } = await register(a.url);
    const wrong = { json: { username: victim, password: `${PASSWORD}!` } };
    for (let i = 0; i < 3; i++) expect((await call(a.url, 'POST', '/auth/login', wrong)).code).toBe('invalid_credentials');
    const refused = await call(a.url, 'POST', '/auth/login', wrong);
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 429, code: 'rate_limited' });
    expect(Number(refused.header('retry-after'))).toBeGreaterThan(0);
    const right = await call(a.url, 'POST', '/auth/login', { json: { username: victim, password: PASSWORD } });
    expect(right.status).toBe(429);
    // A login under the limit works.
    expect((await call(a.url, 'POST', '/auth/login', { json: { username, password: PASSWORD } })).status).toBe(200);
    expect(await metric(a, 'tessera_redis_fallbacks_total{what="throttle"}')).toBeGreaterThan(0);
  });

  it('Redis back: gauge 1, /readyz clean, one line saying so; what was revoked meanwhile stays refused, and is published', async () => {
    redisProxy.restore();
    await waitFor('both instances to see Redis back', async () => !(await isDegraded(a)) && !(await isDegraded(b)), 15_000, 100);
    for (const server of [a, b])
      expect(await readyz(server)).toEqual({ status: 200, body: { status: 'ready', checks: { database: true, redis: true } } });
    expect(await metric(a, 'tessera_redis_up')).toBe(1);
    expect(said('Redis is back')).toBe(1);
    expect(said('Redis cannot be reached')).toBe(1);
    for (const server of [a, b]) {
      const reply = await call(server.url, 'GET', '/auth/me', withAccess(target));
      expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: 'token_revoked' });
      expect((await call(server.url, 'GET', '/auth/me', withAccess(live))).status).toBe(200);
    }
    // B could not publish its revocation during the outage: it did once its bus was back.
    const redis = createClient({ url: `${REDIS_URL}/${REDIS_DB}` });
    redis.on('error', () => undefined);
    await redis.connect();
    try {
      const key = `${backend.env.TESSERA_REDIS_PREFIX ?? ''}revoked:{${claimsOf(target.access).sid as string}}`;
      await waitFor('the revocation made during the outage to be published', async () => (await redis.exists(key)) === 1, 8000, 50);
    } finally {
      await redis.close();
    }
  });
});

describe('Redis and Postgres cut off', () => {
  it('answers 503 store_unavailable, with no driver code on the wire and the cause as a sentence in the log', async () => {
    const { username } = await register(a.url);
    const s = await loginSession(a.url, username, 'bearer', names);
    expect((await call(a.url, 'GET', '/auth/me', withAccess(s))).status).toBe(200);
    redisProxy.cut();
    pgProxy.cut();
    try {
      await waitFor('A to see Redis gone', () => isDegraded(a).catch(() => false), 10_000);
      // Past the one-second trust of the cached session and of the user read.
      await sleep(1100);
      const replies = [
        await call(a.url, 'GET', '/auth/me', withAccess(s)),
        await call(a.url, 'POST', '/auth/login', { json: { username, password: PASSWORD } }),
        await call(a.url, 'POST', '/auth/refresh', { json: { refresh_token: s.refresh } }),
      ];
      for (const reply of replies) {
        expect({ status: reply.status, code: reply.code }, reply.text).toEqual({ status: 503, code: 'store_unavailable' });
        expect(reply.json).toEqual({ error: 'store_unavailable', message: 'The session store cannot be reached' });
        expect(reply.text).not.toMatch(DRIVER_CODES);
      }
      expect((await readyz(a)).status).toBe(503);
      const refused = lines.filter((l) => l.msg.startsWith('request refused: Postgres'));
      expect(refused.length, JSON.stringify(lines.filter((l) => l.level >= 40).slice(-5))).toBeGreaterThan(0);
      expect(refused[0]?.problem).toMatch(/^Postgres .+\.$/);
    } finally {
      pgProxy.restore();
      redisProxy.restore();
    }
    await waitFor('A to recover', async () => (await readyz(a)).status === 200 && !(await isDegraded(a)), 15_000, 100);
    expect((await call(a.url, 'GET', '/auth/me', withAccess(s))).status).toBe(200);
  });
});
